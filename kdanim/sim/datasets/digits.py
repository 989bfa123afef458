"""Handwritten digits: the 1,797 8×8 images that ship inside scikit-learn (nothing is downloaded).

Features are the 64 grey levels scaled to [0, 1]; the image of an example is its features
as 8×8. The 2-D view is a PCA of the pool, computed in NumPy. The test set is drawn at
random from the 1,797 images; the rest is the teacher's pool.
"""

import numpy as np

from ..errors import ConfigError
from .base import Examples, Source, pca_2d, register

__all__ = ["SOURCE", "load_images", "check", "draw"]

N_IMAGES = 1797
INSTALL = "pip install 'kdanim[digits]' (or pip install scikit-learn)"


def load_images():
    """(images (N, 8, 8) in [0, 1], labels (N,)) from sklearn.datasets.load_digits."""
    SOURCE.check_available()
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0), d.target.astype(np.int64)


def check(config):
    """ConfigError unless the pool and the test set fit in the images there are."""
    if config.teacher_n_train + config.n_test > N_IMAGES:
        raise ConfigError("--n-test", f"the digits dataset has {N_IMAGES} images: teacher_n_train "
                          f"{config.teacher_n_train} + n_test {config.n_test} is too many")


def draw(config, rng):
    images, labels = load_images()
    order = rng.permutation(len(labels))
    test, pool = order[:config.n_test], order[config.n_test:config.n_test + config.teacher_n_train]
    x = images.reshape(len(labels), -1)
    z_pool, z_test = pca_2d(x[pool], x[pool], x[test])
    return Examples(x[pool], labels[pool], z_pool, x[test], labels[test], z_test,
                    img_pool=images[pool], img_test=images[test])


SOURCE = register(Source(
    name="digits",
    title="handwritten digits, 8×8 pixels",
    class_names=tuple(str(d) for d in range(10)),
    draw=draw,
    image_shape=(8, 8),
    view="first two principal components",
    requires="sklearn",
    install=INSTALL,
    check=check,
    defaults=dict(n_features=64, n_classes=10, n_train=100, teacher_n_train=1297, n_test=500),
))
