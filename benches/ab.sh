#!/usr/bin/env bash
# Compare flowc builds with each other and with make -j2 on one generated workflow of
# `true` steps: interleaved rounds, each tool's own CPU time apart from its steps'.
# See benches/README.md.
# Usage: benches/ab.sh [--shape=SHAPE] [--size=N] [--rounds=N] FLOWC...
set -euo pipefail

usage() {
    cat <<'EOF'
usage: benches/ab.sh [--shape=SHAPE] [--size=N] [--rounds=N] FLOWC...
  FLOWC...     flowc binaries to compare (at least one), e.g. target/release/flowc and
               a copy of the build before a change
  --shape=S    fanout (default), chain, lattice or instances
  --size=N     steps (default 10000)
  --rounds=N   rounds (default 8); each runs every binary and make once, in an order
               that rotates from round to round
EOF
}

SHAPE=fanout
SIZE=10000
ROUNDS=8
BINARIES=()
for arg in "$@"; do
    case "$arg" in
        --shape=*) SHAPE="${arg#--shape=}" ;;
        --size=*) SIZE="${arg#--size=}" ;;
        --rounds=*) ROUNDS="${arg#--rounds=}" ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "ab.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
        *) BINARIES+=("$arg") ;;
    esac
done
if [ "${#BINARIES[@]}" -eq 0 ]; then
    echo "ab.sh: give at least one flowc binary" >&2
    usage >&2
    exit 2
fi
# Labels: each binary's path as given (numbered: the same path may come twice); the runs
# use its absolute path, as they happen in another directory.
tools=()
for i in "${!BINARIES[@]}"; do
    b="${BINARIES[$i]}"
    if [ ! -x "$b" ] || [ -d "$b" ]; then
        echo "ab.sh: $b is not an executable file" >&2
        exit 2
    fi
    tools+=("$((i + 1)):$b")
    BINARIES[$i]="$(cd "$(dirname "$b")" && pwd)/$(basename "$b")"
done
tools+=(make)

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
JOBS=2
NAME=ab.sh
# shellcheck source=benches/lib.sh
. "$SCRIPT_DIR/lib.sh"
ensure_tools make:make
command -v python3 >/dev/null 2>&1 || { echo "ab.sh: python3 is required" >&2; exit 1; }

make_work ab
one_run_case "$SHAPE" "$SIZE"
echo "==> $SHAPE, $SIZE steps, -j$JOBS, $ROUNDS rounds: ${BINARIES[*]} and make"

results="$WORK/results.tsv"
: > "$results"
# Runs happen in $WORK, so that each flowc run's journal goes there (.flow/runs).
cd "$WORK"
mkdir -p old
for ((r = 0; r < ROUNDS; r++)); do
    n=${#tools[@]}
    for ((k = 0; k < n; k++)); do
        tool=${tools[$(((r + k) % n))]}
        if [ "$tool" = make ]; then
            cmd=(make -C "$make_dir" -j"$JOBS")
        else
            # An empty --log-dir for every run; the last one is moved aside, not deleted
            # (see run.sh).
            [ -e logs ] && mv logs "$(mktemp -d old/run.XXXXXX)/"
            i="${tool%%:*}"
            cmd=("${BINARIES[$((i - 1))]}" run "$flow" --max-parallel "$JOBS" --log-dir logs)
        fi
        printf '%s\t' "$r" >> "$results"
        python3 "$SCRIPT_DIR/ab.py" measure "$tool" "${cmd[@]}" >> "$results"
    done
    printf '  round %d of %d done\n' "$((r + 1))" "$ROUNDS"
done
echo
python3 "$SCRIPT_DIR/ab.py" report "$results" "$SIZE"
