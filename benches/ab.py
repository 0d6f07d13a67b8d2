#!/usr/bin/env python3
"""Helpers of benches/ab.sh.

    ab.py measure LABEL CMD...  runs CMD (its output to /dev/null) and appends one line
                                to stdout: LABEL, wall ms, the process's own CPU ms and
                                its children's CPU ms.
    ab.py report FILE STEPS     prints, per label, the medians of those and the median
                                of the per-round ratio of its wall time to make's, with
                                a 95% bootstrap confidence interval for that median.

The process's own CPU time is read from /proc/PID/stat while it is a zombie (waitid with
WNOWAIT), before it is reaped: user + system time of the process itself, apart from
what its children used. For flowc that is the scheduler, the journal and everything
else flowc does per step; for make, make's own work.
"""

import os
import random
import statistics
import sys
import time


def measure(label, argv):
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    wall = time.monotonic() - t0
    with open(f"/proc/{pid}/stat") as f:
        # The fields after the command name, which is in parentheses and may hold spaces.
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    utime, stime, cutime, cstime = (int(x) / tick for x in fields[11:15])
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"ab.py: {' '.join(argv)} failed (exit status {code})")
    print(f"{label}\t{wall * 1000:.0f}\t{(utime + stime) * 1000:.0f}\t{(cutime + cstime) * 1000:.0f}")


def interval(ratios, draws=2000):
    """A 95% bootstrap confidence interval for the median of `ratios`: the 2.5th and
    97.5th percentiles of the medians of `draws` resamples (with replacement, from a fixed
    seed, so that the same rounds give the same interval)."""
    if len(ratios) < 2:
        return ratios[0], ratios[0]
    pick = random.Random(14)
    medians = sorted(
        statistics.median(pick.choices(ratios, k=len(ratios))) for _ in range(draws)
    )
    return medians[int(0.025 * draws)], medians[int(0.975 * draws) - 1]


def report(path, steps):
    rows = []
    with open(path) as f:
        for line in f:
            rnd, label, wall, own, children = line.split("\t")
            rows.append((int(rnd), label, float(wall), float(own), float(children)))
    labels = list(dict.fromkeys(r[1] for r in rows))
    make = {r[0]: r[2] for r in rows if r[1] == "make"}
    print(
        f"{'tool':<24} {'wall ms':>9} {'own CPU ms':>11} {'µs/step':>8} {'children ms':>12}"
        f" {'vs make':>8} {'95% CI':>13}"
    )
    for label in labels:
        mine = [r for r in rows if r[1] == label]
        ratios = [r[2] / make[r[0]] for r in mine if r[0] in make]
        own = statistics.median(r[3] for r in mine)
        low, high = interval(ratios)
        print(
            f"{label:<24} {statistics.median(r[2] for r in mine):9.0f} {own:11.0f}"
            f" {own * 1000 / steps:8.1f} {statistics.median(r[4] for r in mine):12.0f}"
            f" {statistics.median(ratios):7.3f}x {low:.3f}-{high:.3f}"
        )
    print(
        f"({len(make)} rounds; 'vs make' is the median of each round's ratio of wall times,"
        " '95% CI' a bootstrap interval for it)"
    )


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "measure":
        measure(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 4 and sys.argv[1] == "report":
        report(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
