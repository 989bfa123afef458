"""Dask: a client on a local cluster (one single-threaded worker process per core) or on a running scheduler."""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Iterator

__all__ = ["ClusterError", "client", "scheduler_address", "CONNECT_TIMEOUT"]

#: Seconds to wait for an unreachable scheduler before giving up.
CONNECT_TIMEOUT = 8


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

    address = scheduler_address(scheduler)
    # Quiet: Dask's own log would bury kdanim's lines (worker restarts are reported by the sweep).
    with dask.config.set({"distributed.logging.distributed": "error", "logging": {"distributed": "error"}}):
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
