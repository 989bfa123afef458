"""Where kdanim keeps its caches, the keys it files them under, and how it writes a file atomically."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path

from kdanim import __version__

__all__ = ["cache_dir", "config_key", "sim_code_version", "cached_trace", "atomic_path", "atomic_write"]


def cache_dir() -> Path:
    """The cache folder: $KDANIM_CACHE, else $XDG_CACHE_HOME/kdanim, else ~/.cache/kdanim."""
    root = os.environ.get("KDANIM_CACHE")
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "kdanim" if xdg else Path.home() / ".cache" / "kdanim"


def sim_code_version() -> str:
    """A hash of the code that makes a trace (kdanim/sim and kdanim/trace.py)."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted((root / "sim").rglob("*.py")) + [root / "trace.py"]:
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def config_key(config) -> str:
    """A short hash of a simulation config and of the code that runs it (the trace cache key).

    The simulation code is part of the key: a trace cached by an older simulator
    is never shown as if the current one had made it.
    """
    data = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
    blob = json.dumps({"v": __version__, "sim": sim_code_version(), "config": data},
                      sort_keys=True, default=list)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cached_trace(config, on_simulate=None) -> dict:
    """The trace of ``config``: from the trace cache, or simulated now and filed there.

    The one home of the trace cache (``traces/`` under :func:`cache_dir`), used by
    `kdanim render` and by plain `manim render`. A damaged entry is simulated again.
    ``on_simulate()`` is called before a simulation starts (progress output).
    """
    from kdanim import trace as tracemod

    path = cache_dir() / "traces" / f"{config_key(config)}.json"
    if path.exists():
        try:
            return tracemod.load(path)
        except tracemod.TraceError:
            pass  # a damaged entry: simulate again
    path.parent.mkdir(parents=True, exist_ok=True)  # an unusable cache fails before the simulation
    if on_simulate is not None:
        on_simulate()
    trace = tracemod.simulate_trace(config)
    tracemod.save(trace, path)
    return trace


@contextlib.contextmanager
def atomic_path(path, suffix: str = ""):
    """Yield an empty temporary file beside `path`; rename it to `path` when the block succeeds.

    Any exception (Ctrl-C included) removes the temporary file and leaves `path`
    as it was, so nothing half-written ever has the final name. `suffix` ends
    the temporary name, for writers that choose a format by extension.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{suffix}")
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        tmp.chmod(0o644)  # mkstemp makes 0600; published files should be readable
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path, data: str | bytes) -> Path:
    """Write `data` (text as UTF-8, newlines as given) to `path` atomically; return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)
