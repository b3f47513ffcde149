#!/usr/bin/env python3
"""rg, `regshift audit` and `regshift plan` timed in turn, run by run, so that a busy moment on a
shared machine falls on all three alike. Prints each one's median wall time, CPU time, and its
median ratio to rg's run beside it. Not run in CI.

usage: bench/interleave.py TREE [RUNS]     (TREE: e.g. the ×1 corpus that bench/run.sh prepares)
"""
import os
import resource
import statistics
import subprocess
import sys
import time

HOSTS = r"(candidate-registry\.stg|candidate-registry|registry\.stg|registry)\.fedoraproject\.org"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGSHIFT = os.path.join(HERE, "target", "release", "regshift")


def timed(argv):
    """Wall and CPU (user + system) milliseconds of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall * 1000, cpu * 1000


def main():
    tree = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    tools = {
        "rg": ["rg", "-l", "-i", "-e", HOSTS, tree],
        "regshift audit": [REGSHIFT, "audit", "-C", tree],
        "regshift plan": [REGSHIFT, "plan", "-C", tree, "--format", "stat"],
    }
    for argv in tools.values():
        for _ in range(3):
            timed(argv)
    times = {name: [] for name in tools}
    for _ in range(runs):
        for name, argv in tools.items():
            times[name].append(timed(argv))
    for name, samples in times.items():
        wall = statistics.median(w for w, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        ratio = statistics.median(w / r for (w, _), (r, _) in zip(samples, times["rg"]))
        print(f"  {name:16s} {wall:7.1f} ms  cpu {cpu:6.1f} ms  {ratio:5.2f}x rg")


if __name__ == "__main__":
    main()
