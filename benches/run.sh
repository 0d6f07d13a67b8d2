#!/usr/bin/env bash
# Benchmark `flowc run` on large generated workflows of `true` steps against GNU make -j2
# and ninja -j2 on the same graphs. See benches/README.md.
# Usage: benches/run.sh [--quick] [--no-build] [--rounds=N]
set -euo pipefail

usage() {
    cat <<'EOF'
usage: benches/run.sh [--quick] [--no-build] [--rounds=N]
  --quick     only the 1,000 step sizes (the 10,000 step targets are reported as SKIP)
  --rounds=N  timed rounds per case (default: 7 at 10,000 steps, 9 at 1,000)
  --no-build  do not run `cargo build --release`; use the existing binary
Environment: FLOWC=/path/to/flowc overrides the binary (implies --no-build).
EOF
}

QUICK=0
BUILD=1
ROUNDS=""
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        --rounds=*) ROUNDS="${arg#--rounds=}" ;;
        --no-build) BUILD=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
    esac
done

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
JOBS=2   # --max-parallel for flowc, -j for make and ninja

# ---------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------
NAME=run.sh
# shellcheck source=benches/lib.sh
. "$SCRIPT_DIR/lib.sh"
ensure_tools ninja:ninja-build make:make hyperfine:hyperfine /usr/bin/time:time
command -v python3 >/dev/null 2>&1 || { echo "run.sh: python3 is required" >&2; exit 1; }
find_flowc

# ---------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/flowc-bench-run.XXXXXX")"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

if [ "$QUICK" -eq 1 ]; then
    SIZES="1000"
else
    SIZES="1000,10000"
fi
echo "==> generating workflows, Makefiles and build.ninja files in $WORK (sizes $SIZES)"
python3 "$SCRIPT_DIR/gen_run.py" --out "$WORK/in" --shapes fanout,chain,lattice,instances --sizes "$SIZES" \
    > "$WORK/cases.tsv"
# The one-step workflow for the start-up latency: a chain of length 1.
python3 "$SCRIPT_DIR/gen_run.py" --out "$WORK/one" --shapes chain --sizes 1 > "$WORK/one.tsv"

LOGS="$WORK/logs"             # flowc's --log-dir; moved aside before every run
RESULTS="$WORK/results.tsv"   # shape, steps, hyperfine json, flowc peak rss (KiB)
: > "$RESULTS"
# Every flowc run gets an empty --log-dir: the previous one is moved into $WORK/old (not
# deleted: on ext4, creating files right after deleting thousands spends most of its time
# in the kernel's `recently_deleted` inode scan, which would charge flowc for the rm -rf).
mkdir -p "$WORK/old"
FRESH_LOGS="$WORK/fresh-logs"
cat > "$FRESH_LOGS" <<'SH'
#!/bin/sh
# fresh-logs LOGS OLD: move LOGS (if any) into a new directory under OLD.
[ -e "$1" ] || exit 0
exec mv "$1" "$(mktemp -d "$2/run.XXXXXX")/"
SH
chmod +x "$FRESH_LOGS"
PREPARE="$FRESH_LOGS $LOGS $WORK/old"

