"""Dask: a client on a local cluster (one single-threaded worker process per core) or on a running scheduler."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from typing import Callable, Iterator

__all__ = ["ClusterError", "TaskFailed", "client", "scheduler_address", "run_tasks", "CONNECT_TIMEOUT"]

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


class TaskFailed(Exception):
    """A task failed on every try; ``item`` is what it was given, ``error`` what it raised last."""

    def __init__(self, item, error: BaseException):
        super().__init__(f"{type(error).__name__}: {error}")
        self.item, self.error = item, error


def run_tasks(c, fn: Callable, items, name: Callable[[object], str], retries: int = 2,
              in_order: bool = False) -> Iterator[tuple]:
    """Submit ``fn(item)`` for every item to the Dask client ``c``; yield ``(item, result)`` as each finishes.

    The one submit-and-collect loop (sweeps, chapter renders): each task is retried ``retries``
    times (a worker that dies loses nothing), is keyed ``name(item)`` plus a random suffix, and is
    released once collected; whatever is still running when the caller stops is cancelled.
    ``in_order``: the workers take the tasks in the order of ``items`` (Dask priorities, the first
    highest). A task that fails on every try raises :class:`TaskFailed`.
    """
    from distributed import as_completed

    items = list(items)
    if not items:  # nothing to run (and maybe no client: every run was done already)
        return
    futures = {c.submit(fn, item, key=f"{name(item)}-{secrets.token_hex(4)}", retries=retries, pure=False,
                        priority=len(items) - i if in_order else 0): item
               for i, item in enumerate(items)}
    try:
        for f in as_completed(list(futures), loop=c.loop):
            try:
                result = f.result()
            except Exception as e:
                raise TaskFailed(futures[f], e) from None
            f.release()
            yield futures[f], result
    finally:
        for f in futures:
            f.cancel()
