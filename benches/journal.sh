#!/usr/bin/env bash
# Benchmark the run journal: `flowc run` of 10,000-step workflows (benches/gen_run.py) with
# the journal on vs off (FLOWC_JOURNAL=off, the bench-only switch), runs interleaved so
# that a noisy machine hits both alike; the resume of a 10,000-step chain whose last step
# failed (9,999 finished) until it has run that step; and journal bytes per step.
# Prints medians and on/off ratios. Targets: ratio <= 1.10; resume <= 100 ms.
# Usage: benches/journal.sh [--rounds N] [--sizes 10000] [--no-build]
set -euo pipefail

ROUNDS=5
SIZES=10000
BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS="$2"; shift ;;
        --sizes) SIZES="$2"; shift ;;
        --no-build) BUILD=0 ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "journal.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
NAME=journal.sh
# shellcheck source=benches/lib.sh
. "$SCRIPT_DIR/lib.sh"
command -v python3 >/dev/null 2>&1 || { echo "journal.sh: python3 is required" >&2; exit 1; }
find_flowc

WORK="$(mktemp -d "${TMPDIR:-/tmp}/flowc-bench-journal.XXXXXX")"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
python3 "$SCRIPT_DIR/gen_run.py" --out "$WORK/in" --shapes fanout,chain,lattice --sizes "$SIZES" \
    > "$WORK/cases.tsv"

now_ns() { date +%s%N; }
# median FILE: the median of the numbers in FILE, one per line.
median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# One timed run in milliseconds; logs and state go to fresh directories.
timed_run() {  # MODE FLOW
    local mode="$1" flow="$2" t0 t1 k
    k=$(mktemp -d "$WORK/r.XXXXXX")
    t0=$(now_ns)
    FLOWC_JOURNAL="$mode" "$FLOWC" run "$flow" --max-parallel 2 --log-dir "$k/logs" \
        --state-dir "$k/state" >/dev/null 2>&1 || { echo "journal.sh: $flow failed" >&2; exit 1; }
    t1=$(now_ns)
    echo $(( (t1 - t0) / 1000000 ))
    # Keep the journal for the bytes-per-step figure; drop the rest.
    if [ "$mode" = on ]; then
        du -b "$k"/state/*/journal | awk '{print $1}' > "$k.bytes"
    fi
    rm -rf "$k"
}

echo "==> flowc run, journal on vs off, $ROUNDS interleaved rounds (--max-parallel 2)"
printf '%-8s %7s %10s %10s %7s %12s\n' shape steps "on ms" "off ms" ratio "bytes/step"
while IFS=$'\t' read -r shape steps flow _make _ninja; do
    : > "$WORK/on" ; : > "$WORK/off"
    for ((r = 0; r < ROUNDS; r++)); do
        if (( r % 2 )); then
            timed_run off "$flow" >> "$WORK/off"; timed_run on "$flow" >> "$WORK/on"
        else
            timed_run on "$flow" >> "$WORK/on"; timed_run off "$flow" >> "$WORK/off"
        fi
    done
    on=$(median "$WORK/on"); off=$(median "$WORK/off")
    bytes=$(cat "$WORK"/r.*.bytes | sort -n | tail -1); rm -f "$WORK"/r.*.bytes
    printf '%-8s %7s %10s %10s %7s %12s\n' "$shape" "$steps" "$on" "$off" \
        "$(awk -v a="$on" -v b="$off" 'BEGIN {printf "%.3f", a / b}')" \
        "$(awk -v a="$bytes" -v n="$steps" 'BEGIN {printf "%.1f", a / n}')"
done < "$WORK/cases.tsv"

echo
echo "==> flowc resume of a chain whose last step failed (all others finished)"
n=$(echo "$SIZES" | tr ',' '\n' | sort -n | tail -1)
flow="$WORK/in/chain_$n.flow"
last="s_$((n - 1))"
# The last step fails until $WORK/ok exists; when it runs, it notes the time it started
# (so the figure below is when the resume reached it, not when the process exited).
sed "s|step $last after \\(.*\\) { run \"true\" }|step $last after \\1 { run \"sh -c 'test -e $WORK/ok \\&\\& date +%s%N > $WORK/reached'\" }|" \
    "$flow" > "$WORK/resume.flow"
grep -q "test -e $WORK/ok" "$WORK/resume.flow" || { echo "journal.sh: could not edit $last" >&2; exit 1; }
"$FLOWC" run "$WORK/resume.flow" --max-parallel 2 --log-dir "$WORK/rlogs" \
    --state-dir "$WORK/rstate" >/dev/null 2>&1 && { echo "journal.sh: the last step should fail" >&2; exit 1; }
touch "$WORK/ok"
cp -a "$WORK/rstate" "$WORK/rstate.saved"
: > "$WORK/resume"; : > "$WORK/check"; : > "$WORK/reach"
for ((r = 0; r < ROUNDS; r++)); do
    # The floor: a resume must read and check the workflow file again.
    t0=$(now_ns)
    "$FLOWC" check "$WORK/resume.flow" 2>/dev/null
    t1=$(now_ns)
    echo $(( (t1 - t0) / 1000000 )) >> "$WORK/check"
    rm -rf "$WORK/rstate"; cp -a "$WORK/rstate.saved" "$WORK/rstate"; rm -f "$WORK/reached"
    t0=$(now_ns)
    "$FLOWC" resume --last --state-dir "$WORK/rstate" >/dev/null 2>"$WORK/resume.err" \
        || { echo "journal.sh: resume failed" >&2; cat "$WORK/resume.err" >&2; exit 1; }
    t1=$(now_ns)
    echo $(( (t1 - t0) / 1000000 )) >> "$WORK/resume"
    echo $(( ($(cat "$WORK/reached") - t0) / 1000000 )) >> "$WORK/reach"
done
grep -q "$((n - 1)) of $n steps finished and are kept" "$WORK/resume.err" \
    || { echo "journal.sh: resume did not keep $((n - 1)) steps" >&2; cat "$WORK/resume.err" >&2; exit 1; }
echo "resume of $n steps, $((n - 1)) kept, through the last step: median $(median "$WORK/resume") ms (all: $(tr '\n' ' ' < "$WORK/resume"))"
echo "  of which until the last step started: median $(median "$WORK/reach") ms (all: $(tr '\n' ' ' < "$WORK/reach"))"
echo "flowc check of the same file (part of every resume): median $(median "$WORK/check") ms"
echo "journal bytes per step: see the table above"
