"""Benchmark `kdanim publish`: a 2 τ × 2 α explorer at low quality, with --jobs 1, with --jobs 2, and on a
real local `dask scheduler` with two `dask worker` processes (--nthreads 1 --nworkers 1 each).

Usage: python bench/bench_publish.py [--chapters 1-11] [--epochs 100] [--voice piper] [--modes jobs1,jobs2,dask,core1]

Every run starts from empty chapter and voice caches (the workers' too); the sweep's runs are made
once, before. For each run it prints the wall time (sweep traces loaded to explorer page written,
assembly of every variant included), the speed-up over --jobs 1, the CPU seconds of the chapter
renders, and the idle core time at the end: once no chapter is left to start, the seconds each other
core waits for the last one (the sum over the cores, from each chapter's render time and the moment
it came back), and the CPU seconds of every process of the run (this one, its pool's, the Dask
scheduler's and workers') over its wall time: the cores it kept busy. A single chapter render is not
one core's work (Manim draws while the encoder threads and x264 encode, and Piper runs on two threads
alone), so the speed-up two cores can give over --jobs 1 is at most 2 / the cores --jobs 1 kept busy.
``core1`` is --jobs 1 held to one core (CPU affinity): the one-core baseline that two plain processes
reach 1.78× over on these machines. The --jobs 1 run also lists every distinct chapter's render time
(the longest one bounds any pool). The machine's load average is printed first: a shared machine slows
the parallel runs most.
"""

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kdanim import BLAS_THREADS_AT_LOAD, facts, sweep  # noqa: E402
from kdanim.publish import render_site  # noqa: E402
from kdanim.render import ChapterPool, Finished, RenderOptions, chapter_jobs, chapter_titles  # noqa: E402
from kdanim.sim.config import SimConfig  # noqa: E402

TAUS, ALPHAS = (1.0, 4.0), (0.25, 0.75)
CORES = 2


