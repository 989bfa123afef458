"""Datasets the simulator can learn from. To add one: a module here that registers a `Source`, imported below."""

from .base import DATASETS, DatasetUnavailable, Examples, Source, get, names, pca_2d, register
from . import rings  # noqa: E402,F401  (registers "rings", the default)
from . import digits  # noqa: E402,F401  (registers "digits")

DEFAULT = "rings"

__all__ = ["DATASETS", "DEFAULT", "DatasetUnavailable", "Examples", "Source", "get", "names", "pca_2d", "register"]
