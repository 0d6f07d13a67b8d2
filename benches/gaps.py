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
    exactly 0, 1, 2, ... step processes existed;
  * when the recording also has sched:sched_switch events, each gap split in two: wait,
    from the exit until the thread that forks next got the processor (the kernel's
    exit of the step process, and the runner's wake-up), and work, from then to the
    fork (the runner's own handling of the end and the next start, the kernel's clone
    included); medians, in µs. And sleeps: how often per step a thread of the tool went
    to sleep (a switch away in state S), each a wake-up later.

Usage: gaps.py LABEL SCRIPT_OUTPUT. Only the standard library is used.
"""

import bisect
import re
import statistics
import sys

EVENT = re.compile(
    r"\s(\d+\.\d+):\s+sched:sched_(process_fork|process_exec|process_exit|switch):\s+(.*)"
)
SWITCH = re.compile(r"prev_pid=(\d+) .*prev_state=(\S+) ==> .*next_pid=(\d+) ")


def main():
    label, path = sys.argv[1], sys.argv[2]
    forks, execs, exits, switches = [], set(), {}, []
    tool = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = EVENT.search(line)
            if not m:
                continue
            t, kind, rest = float(m.group(1)), m.group(2), m.group(3)
            if kind == "switch":
                # prev_comm=... prev_pid=N prev_prio=N prev_state=S ==> next_comm=...
                # next_pid=N (a comm may hold spaces: only the numbers are read)
                ids = SWITCH.search(rest)
                if ids:
                    switches.append((t, int(ids.group(1)), ids.group(2), int(ids.group(3))))
                continue
            fields = dict(kv.split("=", 1) for kv in rest.split() if "=" in kv)
            if kind == "process_fork":
                forks.append((t, int(fields["pid"]), int(fields["child_pid"])))
            elif kind == "process_exec":
                execs.add(int(fields["pid"]))
                if tool is None:
                    tool = {int(fields["pid"])}
            elif kind == "process_exit":
                exits[int(fields["pid"])] = t
    fork_at, forker, steps = {}, {}, []
    for t, parent, child in sorted(forks):
        if tool is None or parent not in tool:
            continue
        if child in execs:
            if child in exits:
                fork_at[child] = t
                forker[child] = parent
                steps.append(child)
        else:
            tool.add(child)
    forks = fork_at
    if not steps:
        print(f"{label}: no step processes found in {path}", file=sys.stderr)
        sys.exit(1)
    events = sorted([(forks[p], 1, p) for p in steps] + [(exits[p], -1, p) for p in steps])
    gaps, pending, pairs = [], [], []
    for t, d, p in events:
        if d < 0:
            pending.append(t)
        elif pending:
            start = pending.pop(0)
            gaps.append((t - start) * 1e6)
            pairs.append((start, t, forker[p]))
    busy, running, last = {}, 0, events[0][0]
    for t, d, _ in events:
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
    if switches and pairs:
        print(f"{'':<6} {split(pairs, len(steps), switches, tool)}")


def split(pairs, steps, switches, tool):
    """The wait and work medians of the gaps (exit, fork, forking thread), and the
    tool's sleeps per step."""
    # When each of the tool's threads got the processor, in time order.
    switched_in = {}
    for t, _, _, nxt in switches:
        if nxt in tool:
            switched_in.setdefault(nxt, []).append(t)
    waits, works = [], []
    for exited, forked, thread in pairs:
        times = switched_in.get(thread, [])
        # The last time the forking thread got the processor before the fork; if that
        # was before the exit, it was already running when the step ended.
        i = bisect.bisect_right(times, forked) - 1
        on_cpu = max(exited, times[i]) if i >= 0 else exited
        waits.append((on_cpu - exited) * 1e6)
        works.append((forked - on_cpu) * 1e6)
    sleeps = sum(1 for _, prev, state, _ in switches if prev in tool and state == "S")
    return (
        f"gap split: wait median {statistics.median(waits):.0f} µs, "
        f"work median {statistics.median(works):.0f} µs; "
        f"sleeps per step {sleeps / steps:.2f}"
    )


if __name__ == "__main__":
    main()