def chapter_list(text):
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalScheduler:
    """`dask scheduler` and ``n`` `dask worker` processes on 127.0.0.1, the workers with a cache of their own."""

    def __init__(self, n: int, cache: Path):
        dask = str(Path(sys.executable).parent / "dask")
        self.address = f"tcp://127.0.0.1:{free_port()}"
        env = {**os.environ, "KDANIM_CACHE": str(cache), "OPENBLAS_NUM_THREADS": BLAS_THREADS_AT_LOAD,
               "DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON__OPENBLAS_NUM_THREADS": BLAS_THREADS_AT_LOAD,
               "PYTHONPATH": os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                              os.environ.get("PYTHONPATH", "")])}
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env, "start_new_session": True}
        self.procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port",
                                        self.address.rsplit(":", 1)[1], "--no-dashboard"], **quiet)]
        for _ in range(n):
            self.procs.append(subprocess.Popen([dask, "worker", self.address, "--nthreads", "1", "--nworkers", "1",
                                                "--no-dashboard", "--host", "127.0.0.1"], **quiet))
        from distributed import Client

        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(self.address, timeout=5, set_as_default=False) as c:
                    c.wait_for_workers(n, timeout=max(1, deadline - time.monotonic()))
                    return
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise

    def stop(self):
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def cpu_seconds() -> float:
    """CPU seconds of this process and of its children that ended (pool workers, Dask's processes)."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def pin(cores) -> None:
    """Every thread of this process (BLAS's, started at import, too) on ``cores``: Linux's affinity is per thread."""
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), cores)
        except (ProcessLookupError, OSError):
            pass  # a thread that has just ended


def publish(traces, opts, scheduler, jobs, root: Path) -> dict:
    """One cold publish into ``root``; its wall time and each chapter render's (end, seconds, number)."""
    renders = []

    def record(e):
        if isinstance(e, Finished) and not e.cached:
            renders.append((time.perf_counter(), e.seconds, e.number))

    os.environ["KDANIM_CACHE"] = str(root / "cache")
    t0 = time.perf_counter()
    with ChapterPool(scheduler, jobs) as pool:
        render_site(traces, opts, root / "site", pool=pool, events=record)
    wall = time.perf_counter() - t0
    ends = sorted(end for end, _, _ in renders)
    cores = 1 if jobs == 1 and not scheduler else CORES
    idle = sum(ends[-1] - e for e in ends[-cores:-1]) if len(ends) >= cores else 0.0
    return {"wall": wall, "cpu": sum(s for _, s, _ in renders), "idle": idle, "renders": renders, "t0": t0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chapters", type=chapter_list, default=None, help="e.g. 4,11 or 1-11 [default: all 11]")
    ap.add_argument("--epochs", type=int, default=100, help="the sweep's epochs")
    ap.add_argument("--voice", default="piper")
    ap.add_argument("--modes", default="core1,jobs1,jobs2,dask")
    ap.add_argument("--no-check", action="store_true", help="render frames that fail the layout checks anyway")
    args = ap.parse_args()
    modes = args.modes.split(",")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    work = Path(tempfile.mkdtemp(prefix="kdanim-bench-publish-"))
    try:
        sweep.run(sweep.Grid(TAUS, ALPHAS, (0,), SimConfig(epochs=args.epochs)), work / "sweep", workers=CORES)
        doc = sweep.load(work / "sweep" / "sweep.json")
        _, traces = sweep.seed_traces(work / "sweep" / "sweep.json")
        opts = RenderOptions(quality="low", voice=args.voice, chapters=args.chapters, sweep=facts.sweep_view(doc),
                             **({"check": False} if args.no_check else {}))
        plan = ChapterPool(jobs=CORES).plan([chapter_jobs(tr, opts) for tr in traces])
        print(f"explorer: {len(TAUS)} τ × {len(ALPHAS)} α at low quality, {plan.describe()}")
        results = {}
        for mode in modes:
            root = work / mode
            c0 = cpu_seconds()
            if mode == "dask":
                cluster = LocalScheduler(CORES, root / "worker-cache")
                try:
                    results[mode] = publish(traces, opts, cluster.address, 1, root)
                finally:
                    cluster.stop()  # its processes waited for: their CPU time is counted
            elif mode == "core1":
                cores = os.sched_getaffinity(0)
                pin({min(cores)})  # inherited by every thread and process started meanwhile
                try:
                    results[mode] = publish(traces, opts, None, 1, root)
                finally:
                    pin(cores)
            else:
                results[mode] = publish(traces, opts, None, int(mode.removeprefix("jobs")), root)
            r = results[mode]
            r["all_cpu"] = cpu_seconds() - c0
            busy = r["all_cpu"] / r["wall"]
            base = results.get("jobs1")
            speed = f"{base['wall'] / r['wall']:.2f}x --jobs 1" if base and mode != "jobs1" else "baseline"
            one = results.get("core1")
            speed += f", {one['wall'] / r['wall']:.2f}x one core" if one and mode != "core1" else ""
            ceiling = f" (at most {CORES / busy:.2f}x from {CORES} cores)" if mode == "jobs1" else ""
            print(f"{mode:6s} {r['wall']:7.1f} s wall  {speed:>30s}  chapters {len(r['renders'])} in "
                  f"{r['cpu']:6.1f} s of render time  idle at the end {r['idle']:5.1f} core-s  "
                  f"CPU {r['all_cpu']:6.1f} s, {busy:.2f} cores busy{ceiling}", flush=True)
            shutil.rmtree(root, ignore_errors=True)
        if "jobs1" in results:
            titles = chapter_titles(opts)
            longest = sorted(results["jobs1"]["renders"], key=lambda r: -r[1])
            print("chapter renders (--jobs 1), longest first: " + ", ".join(
                f"{n} {titles.get(n, '')} {s:.1f} s" for _, s, n in longest))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
