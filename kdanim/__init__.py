"""kdanim: a real knowledge-distillation experiment, rendered as a narrated lesson."""

import os as _os
import sys as _sys

__version__ = "0.1.0"

#: OpenBLAS rounds float32 products differently when it is loaded single-threaded than with two or
#: more threads, even though the simulation always computes on one BLAS thread (threadpoolctl), and
#: 100 epochs carry the difference into every number. OpenBLAS reads this when NumPy loads it, so
#: kdanim sets it before that, the same on every machine; Dask workers get it too (kdanim.cluster).
BLAS_THREADS_AT_LOAD = "2"
if "numpy" not in _sys.modules:
    _os.environ["OPENBLAS_NUM_THREADS"] = BLAS_THREADS_AT_LOAD
