"""Run with one OpenBLAS thread: the simulator's matrices are small, and extra threads only spin-wait."""

import contextlib
import ctypes
import glob
import os

import numpy as np

_SYMBOLS = ("scipy_openblas_{}_num_threads64_", "scipy_openblas_{}_num_threads",
            "openblas_{}_num_threads64_", "openblas_{}_num_threads")
_api = None


def _find_api():
    """(get, set) functions of the OpenBLAS numpy uses, or None when there is none to be found."""
    paths = []
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line})
    except OSError:
        pass
    paths += glob.glob(os.path.join(os.path.dirname(np.__file__) + ".libs", "*openblas*"))
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for pattern in _SYMBOLS:
            get, set_ = getattr(lib, pattern.format("get"), None), getattr(lib, pattern.format("set"), None)
            if get is not None and set_ is not None:
                get.restype, set_.argtypes = ctypes.c_int, [ctypes.c_int]
                return get, set_
    return None


@contextlib.contextmanager
def blas_threads(n=1):
    """Limit OpenBLAS to n threads inside the block (best effort; results do not depend on it)."""
    global _api
    if _api is None:
        _api = _find_api() or False
    if not _api:
        yield
        return
    get, set_ = _api
    before = get()
    set_(n)
    try:
        yield
    finally:
        set_(before)
