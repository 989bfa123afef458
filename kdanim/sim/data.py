"""The split every run uses: the teacher's pool, the students' labelled subset of it, the test set.

The examples come from the dataset named by config.dataset (kdanim/sim/datasets).
"""

from dataclasses import dataclass

import numpy as np

from . import datasets

__all__ = ["Dataset", "make_dataset"]


@dataclass
class Dataset:
    """Teacher pool, the students' labelled subset and transfer set, the test set (probes are chosen in run.py)."""

    x_pool: np.ndarray    # (P, F) the teacher's training pool
    y_pool: np.ndarray    # (P,)
    z_pool: np.ndarray    # (P, 2) the dataset's 2-D view
    train_idx: np.ndarray # (n_train,) indices into the pool: the students' labelled examples
    transfer_idx: np.ndarray  # (n_transfer,) indices into the pool: inputs the students see without labels
    x_test: np.ndarray    # (T, F)
    y_test: np.ndarray    # (T,)
    z_test: np.ndarray    # (T, 2)
    img_pool: np.ndarray | None = None  # (P, H, W) in [0, 1] when the dataset has images
    img_test: np.ndarray | None = None  # (T, H, W)

    @property
    def x_train(self):
        return self.x_pool[self.train_idx]

    @property
    def y_train(self):
        return self.y_pool[self.train_idx]

    @property
    def x_transfer(self):
        return self.x_pool[self.transfer_idx]

def make_dataset(config, rng):
    """Draw config.dataset's pool and test set from one generator, and pick the students' labels."""
    ex = datasets.get(config.dataset).draw(config, rng)
    K = config.n_classes
    # the students' labels: the first n_train/K examples of each class in the pool
    per = config.n_train // K
    train_idx = np.sort(np.concatenate([np.flatnonzero(ex.y_pool == k)[:per] for k in range(K)]))
    # the transfer set: the first n_transfer of the other pool inputs, their labels unused by the students
    transfer_idx = np.setdiff1d(np.arange(len(ex.y_pool)), train_idx)[:config.n_transfer]
    return Dataset(x_pool=ex.x_pool, y_pool=ex.y_pool, z_pool=ex.z_pool, train_idx=train_idx,
                   transfer_idx=transfer_idx, x_test=ex.x_test, y_test=ex.y_test, z_test=ex.z_test,
                   img_pool=ex.img_pool, img_test=ex.img_test)
