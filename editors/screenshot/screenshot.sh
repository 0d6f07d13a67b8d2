#!/usr/bin/env bash
# Makes editors/screenshot/deploy.png, the screenshot in editors/README.md: renders
# examples/deploy.flow with the VS Code TextMate grammar (render.js) and photographs the
# page with headless Chromium. Needs `npm ci` in editors/vscode and Debian's chromium
# (`apt-get install chromium`). Not run in CI.
set -euo pipefail
cd "$(dirname "$0")"
input="${1:-../../examples/deploy.flow}"
output="${2:-deploy.png}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
node render.js "$input" > "$work/page.html"

lines=$(wc -l < "$input")
height=$(( lines * 20 + 80 ))
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$work/profile" \
    --window-size="1000,$height" --screenshot="$PWD/$output" "file://$work/page.html" \
    2>/dev/null
echo "wrote editors/screenshot/$output"
