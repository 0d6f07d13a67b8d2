#!/usr/bin/env bash
# Tests the tree-sitter grammar and the Neovim and Helix queries with the tree-sitter CLI:
# the committed parser is what grammar.js generates, the corpus and highlight tests pass,
# every example parses without errors, and every query file compiles and runs on sample
# files. Exits non-zero on the first failure. TREE_SITTER overrides the CLI to use.
set -euo pipefail
cd "$(dirname "$0")"
ts="${TREE_SITTER:-tree-sitter}"
"$ts" --version

# The parser is generated from grammar.js into src/ and committed: regenerate it in place
# and fail if that changed anything.
"$ts" generate
untracked="$(git ls-files --others --exclude-standard -- src)"
if ! git diff --exit-code --stat -- src || [ -n "$untracked" ]; then
    echo "src/ is not what grammar.js generates: run tree-sitter generate and commit" >&2
    echo "$untracked" >&2
    exit 1
fi

"$ts" test

# Every example and standard-library module parses without an ERROR or MISSING node.
"$ts" parse --quiet ../../examples/*.flow ../../stdlib/*.flow

# The Neovim and Helix copies of the queries are current, and every query runs.
node sync-queries.js --check
samples=(../../examples/*.flow ../../stdlib/*.flow test/highlight/*.flow)
for query in queries/*.scm ../neovim/queries/flow/*.scm ../helix/runtime/queries/flow/*.scm; do
    "$ts" query --quiet "$query" "${samples[@]}" >/dev/null
    echo "query ok: $query"
done
echo "tree-sitter: generate, corpus, highlight and query tests passed"
