#!/usr/bin/env bash
# Where a run loses time between steps: records the scheduler's fork, exec, exit and
# switch events (perf, system-wide) around `flowc run` and `make -j2` on one generated
# shape, alternating the two, and prints for each run the gap from a step process's exit
# to the next step process's fork (and its split: waiting for the runner, and the
# runner's own work) and how long 0, 1 or 2 step processes existed. Less noisy on a
# shared machine than wall time; see benches/README.md. Needs root (or
# kernel.perf_event_paranoid <= -1) for system-wide tracepoints.
# Usage: benches/gaps.sh [--no-build] [--rounds=N] [--shape=fanout|chain|lattice] [--size=N]
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: benches/gaps.sh [--no-build] [--rounds=N] [--shape=SHAPE] [--size=N]
  --rounds=N   runs of each tool (default 3), alternating flowc and make
  --shape=S    fanout (default), chain or lattice
  --size=N     steps (default 10000)
  --no-build   do not run `cargo build --release`; use the existing binary
Environment: FLOWC=/path/to/flowc overrides the binary (implies --no-build).
USAGE
}

BUILD=1
ROUNDS=3
SHAPE=fanout
SIZE=10000
for arg in "$@"; do
    case "$arg" in
        --rounds=*) ROUNDS="${arg#--rounds=}" ;;
        --shape=*) SHAPE="${arg#--shape=}" ;;
        --size=*) SIZE="${arg#--size=}" ;;
        --no-build) BUILD=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "gaps.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
    esac
done

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
JOBS=2
NAME=gaps.sh
# shellcheck source=benches/lib.sh
. "$SCRIPT_DIR/lib.sh"
ensure_tools make:make perf:linux-perf
command -v python3 >/dev/null 2>&1 || { echo "gaps.sh: python3 is required" >&2; exit 1; }
find_flowc

make_work gaps
one_run_case "$SHAPE" "$SIZE"
echo "==> $SHAPE, $SIZE steps, -j$JOBS, $ROUNDS rounds"

for ((r = 0; r < ROUNDS; r++)); do
    for ((k = 0; k < 2; k++)); do
        if [ $(((r + k) % 2)) -eq 0 ]; then
            tool=flowc
            rm -rf "$WORK/logs"
            cmd=("$FLOWC" run "$flow" --max-parallel "$JOBS" --log-dir "$WORK/logs")
        else
            tool=make
            cmd=(make -C "$make_dir" -j"$JOBS")
        fi
        if ! perf record -q -o "$WORK/perf.data" \
            -e sched:sched_process_fork,sched:sched_process_exec,sched:sched_process_exit \
            -e sched:sched_switch \
            -a -- "${cmd[@]}" >/dev/null 2>"$WORK/err"; then
            echo "FAIL: ${cmd[*]} (under perf record) failed:" >&2
            tail -n 20 "$WORK/err" >&2
            exit 1
        fi
        perf script -i "$WORK/perf.data" -F comm,pid,time,event,trace > "$WORK/events" 2>/dev/null
        python3 "$SCRIPT_DIR/gaps.py" "$tool" "$WORK/events"
    done
done
