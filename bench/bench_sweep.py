"""Benchmark sweeps: runs per second for a 20-run grid, serial against a 2-worker Dask LocalCluster,
and Dask's overhead per run.

Usage: python bench/bench_sweep.py [--epochs 100] [--workers 2]
The machine's load average is printed first: a shared machine slows the parallel run most.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kdanim import sweep as sw  # noqa: E402
from kdanim.cluster import client  # noqa: E402
from kdanim.sim.config import SimConfig  # noqa: E402

GRID = dict(tau=(1.0, 2.0, 3.0, 5.0, 8.0), alpha=(0.25, 0.75), seed=(0, 1))  # 5 × 2 × 2 = 20 runs


def _noop(x):
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    grid = sw.Grid(GRID["tau"], GRID["alpha"], GRID["seed"], SimConfig(epochs=args.epochs))
    n = len(grid)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")

    t0 = time.perf_counter()
    for c in grid.configs():
        sw.simulate_config(c.to_dict())
    serial = time.perf_counter() - t0
    print(f"serial:       {n} runs in {serial:6.1f} s = {n / serial:.2f} runs/s ({serial / n:.2f} s per run)")

    t0 = time.perf_counter()
    with client(workers=args.workers) as c:
        started = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as out:
            t1 = time.perf_counter()
            sw.run_sweep(grid, Path(out), c)
            dask = time.perf_counter() - t1
        # overhead per task: empty tasks, and tasks returning a trace-sized result (~100 KB)
        k = 200
        t2 = time.perf_counter()
        c.gather(c.map(_noop, range(k), pure=False))
        noop = (time.perf_counter() - t2) / k
        payload = "x" * 100_000
        t3 = time.perf_counter()
        c.gather(c.map(_noop, [payload] * 50, pure=False))
        heavy = (time.perf_counter() - t3) / 50
    print(f"dask ({args.workers} workers): {n} runs in {dask:6.1f} s = {n / dask:.2f} runs/s "
          f"(+ {started:.1f} s to start the cluster)")
    print(f"speed-up:     {serial / dask:.2f}x serial ({serial / (dask + started):.2f}x counting cluster start)")
    print(f"overhead:     {1e3 * noop:.1f} ms per empty task, {1e3 * heavy:.1f} ms per task moving 100 KB "
          f"(a run here takes {serial / n:.2f} s)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
