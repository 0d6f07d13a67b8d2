#!/usr/bin/env bash
# Times flowc on the inputs that were quadratic (issue 15, "bounded work on hostile
# input"): N diagnostics of one file, "did you mean" with long names, duplicate steps,
# `fmt --check` of a long operator chain, and the REPL loading a file with many errors.
# Each size is doubled or quadrupled, so linear work shows as time growing by the same
# factor. Usage: benches/hostile.sh [--no-build]; FLOWC=/path/to/flowc compares another
# binary (implies --no-build).
set -euo pipefail

BUILD=1
for arg in "$@"; do
    case "$arg" in
        --no-build) BUILD=0 ;;
        -h|--help) sed -n 2,7p "$0"; exit 0 ;;
        *) echo "hostile.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
NAME=hostile.sh
# shellcheck source=benches/lib.sh
. "$SCRIPT_DIR/lib.sh"
find_flowc

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

python3 - "$WORK" <<'PY'
import sys
d = sys.argv[1]
def w(name, text):
    open(f"{d}/{name}", "w").write(text)
for n in (1000, 4000, 16000):
    w(f"unknown-{n}.flow", "workflow w {\n" + "".join(
        f'  step s{i} after nope{i} {{ run "true" }}\n' for i in range(n)) + "}\n")
for n in (5000, 20000):
    w(f"dup-{n}.flow", "workflow w {\n" + '  step s { run "true" }\n' * n + "}\n")
for n in (16000, 64000):
    w(f"sum-{n}.flow", "workflow w {\n  let x = " + " + ".join(["1"] * n)
      + '\n  step s { run "echo ${x}" }\n}\n')
for n in (20000, 100000):
    w(f"name-{n}.flow", "workflow w {\n" + "".join(f'  step s{i} {{ run "true" }}\n' for i in range(2000))
      + '  step z after ' + "a" * n + ' { run "true" }\n}\n')
PY

# timed LABEL COMMAND...: prints the wall time of one run (stdout and stderr discarded).
timed() {
    local label="$1" start end
    shift
    start=$(date +%s.%N)
    timeout 60 "$@" >/dev/null 2>&1 </dev/null || true
    end=$(date +%s.%N)
    printf '%-40s %8.2f s\n' "$label" "$(echo "$end - $start" | bc)"
}

echo "flowc: $FLOWC"
for n in 1000 4000 16000; do timed "check: $n unknown steps" "$FLOWC" check "$WORK/unknown-$n.flow"; done
for n in 5000 20000; do timed "check: $n duplicate steps" "$FLOWC" check "$WORK/dup-$n.flow"; done
for n in 20000 100000; do timed "check: unknown name of $n chars" "$FLOWC" check "$WORK/name-$n.flow"; done
for n in 16000 64000; do timed "fmt --check: $n-term sum" "$FLOWC" fmt --check "$WORK/sum-$n.flow"; done
for n in 5000 20000; do timed "repl: load $n duplicate steps" "$FLOWC" repl "$WORK/dup-$n.flow"; done
