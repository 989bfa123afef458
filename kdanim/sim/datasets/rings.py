"""The default synthetic task: five classes with two families, drawn in 2-D and embedded in 64 features.

Animals (cat, dog, fox) are interleaved blobs on an inner ring, vehicles (car, truck)
interleaved blobs on an outer ring. Siblings overlap, families separate: the teacher's
soft labels carry which classes resemble which. The 2-D view is the latent position.
"""

import numpy as np

from .base import Examples, Source, register

__all__ = ["SOURCE", "latent_centres", "draw"]

CLASS_NAMES = ("cat", "dog", "fox", "car", "truck")
FAMILIES = ("animal", "animal", "animal", "vehicle", "vehicle")
ANIMALS, VEHICLES = (0, 1, 2), (3, 4)
RINGS = ((ANIMALS, 1.0, 4), (VEHICLES, 2.0, 5))  # (classes, radius, blobs per class)
BLOB_STD = 0.16
EMBED_NONLINEARITY = 0.5
FEATURE_NOISE = 0.1


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


def draw(config, rng):
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
    return Examples(embed(z_pool), y_pool, z_pool, embed(z_test), y_test, z_test)


SOURCE = register(Source(
    name="rings",
    title="five synthetic classes in two families",
    class_names=CLASS_NAMES,
    families=FAMILIES,
    draw=draw,
    view="hidden two-dimensional position",
    defaults=dict(n_features=64, n_classes=5, n_train=100, teacher_n_train=2000, n_test=1500),
))
