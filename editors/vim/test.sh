#!/usr/bin/env bash
# Tests the Vim support headless: highlight groups at chosen places of test/highlight.flow,
# the filetype plugin's settings, and indentation of test/indent.flow. Exits non-zero on
# any failure. Needs vim (Debian: apt-get install vim-nox); VIM=nvim runs Neovim instead.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
vim="${VIM_BIN:-vim}"
status=0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

run() { # run SCRIPT FILE: opens FILE with this directory as the only plugin dir
    local script="$1" file="$2" result
    # A name that does not exist yet: a Vim that fails before the end writes nothing.
    result="$tmp/$script.result"
    # -es: silent Ex mode, no terminal needed; -u NONE: no user config.
    RESULT="$result" "$vim" -N -u NONE -i NONE -es \
        --cmd "set rtp^=$here" --cmd 'filetype plugin indent on' --cmd 'syntax on' \
        -S "$here/test/$script" "$here/test/$file" </dev/null || true
    if [ ! -e "$result" ]; then
        echo "FAIL $script: vim did not write a result" >&2
        status=1
    elif [ -s "$result" ]; then
        sed "s/^/FAIL $script: /" "$result" >&2
        status=1
    else
        echo "ok   $script"
    fi
}

run highlight.vim highlight.flow
run indent.vim indent.flow
exit "$status"
