#!/usr/bin/env python3
"""Summarises a `perf script` of sched:sched_process_{fork,exec,exit} events recorded
system-wide around one run of a tool that starts step processes (benches/gaps.sh).

The tool is the first process that execs in the recording (`perf record -- TOOL ...`). A
step process is a child of the tool, or of one of its threads, that execs; the tool's
threads are its children that never exec. Prints, for that run:

  * gap: from each step process's exit to the next step process's fork, in µs (each
    exit paired with the first fork after it that no earlier exit took): median, mean,
    90th percentile, and how many were over 600 µs;
  * busy: the share of the time from the first fork to the last exit during which
    exactly 0, 1, 2, ... step processes existed.

Usage: gaps.py LABEL SCRIPT_OUTPUT. Only the standard library is used.
"""

import re
import statistics
import sys

EVENT = re.compile(r"\s(\d+\.\d+):\s+sched:sched_process_(fork|exec|exit):\s+(.*)")


def main():
    label, path = sys.argv[1], sys.argv[2]
    forks, execs, exits = [], set(), {}
    tool = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = EVENT.search(line)
            if not m:
                continue
            t, kind, rest = float(m.group(1)), m.group(2), m.group(3)
            fields = dict(kv.split("=", 1) for kv in rest.split() if "=" in kv)
            if kind == "fork":
                forks.append((t, int(fields["pid"]), int(fields["child_pid"])))
            elif kind == "exec":
                execs.add(int(fields["pid"]))
                if tool is None:
                    tool = {int(fields["pid"])}
            elif kind == "exit":
                exits[int(fields["pid"])] = t
    fork_at, steps = {}, []
    for t, parent, child in sorted(forks):
        if tool is None or parent not in tool:
            continue
        if child in execs:
            if child in exits:
                fork_at[child] = t
                steps.append(child)
        else:
            tool.add(child)
    forks = fork_at
    if not steps:
        print(f"{label}: no step processes found in {path}", file=sys.stderr)
        sys.exit(1)
    events = sorted([(forks[p], 1) for p in steps] + [(exits[p], -1) for p in steps])
    gaps, pending = [], []
    for t, d in events:
        if d < 0:
            pending.append(t)
        elif pending:
            gaps.append((t - pending.pop(0)) * 1e6)
    busy, running, last = {}, 0, events[0][0]
    for t, d in events:
        busy[running] = busy.get(running, 0.0) + t - last
        last, running = t, running + d
    total = sum(busy.values()) or 1.0
    q = statistics.quantiles(gaps, n=10) if len(gaps) > 1 else [0.0] * 9
    shares = " ".join(f"{k}:{v / total:.1%}" for k, v in sorted(busy.items()))
    print(
        f"{label:<6} {len(steps)} steps; gap median {statistics.median(gaps):.0f} µs, "
        f"mean {statistics.mean(gaps):.0f}, p90 {q[8]:.0f}, "
        f"over 600 µs {sum(g > 600 for g in gaps)}; busy {shares}"
    )


if __name__ == "__main__":
    main()
