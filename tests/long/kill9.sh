#!/usr/bin/env bash
# The long crash test: 200 kill -9 trials (instead of the suite's 50) of the 50-step
# workflow and of the 32-wide fan-out, each resumed and checked (tests/flowc/durable.rs).
# Usage: tests/long/kill9.sh [TRIALS]   (default 200; debug build)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TRIALS="${1:-200}"
cd "$ROOT"
FLOWC_CRASH_TRIALS="$TRIALS" exec cargo test --test flowc -- --test-threads 1 \
    durable::kill9_at_random_moments durable::kill9_during_a_wide_fan_out
