"""Dask: a client on a local cluster (one single-threaded worker process per core) or on a running scheduler."""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Iterator

__all__ = ["ClusterError", "client", "scheduler_address", "render_on_cluster", "CONNECT_TIMEOUT"]

#: Seconds to wait for an unreachable scheduler before giving up.
CONNECT_TIMEOUT = 6


class ClusterError(RuntimeError):
    """The cluster could not be reached or started; the message is one line."""


def scheduler_address(scheduler: str | None) -> str | None:
    """``scheduler``, else $DASK_SCHEDULER_ADDRESS, else None (a local cluster)."""
    return scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None


@contextlib.contextmanager
def client(scheduler: str | None = None, workers: int | None = None) -> Iterator:
    """A Dask ``Client``: on the scheduler at ``scheduler`` (tcp://HOST:PORT), or on a new LocalCluster.

    The local cluster has ``workers`` single-threaded worker processes (default: one per core)
    and no dashboard; it is closed on exit, also on Ctrl-C.
    """
    import dask
    from distributed import Client, LocalCluster

    from kdanim import BLAS_THREADS_AT_LOAD

    address = scheduler_address(scheduler)
    # Quiet, and no statistical profiler on the local workers (it samples their stacks every 10 ms).
    settings = {"distributed.logging.distributed": "error", "logging": {"distributed": "error"},
                "distributed.worker.profile.enabled": False,
                # Dask's default MALLOC_TRIM_THRESHOLD_=65536 hands NumPy's temporaries back to the OS after
                # every step (a run took about twice the CPU time of a plain process); 32 MiB keeps them.
                # Setting it also freezes glibc's mmap threshold at 128 KiB, so every array above that was
                # still mapped and unmapped (110,000 page faults and +50% CPU per run): raise that one too.
                "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": str(32 << 20),
                "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": str(32 << 20),
                # the same OpenBLAS set-up as kdanim's own processes, so a run's trace is the same (kdanim/__init__.py)
                "distributed.nanny.pre-spawn-environ.OPENBLAS_NUM_THREADS": BLAS_THREADS_AT_LOAD}
    with dask.config.set(settings):
        if address:
            try:
                c = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as e:
                raise ClusterError(f"cannot reach the Dask scheduler at {address}: "
                                   f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
            try:
                yield c
            finally:
                c.close()
            return
        n = workers or os.cpu_count() or 1
        try:
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                                   silence_logs=logging.ERROR)
        except OSError as e:
            raise ClusterError(f"cannot start a local Dask cluster: {e}") from None
        try:
            with Client(cluster, set_as_default=False) as c:
                yield c
        finally:
            cluster.close()


def _render_on_worker(job) -> dict:
    """On a Dask worker: render one chapter in a temporary folder and return its files as bytes.

    No shared filesystem is assumed: the chapter's video (or still) and the voice clips its
    timeline refers to travel back in the result.
    """
    import shutil
    import tempfile
    from pathlib import Path

    from kdanim.render import render_chapter

    chapter_cls, trace, opts, _ = job
    work = Path(tempfile.mkdtemp(prefix=f"kdanim-ch{chapter_cls.number:02d}-"))
    try:
        res = render_chapter(chapter_cls, trace, opts, work)
        clips = {}
        for line in res.timeline["lines"]:
            if line["path"]:
                p = Path(line["path"])
                clips[f"{p.parent.name}/{p.name}"] = p.read_bytes()
        return {"file": (res.still or res.video).read_bytes(), "timeline": res.timeline, "clips": clips,
                "seconds": res.seconds}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def render_on_cluster(jobs, scheduler: str, send) -> list:
    """Render chapter jobs ``(chapter_cls, trace, opts, code)`` on the Dask ``scheduler``, in lesson order.

    Chapters in the local cache are not sent. Each result's bytes are filed in the local chapter
    and voice caches as it arrives, so an interrupted render keeps the chapters already back.
    """
    import tempfile
    from pathlib import Path

    from distributed import as_completed

    from kdanim.narration.voices import default_cache_dir
    from kdanim.paths import atomic_write
    from kdanim.render import ChapterResult, cached_chapter, file_chapter

    results = {}
    todo = []
    for job in jobs:
        hit = cached_chapter(job)
        if hit is None:
            todo.append(job)
        else:
            send(("start", hit.number))
            send(("done", hit.number, 0.0, True))
            results[hit.number] = hit
    if todo:
        with client(scheduler) as c:
            futures = {}
            for job in todo:
                send(("start", job[0].number))
                futures[c.submit(_render_on_worker, job, pure=False, retries=2)] = job
            for f in as_completed(list(futures), loop=c.loop):
                job = futures[f]
                out = f.result()
                voice_dir = default_cache_dir()
                for rel, data in out["clips"].items():
                    path = voice_dir / rel
                    if not path.exists():
                        atomic_write(path, data)
                for line in out["timeline"]["lines"]:
                    if line["path"]:
                        p = Path(line["path"])
                        line["path"] = str(voice_dir / p.parent.name / p.name)
                preview = job[2].preview
                with tempfile.TemporaryDirectory(prefix="kdanim-remote-") as tmpdir:
                    got = Path(tmpdir) / ("still.png" if preview else "chapter.mp4")
                    got.write_bytes(out["file"])
                    res = ChapterResult(job[0].number, job[0].title, None if preview else got,
                                        got if preview else None, out["timeline"], seconds=out["seconds"])
                    results[res.number] = file_chapter(job, res)
                send(("done", res.number, res.seconds, False))
    return [results[job[0].number] for job in jobs]