# ---------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------
while IFS=$'\t' read -r shape steps flow make_dir ninja_dir; do
    echo
    echo "==> $shape, $steps steps"

    # One plain `flowc run`: must succeed (exit 0); also gives the peak RSS.
    rss_file="$WORK/$shape-$steps.rss"
    err_file="$WORK/$shape-$steps.stderr"
    $PREPARE
    status=0
    /usr/bin/time -f %M -o "$rss_file" \
        "$FLOWC" run "$flow" --max-parallel "$JOBS" --log-dir "$LOGS" >/dev/null 2>"$err_file" \
        || status=$?
    if [ "$status" -ne 0 ]; then
        echo "FAIL: flowc run $flow exited with status $status; stderr (tail):" >&2
        tail -n 40 "$err_file" >&2
        exit 1
    fi
    rss_kib="$(tail -n 1 "$rss_file")"
    # Sanity: every step must be in the summary table as succeeded. (Steps that print
    # nothing leave no log file: logs are opened at the first line of output.)
    # (The instances shape is two steps: `root` and the fan-out step `each`.)
    rows="$steps"
    if [ "$shape" = instances ]; then rows=$((steps > 1 ? 2 : 1)); fi
    done_rows="$(grep -cE '^[A-Za-z_][A-Za-z0-9_]*[[:space:]]+succeeded[[:space:]]' "$err_file" || true)"
    if [ "$done_rows" -ne "$rows" ]; then
        echo "warning: flowc's summary shows $done_rows succeeded steps, expected $rows" >&2
    fi

    # Sanity: make must run every recipe (one `true` line each) ...
    status=0
    make -C "$make_dir" -j"$JOBS" > "$WORK/make.out" 2>&1 || status=$?
    ran="$(grep -c '^true$' "$WORK/make.out" || true)"
    if [ "$status" -ne 0 ] || [ "$ran" -ne "$steps" ]; then
        echo "FAIL: make -C $make_dir -j$JOBS (status $status) ran $ran of $steps recipes:" >&2
        tail -n 5 "$WORK/make.out" >&2
        exit 1
    fi
    # ... and ninja every edge (its last line is `[N/N] true`), on every invocation.
    for _ in 1 2; do
        status=0
        ninja -C "$ninja_dir" -j"$JOBS" > "$WORK/ninja.out" 2>&1 || status=$?
        last="$(tail -n 1 "$WORK/ninja.out")"
        if [ "$status" -ne 0 ] || [[ "$last" != "[$steps/$steps] "* ]]; then
            echo "FAIL: ninja -C $ninja_dir -j$JOBS (status $status) did not run all $steps edges:" >&2
            tail -n 5 "$WORK/ninja.out" >&2
            exit 1
        fi
    done

    if [ -n "$ROUNDS" ]; then
        rounds=$ROUNDS
    elif [ "$steps" -ge 10000 ]; then
        rounds=7
    else
        rounds=9
    fi
    json="$WORK/$shape-$steps.json"
    # Interleaved rounds (flowc, make, ninja, then make, ninja, flowc, ...), medians per
    # tool: the machine's speed drifts over a minute by more than the differences
    # measured, and timing all of one tool's runs before the next one's would put that
    # drift into the ratios; rotating the order keeps any cost of going first or last out
    # of them. Output (flowc's progress on stderr included) goes to /dev/null. The
    # untimed prepare command gives flowc an empty --log-dir before every run. Each run
    # also gives its CPU time (user + system, the tool and every process it started,
    # from /usr/bin/time): less noisy than wall time, and what decides it when the CPU is
    # the bottleneck, as at -j2 on two cores.
    times="$WORK/$shape-$steps.times"
    cpu="$WORK/cpu"
    : > "$times"
    tools=(flowc make ninja)
    for ((r = 0; r < rounds; r++)); do
        for ((k = 0; k < 3; k++)); do
            tool=${tools[$(((r + k) % 3))]}
            case "$tool" in
                flowc) cmd=("$FLOWC" run "$flow" --max-parallel "$JOBS" --log-dir "$LOGS") ;;
                make) cmd=(make -C "$make_dir" -j"$JOBS") ;;
                ninja) cmd=(ninja -C "$ninja_dir" -j"$JOBS") ;;
            esac
            $PREPARE
            t0=$(date +%s%N)
            /usr/bin/time -f '%U %S' -o "$cpu" "${cmd[@]}" >/dev/null 2>&1 \
                || { echo "FAIL: ${cmd[*]} failed" >&2; exit 1; }
            t1=$(date +%s%N)
            printf '%s\t%s\t%s\n' "$tool" $((t1 - t0)) "$(awk '{print $1 + $2}' "$cpu")" >> "$times"
        done
    done
    # The same shape as hyperfine's --export-json, which the report reads.
    python3 - "$times" "$json" <<'PY'
