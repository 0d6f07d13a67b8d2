#!/usr/bin/env bash
# Tests the VS Code extension with the editor's own tooling: scope assertions
# (vscode-tmgrammar-test), snapshots of every example (vscode-tmgrammar-snap), and the
# .vsix build (vsce package). Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")"

npm ci --no-audit --no-fund --loglevel=error
npx vscode-tmgrammar-test -g syntaxes/flow.tmLanguage.json "test/assertions/*.flow"
npx vscode-tmgrammar-snap -g syntaxes/flow.tmLanguage.json "test/snap/*.flow"
npx vsce package --no-dependencies --allow-missing-repository --out flow-language.vsix
node -e 'const b = require("fs").readFileSync("flow-language.vsix"); if (!b.includes("extension/syntaxes/flow.tmLanguage.json")) { console.error("grammar missing from the .vsix"); process.exit(1) }'
echo "vscode: grammar tests, snapshots and package passed"
