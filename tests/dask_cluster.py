"""A real Dask cluster for tests: `dask scheduler` and `dask worker` processes on 127.0.0.1."""

import os
import signal
import socket
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kdanim import BLAS_THREADS_AT_LOAD

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask_command(*args):
    exe = Path(sys.executable).parent / "dask"
    return [str(exe), *args] if exe.exists() else [sys.executable, "-m", "dask", *args]


class LocalDask:
    """A scheduler and ``n`` single-threaded workers (no nanny: killing one kills the worker itself)."""

    def __init__(self, n_workers=2):
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.cache = tempfile.mkdtemp(prefix="kdanim-dask-workers-")  # the workers' own cache: nothing shared
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                    "KDANIM_CACHE": self.cache,
                    # as the README's worker command: OpenBLAS loaded as in kdanim's own processes
                    "OPENBLAS_NUM_THREADS": BLAS_THREADS_AT_LOAD,
                    "DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON__OPENBLAS_NUM_THREADS": BLAS_THREADS_AT_LOAD}
        self.procs = []
        self.workers = []
        port = self.address.rsplit(":", 1)[1]
        self.procs.append(self._start("scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"))
        for _ in range(n_workers):
            self.add_worker()

    def _start(self, *args):
        return subprocess.Popen(_dask_command(*args), env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)

    def add_worker(self):
        p = self._start("worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                        "--host", "127.0.0.1")
        self.procs.append(p)
        self.workers.append(p)
        return p

    def wait(self, n_workers, timeout=60):
        from distributed import Client

        deadline = time.monotonic() + timeout
        while True:
            try:
                with Client(self.address, timeout=5, set_as_default=False) as c:
                    c.wait_for_workers(n_workers, timeout=max(1, deadline - time.monotonic()))
                    return
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise

    def stop(self):
        for p in reversed(self.procs):  # workers hold nothing worth a graceful exit: kill them
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM if p is self.procs[0] else signal.SIGKILL)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        shutil.rmtree(self.cache, ignore_errors=True)
