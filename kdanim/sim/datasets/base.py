"""The dataset seam: what a dataset provides, and the registry the CLI, the trace and the chapters read.

A dataset is one module in this package that builds a `Source` and registers it (see
`kdanim/sim/datasets/__init__.py`). It draws a teacher pool and a test set for a config;
kdanim.sim.data picks the students' labelled examples from the pool, the same way for every dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["Source", "Examples", "DatasetUnavailable", "register", "get", "names", "DATASETS", "pca_2d"]


class DatasetUnavailable(RuntimeError):
    """The dataset needs something that is not installed; the message says what to install."""


@dataclass
class Examples:
    """What a dataset draws: a pool (the teacher's training data) and a test set."""

    x_pool: np.ndarray            # (P, F) features
    y_pool: np.ndarray            # (P,) labels 0..K-1
    z_pool: np.ndarray            # (P, 2) the 2-D view of each example
    x_test: np.ndarray            # (T, F)
    y_test: np.ndarray            # (T,)
    z_test: np.ndarray            # (T, 2)
    img_pool: np.ndarray | None = None  # (P, H, W) grey levels in [0, 1], when examples are images
    img_test: np.ndarray | None = None  # (T, H, W)


@dataclass(frozen=True)
class Source:
    """One dataset: its name, classes, defaults, and `draw(config, rng) -> Examples`.

    `families` (one name per class, or None) says which classes resemble each other;
    `defaults` are SimConfig values for this dataset (sizes of the pool, test set, ...);
    `requires` names the Python module it imports and `install` how to get it;
    `check(config)`, if given, raises ConfigError for settings the dataset cannot meet (SimConfig calls it).
    """

    name: str
    title: str                            # a few words, e.g. "handwritten digits (8×8)"
    class_names: tuple
    draw: Callable                        # (config, np.random.Generator) -> Examples
    defaults: dict = field(default_factory=dict)
    families: tuple | None = None
    image_shape: tuple | None = None      # (H, W) when every example has an image
    view: str = "2-D view"                # what the 2-D view is, as said in the lesson
    requires: str | None = None
    install: str = ""
    check: Callable | None = None         # (config) -> None, on construction: a bad size fails there, not in draw

    def check_available(self):
        """Raise DatasetUnavailable (a one-line "install ..." message) when `requires` cannot be imported."""
        if self.requires is None:
            return
        try:
            __import__(self.requires)
        except ImportError:
            raise DatasetUnavailable(f"the {self.name} dataset needs {self.requires}: {self.install}") from None


DATASETS: dict[str, Source] = {}


def register(source: Source) -> Source:
    """Add a dataset to the registry (by its name)."""
    DATASETS[source.name] = source
    return source


def names() -> list[str]:
    return list(DATASETS)


def get(name: str) -> Source:
    """The registered dataset called `name`; KeyError listing the datasets otherwise."""
    try:
        return DATASETS[name]
    except (KeyError, TypeError):
        raise KeyError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}") from None


def pca_2d(x_fit, *xs):
    """Project xs onto the first two principal axes of x_fit (NumPy SVD); signs fixed for determinism."""
    mean = x_fit.mean(axis=0)
    _, _, vt = np.linalg.svd(x_fit - mean, full_matrices=False)
    axes = vt[:2]
    # sign convention: the largest-magnitude loading of each axis is positive
    axes = axes * np.sign(axes[np.arange(2), np.argmax(np.abs(axes), axis=1)])[:, None]
    return [(x - mean) @ axes.T for x in xs]