import json, statistics, sys
times, cpus = {}, {}
with open(sys.argv[1]) as f:
    for line in f:
        tool, ns, cpu = line.split()
        times.setdefault(tool, []).append(int(ns) / 1e9)
        cpus.setdefault(tool, []).append(float(cpu))
results = [{"command": t, "median": statistics.median(v), "times": v,
            "cpu_median": statistics.median(cpus[t]), "cpus": cpus[t]}
           for t, v in times.items()]
# Each round runs every tool once, so the i-th time of each tool is from the same minute:
# the median of flowc's per-round ratios to a peer pairs runs the machine's drift hit
# alike. Reported beside the ratio of the medians, which the targets use.
paired = {peer: statistics.median(a / b for a, b in zip(times["flowc"], times[peer]))
          for peer in ("make", "ninja")}
with open(sys.argv[2], "w") as f:
    json.dump({"results": results, "paired": paired}, f)
for r in results:
    print(f"  {r['command']:<6} median {r['median'] * 1000:9.1f} ms  "
          f"({', '.join(f'{x * 1000:.0f}' for x in r['times'])}); "
          f"CPU median {r['cpu_median']:.2f} s")
print(f"  flowc's per-round ratio, median: {paired['make']:.3f}x make, "
      f"{paired['ninja']:.3f}x ninja")
PY

    printf '%s\t%s\t%s\t%s\n' "$shape" "$steps" "$json" "$rss_kib" >> "$RESULTS"
done < "$WORK/cases.tsv"

# A one-step workflow: whole-process latency (start-up, parse, check, one process, exit).
IFS=$'\t' read -r _ _ one_flow _ _ < "$WORK/one.tsv"
echo
echo "==> flowc run, one step"
$PREPARE
status=0
"$FLOWC" run "$one_flow" --max-parallel "$JOBS" --log-dir "$LOGS" >/dev/null 2>"$WORK/one.stderr" \
    || status=$?
if [ "$status" -ne 0 ]; then
    echo "FAIL: flowc run $one_flow exited with status $status; stderr (tail):" >&2
    tail -n 40 "$WORK/one.stderr" >&2
    exit 1
fi
ONE_JSON="$WORK/one.json"
hyperfine -N --warmup 5 --runs 50 --style basic --export-json "$ONE_JSON" \
    --prepare "$PREPARE" \
    -n "flowc run one step" "$FLOWC run $one_flow --max-parallel $JOBS --log-dir $LOGS"

# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------
echo
python3 - "$RESULTS" "$ONE_JSON" "$QUICK" <<'PY'
import json
import sys

results_path, one_json, quick = sys.argv[1], sys.argv[2], sys.argv[3] == "1"

def results(path):
    with open(path) as f:
        return {r["command"]: r for r in json.load(f)["results"]}

def medians(path):
    return {c: r["median"] * 1000.0 for c, r in results(path).items()}  # s -> ms

def ratio(a, b):
    return a / b if b > 0 else float("inf")

rows = []
with open(results_path) as f:
    for line in f:
        shape, steps, path, rss_kib = line.rstrip("\n").split("\t")
        with open(path) as case:
            case = json.load(case)
        by_tool = {r["command"]: r for r in case["results"]}
        m = {c: r["median"] * 1000.0 for c, r in by_tool.items()}  # s -> ms
        cpu = {c: r["cpu_median"] for c, r in by_tool.items()}  # s
        paired = case.get("paired", {})
        rows.append({
            "paired_make": paired.get("make"), "paired_ninja": paired.get("ninja"),
            "cpu_flowc": cpu["flowc"], "cpu_make": cpu["make"], "cpu_ninja": cpu["ninja"],
            "shape": shape, "steps": int(steps),
            "flowc": m["flowc"], "make": m["make"], "ninja": m["ninja"],
            "vs_ninja": ratio(m["flowc"], m["ninja"]),
            "vs_make": ratio(m["flowc"], m["make"]),
            "us_step": m["flowc"] * 1000.0 / int(steps),
            "rss_mb": int(rss_kib) / 1024.0,
        })

