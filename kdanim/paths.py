"""Where kdanim keeps its caches, and the keys it files them under."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

from kdanim import __version__

__all__ = ["cache_dir", "config_key", "sim_code_version", "cached_trace"]


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
