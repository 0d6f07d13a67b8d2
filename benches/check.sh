#!/usr/bin/env bash
# Benchmark `flowc check` on large generated workflows against `ninja -n` on the same graphs.
# See benches/README.md. Usage: benches/check.sh [--quick] [--no-build]
set -euo pipefail

usage() {
    cat <<'EOF'
usage: benches/check.sh [--quick] [--no-build]
  --quick     only the 1,000 and 10,000 step sizes (skips the 100,000 step targets)
  --no-build  do not run `cargo build --release`; use the existing binary
Environment: FLOWC=/path/to/flowc overrides the binary (implies --no-build).
EOF
}

QUICK=0
BUILD=1
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        --no-build) BUILD=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "check.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
    esac
done

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

# ---------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------
NAME=check.sh
# shellcheck source=benches/lib.sh
. "$SCRIPT_DIR/lib.sh"
ensure_tools ninja:ninja-build hyperfine:hyperfine /usr/bin/time:time
command -v python3 >/dev/null 2>&1 || { echo "check.sh: python3 is required" >&2; exit 1; }
find_flowc

# ---------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/flowc-bench.XXXXXX")"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

if [ "$QUICK" -eq 1 ]; then
    SIZES="1000,10000"
else
    SIZES="1000,10000,100000"
fi
echo "==> generating workflows in $WORK (sizes $SIZES)"
python3 "$SCRIPT_DIR/gen.py" --out "$WORK/in" --shapes fanout,chain,lattice --sizes "$SIZES" \
    > "$WORK/cases.tsv"

RESULTS="$WORK/results.tsv"   # shape, steps, hyperfine json, peak rss (KiB)
: > "$RESULTS"

# ---------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------
while IFS=$'\t' read -r shape steps flow ninja_dir; do
    echo
    echo "==> $shape, $steps steps"

    # One plain run: must be clean (exit 0); also gives the peak RSS.
    rss_file="$WORK/$shape-$steps.rss"
    err_file="$WORK/$shape-$steps.stderr"
    status=0
    /usr/bin/time -f %M -o "$rss_file" "$FLOWC" check "$flow" >/dev/null 2>"$err_file" || status=$?
    if [ "$status" -ne 0 ]; then
        echo "FAIL: flowc check $flow exited with status $status; stderr (head):" >&2
        head -n 40 "$err_file" >&2
        exit 1
    fi
    rss_kib="$(tail -n 1 "$rss_file")"

    # Sanity: `ninja -n` must dry-run every one of the edges (its last line is `[N/N] ...`).
    status=0
    ninja -C "$ninja_dir" -n > "$WORK/ninja.out" 2>&1 || status=$?
    last="$(tail -n 1 "$WORK/ninja.out")"
    if [ "$status" -ne 0 ] || [[ "$last" != "[$steps/$steps] "* ]]; then
        echo "FAIL: ninja -C $ninja_dir -n (status $status) did not run all $steps edges:" >&2
        tail -n 5 "$WORK/ninja.out" >&2
        exit 1
    fi

    if [ "$steps" -ge 100000 ]; then
        rounds=5
        runs=(--runs 1)
    else
        rounds=7
        runs=(--warmup 1 --runs 3)
    fi
    json="$WORK/$shape-$steps.json"
    # Interleaved rounds, flowc first in one and ninja first in the next: the machine's
    # speed drifts over a minute by more than the differences measured (see run.sh), and
    # one hyperfine call runs all of one command's runs before the other's. Shell-less
    # (-N) so neither side pays for a shell; ninja runs in the case's own directory,
    # which holds only its build.ninja. `-n` plans and dry-runs every edge without
    # executing commands or writing outputs.
    flowc_cmd=(-n "flowc check" "$FLOWC check $flow")
    ninja_cmd=(-n "ninja -n" "ninja -C $ninja_dir -n")
    for ((r = 0; r < rounds; r++)); do
        if [ $((r % 2)) -eq 0 ]; then
            order=("${flowc_cmd[@]}" "${ninja_cmd[@]}")
        else
            order=("${ninja_cmd[@]}" "${flowc_cmd[@]}")
        fi
        hyperfine -N "${runs[@]}" --style none --export-json "$WORK/round-$r.json" "${order[@]}"
    done
    # All rounds' times in one file of hyperfine's shape, with the medians over them all.
    python3 - "$json" "$WORK"/round-*.json <<'PY'
import json, statistics, sys
times = {}
for path in sys.argv[2:]:
    with open(path) as f:
        for r in json.load(f)["results"]:
            times.setdefault(r["command"], []).extend(r["times"])
results = [{"command": c, "median": statistics.median(t), "times": t} for c, t in times.items()]
with open(sys.argv[1], "w") as f:
    json.dump({"results": results}, f)