hdr = (f"{'shape':<8} {'steps':>6} {'flowc ms':>10} {'make ms':>10} {'ninja ms':>10} "
       f"{'flowc/ninja':>11} {'flowc/make':>10} {'us/step':>8} {'peak MB':>8}")
print(hdr)
print("-" * len(hdr))
for r in rows:
    print(f"{r['shape']:<8} {r['steps']:>6} {r['flowc']:>10.1f} {r['make']:>10.1f} "
          f"{r['ninja']:>10.1f} {r['vs_ninja']:>11.2f} {r['vs_make']:>10.2f} "
          f"{r['us_step']:>8.0f} {r['rss_mb']:>8.1f}")

print("\nCPU time (user + system of the tool and everything it started, median s):")
hdr = f"{'shape':<8} {'steps':>6} {'flowc':>8} {'make':>8} {'ninja':>8} {'flowc/ninja':>11}"
print(hdr)
print("-" * len(hdr))
for r in rows:
    print(f"{r['shape']:<8} {r['steps']:>6} {r['cpu_flowc']:>8.2f} {r['cpu_make']:>8.2f} "
          f"{r['cpu_ninja']:>8.2f} {ratio(r['cpu_flowc'], r['cpu_ninja']):>11.2f}")

one_ms = medians(one_json)["flowc run one step"]
print(f"\nflowc run, one-step workflow: median {one_ms:.2f} ms (whole process, hyperfine -N)")

print("\nTargets:")
def verdict(label, ok, detail):
    word = "SKIP" if ok is None else ("PASS" if ok else "FAIL")
    print(f"  [{word}] {label}: {detail}")

by = {(r["shape"], r["steps"]): r for r in rows}
skip = "--quick" if quick else "no 10,000-step run"
# Issue 14's targets: at most 1.0x both peers on every shape, under 25 MB at 10,000 steps.
for shape in ("lattice", "fanout", "chain"):
    r = by.get((shape, 10000))
    for peer in ("ninja", "make"):
        label = f"{shape} 10k  <= 1.0x {peer} -j2"
        if r is None:
            verdict(label, None, skip)
        else:
            q = ratio(r["flowc"], r[peer])
            p = r[f"paired_{peer}"]
            also = "" if p is None else f"; per-round ratio, median {p:.3f}x"
            verdict(label, q <= 1.0,
                    f"{q:.2f}x ({r['flowc']:.0f} ms vs {r[peer]:.0f} ms{also})")
# A fan-out step of n instances costs about what n steps do: its CPU time (flowc and every
# process it started) at most 1.2x the fan-out graph's, written as n steps. (A join that
# polled every instance at every wake-up made it 1.5x at 10,000, and quadratic.)
def ratio_target(label, top, bottom, key, limit, unit):
    """The target top[key] / bottom[key] <= limit; SKIP when either row is missing."""
    if top is None or bottom is None:
        verdict(label, None, skip)
    else:
        q = ratio(top[key], bottom[key])
        a, b = (f"{x:.0f}" if unit == "ms" else f"{x:.2f}" for x in (top[key], bottom[key]))
        verdict(label, q <= limit, f"{q:.2f} ({a} {unit} / {b} {unit})")
ratio_target("instances 10k CPU <= 1.2x fanout 10k CPU", by.get(("instances", 10000)),
             by.get(("fanout", 10000)), "cpu_flowc", 1.2, "s")
ratio_target("chain 10k / chain 1k <= 12", by.get(("chain", 10000)), by.get(("chain", 1000)),
             "flowc", 12.0, "ms")
for shape in ("lattice", "fanout", "chain"):
    r = by.get((shape, 10000))
    label = f"{shape} 10k peak RSS < 25 MB"
    if r is None:
        verdict(label, None, skip)
    else:
        verdict(label, r["rss_mb"] < 25.0, f"{r['rss_mb']:.1f} MB")
verdict("one-step workflow < 5 ms", one_ms < 5.0, f"{one_ms:.2f} ms")
PY
