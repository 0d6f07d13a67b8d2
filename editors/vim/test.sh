#!/usr/bin/env bash
# Tests the Vim support headless: highlight groups at chosen places of test/highlight.flow,
# the filetype plugin's settings, and indentation of test/indent.flow. Exits non-zero on
# any failure. Needs vim (Debian: apt-get install vim-nox); runs the same checks with Neovim
# too when `nvim` is installed. VIM_BIN=nvim (or vim) runs only that one.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
status=0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

run() { # run VIM SCRIPT FILE: opens FILE with this directory as the only plugin dir
    local vim="$1" script="$2" file="$3" result
    # A name that does not exist yet: a Vim that fails before the end writes nothing.
    result="$tmp/$(basename "$vim")-$script.result"
    # -es: silent Ex mode, no terminal needed; -u NONE: no user config.
    RESULT="$result" "$vim" -N -u NONE -i NONE -es \
        --cmd "set rtp^=$here" --cmd 'filetype plugin indent on' --cmd 'syntax on' \
        -S "$here/test/$script" "$here/test/$file" </dev/null || true
    if [ ! -e "$result" ]; then
        echo "FAIL $vim $script: $vim did not write a result" >&2
        status=1
    elif [ -s "$result" ]; then
        sed "s/^/FAIL $vim $script: /" "$result" >&2
        status=1
    else
        echo "ok   $vim $script"
    fi
}

if [ -n "${VIM_BIN:-}" ]; then
    editors=("$VIM_BIN")
else
    editors=(vim)
    if command -v nvim >/dev/null 2>&1; then editors+=(nvim); fi
fi
for vim in "${editors[@]}"; do
    run "$vim" highlight.vim highlight.flow
    run "$vim" indent.vim indent.flow
done
exit "$status"
