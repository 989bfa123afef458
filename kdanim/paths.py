"""Where kdanim keeps its caches, and the keys it files them under."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

from kdanim import __version__

__all__ = ["cache_dir", "config_key"]


def cache_dir() -> Path:
    """The cache folder: $KDANIM_CACHE, else $XDG_CACHE_HOME/kdanim, else ~/.cache/kdanim."""
    root = os.environ.get("KDANIM_CACHE")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "kdanim" if xdg else Path.home() / ".cache" / "kdanim"


def config_key(config) -> str:
    """A short hash of a simulation config (and the kdanim version that runs it)."""
    data = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
    blob = json.dumps({"v": __version__, "config": data}, sort_keys=True, default=list)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
