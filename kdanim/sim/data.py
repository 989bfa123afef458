"""A seeded synthetic 5-class task with two super-classes, drawn in 2-D and embedded in F features."""

from dataclasses import dataclass

import numpy as np

__all__ = ["Dataset", "make_dataset", "latent_centres"]

# Latent layout: animals (cat, dog, fox) as interleaved blobs on an inner ring,
# vehicles (car, truck) as interleaved blobs on an outer ring. Siblings overlap,
# super-classes separate: the teacher's soft labels carry which classes resemble which.
ANIMALS, VEHICLES = (0, 1, 2), (3, 4)
RINGS = ((ANIMALS, 1.0, 4), (VEHICLES, 2.0, 5))  # (classes, radius, blobs per class)
BLOB_STD = 0.16
EMBED_NONLINEARITY = 0.5
FEATURE_NOISE = 0.1


@dataclass
class Dataset:
    """Teacher pool, the students' labelled subset and transfer set, the test set (probes are chosen in run.py)."""

    x_pool: np.ndarray    # (P, F) the teacher's training pool
    y_pool: np.ndarray    # (P,)
    z_pool: np.ndarray    # (P, 2) latent 2-D positions
    train_idx: np.ndarray # (n_train,) indices into the pool: the students' labelled examples
    transfer_idx: np.ndarray  # (n_transfer,) indices into the pool: inputs the students see without labels
    x_test: np.ndarray    # (T, F)
    y_test: np.ndarray    # (T,)
    z_test: np.ndarray    # (T, 2)

    @property
    def x_train(self):
        return self.x_pool[self.train_idx]

    @property
    def y_train(self):
        return self.y_pool[self.train_idx]

    @property
    def x_transfer(self):
        return self.x_pool[self.transfer_idx]


def latent_centres():
    """List of (class, centre (2,)) for every blob of the layout."""
    centres = []
    for classes, radius, per_class in RINGS:
        n = len(classes) * per_class
        offset = np.pi / n if radius > 1.5 else 0.0
        for j in range(n):
            angle = 2 * np.pi * j / n + offset
            centres.append((classes[j % len(classes)], radius * np.array([np.cos(angle), np.sin(angle)])))
    return centres


def _sample_latent(rng, counts):
    """counts[k] latent points of class k, each from a random blob of that class."""
    centres = latent_centres()
    z, y = [], []
    for k, n in enumerate(counts):
        mine = np.array([c for cls, c in centres if cls == k])  # (M, 2)
        pick = rng.integers(len(mine), size=n)
        z.append(mine[pick] + BLOB_STD * rng.standard_normal((n, 2)))
        y.append(np.full(n, k))
    z, y = np.concatenate(z), np.concatenate(y)
    order = rng.permutation(len(y))
    return z[order], y[order]


def make_dataset(config, rng):
    """Draw the whole task from one generator: embedding, pool, test set."""
    K, F = config.n_classes, config.n_features
    # fixed random embedding 2 -> F: linear map plus a small nonlinearity
    A = rng.standard_normal((2, F)) / np.sqrt(2)
    B = rng.standard_normal((2, F)) * 1.5
    c = rng.uniform(-np.pi, np.pi, size=F)

    def embed(z):
        x = z @ A + EMBED_NONLINEARITY * np.sin(z @ B + c)
        return x + FEATURE_NOISE * rng.standard_normal(x.shape)

    def counts(n):
        return [n // K + (1 if k < n % K else 0) for k in range(K)]

    z_pool, y_pool = _sample_latent(rng, counts(config.teacher_n_train))
    z_test, y_test = _sample_latent(rng, counts(config.n_test))
    x_pool, x_test = embed(z_pool), embed(z_test)

    # the students' labels: the first n_train/K examples of each class in the pool
    per = config.n_train // K
    train_idx = np.sort(np.concatenate([np.flatnonzero(y_pool == k)[:per] for k in range(K)]))
    # the transfer set: the first n_transfer of the other pool inputs, their labels unused by the students
    transfer_idx = np.setdiff1d(np.arange(len(y_pool)), train_idx)[:config.n_transfer]
    return Dataset(x_pool, y_pool, z_pool, train_idx, transfer_idx, x_test, y_test, z_test)