for r in results:
    print(f"  {r['command']:<12} median {r['median'] * 1000:9.2f} ms over {len(r['times'])} runs "
          f"(min {min(r['times']) * 1000:.2f}, max {max(r['times']) * 1000:.2f})")
PY
    rm -f "$WORK"/round-*.json

    printf '%s\t%s\t%s\t%s\n' "$shape" "$steps" "$json" "$rss_kib" >> "$RESULTS"
done < "$WORK/cases.tsv"

# Small, real-world file: whole-process latency.
DEPLOY="$ROOT/examples/deploy.flow"
DEPLOY_JSON=""
echo
if [ -f "$DEPLOY" ]; then
    echo "==> flowc check examples/deploy.flow"
    status=0
    "$FLOWC" check "$DEPLOY" >/dev/null 2>"$WORK/deploy.stderr" || status=$?
    if [ "$status" -ne 0 ]; then
        echo "FAIL: flowc check $DEPLOY exited with status $status; stderr (head):" >&2
        head -n 40 "$WORK/deploy.stderr" >&2
        exit 1
    fi
    DEPLOY_JSON="$WORK/deploy.json"
    hyperfine -N --warmup 5 --runs 50 --style basic --export-json "$DEPLOY_JSON" \
        -n "flowc check deploy.flow" "$FLOWC check $DEPLOY"
else
    echo "==> examples/deploy.flow not found; skipping its timing"
fi

# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------
echo
python3 - "$RESULTS" "$DEPLOY_JSON" "$QUICK" <<'PY'
import json
import sys

results_path, deploy_json, quick = sys.argv[1], sys.argv[2], sys.argv[3] == "1"

def medians(path):
    with open(path) as f:
        data = json.load(f)
    out = {}
    for r in data["results"]:
        out[r["command"]] = r["median"] * 1000.0  # seconds -> ms
    return out

rows = []
with open(results_path) as f:
    for line in f:
        shape, steps, path, rss_kib = line.rstrip("\n").split("\t")
        m = medians(path)
        flowc_ms, ninja_ms = m["flowc check"], m["ninja -n"]
        rows.append({
            "shape": shape, "steps": int(steps),
            "flowc": flowc_ms, "ninja": ninja_ms,
            "ratio": flowc_ms / ninja_ms if ninja_ms > 0 else float("inf"),
            "us_step": flowc_ms * 1000.0 / int(steps),
            "rss_mb": int(rss_kib) / 1024.0,
        })

hdr = f"{'shape':<8} {'steps':>7} {'flowc ms':>10} {'ninja ms':>10} {'flowc/ninja':>11} {'us/step':>8} {'peak MB':>8}"
print(hdr)
print("-" * len(hdr))
for r in rows:
    print(f"{r['shape']:<8} {r['steps']:>7} {r['flowc']:>10.2f} {r['ninja']:>10.2f} "
          f"{r['ratio']:>11.2f} {r['us_step']:>8.2f} {r['rss_mb']:>8.1f}")

deploy_ms = None
if deploy_json:
    deploy_ms = medians(deploy_json)["flowc check deploy.flow"]
    print(f"\nflowc check examples/deploy.flow: median {deploy_ms:.2f} ms (whole process, hyperfine -N)")

print("\nTargets:")
def verdict(label, ok, detail):
    word = "PASS" if ok else "FAIL"
    if ok is None:
        word = "SKIP"
    print(f"  [{word}] {label}: {detail}")

for r in rows:
    if r["steps"] == 10000:
        verdict(f"{r['shape']} 10k  <= 30 us/step", r["us_step"] <= 30.0, f"{r['us_step']:.2f} us/step")
        verdict(f"{r['shape']} 10k  <= 1.5x ninja -n", r["ratio"] <= 1.5, f"{r['ratio']:.2f}x")
        # Issue 14's target, for the lattice.
        if r["shape"] == "lattice":
            verdict("lattice 10k  <= 1.0x ninja -n", r["ratio"] <= 1.0, f"{r['ratio']:.2f}x")
big = [r for r in rows if r["steps"] == 100000]
if big:
    for r in big:
        verdict(f"{r['shape']} 100k < 3 s", r["flowc"] < 3000.0, f"{r['flowc']:.0f} ms")
        verdict(f"{r['shape']} 100k < 300 MB peak", r["rss_mb"] < 300.0, f"{r['rss_mb']:.1f} MB")
        verdict(f"{r['shape']} 100k < 150 MB peak (issue 14)", r["rss_mb"] < 150.0, f"{r['rss_mb']:.1f} MB")
else:
    verdict("100k < 3 s and < 300 MB peak", None, "--quick" if quick else "no 100k runs")
if deploy_ms is None:
    verdict("deploy.flow < 5 ms", None, "examples/deploy.flow not found")
else:
    verdict("deploy.flow < 5 ms", deploy_ms < 5.0, f"{deploy_ms:.2f} ms")
PY
