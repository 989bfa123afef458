import numpy as np

from kdanim.sim.losses import cross_entropy, kd_loss
from kdanim.sim.mlp import MLP, Adam


def test_shapes_and_param_counts():
    rng = np.random.default_rng(0)
    assert MLP([64, 228, 228, 228, 5], rng).n_params() == 120_389
    assert MLP([64, 114, 5], rng).n_params() == 7_985
    m = MLP([3, 4, 2], rng)
    assert m.forward(np.ones((7, 3))).shape == (7, 2)
    assert [a.shape for a in m.activations(np.ones((2, 3)))] == [(2, 3), (2, 4), (2, 2)]


def test_same_seed_same_weights_and_copy_is_independent():
    a = MLP([5, 6, 3], np.random.default_rng(42))
    b = MLP([5, 6, 3], np.random.default_rng(42))
    assert all(np.array_equal(p, q) for p, q in zip(a.params, b.params))
    c = a.copy()
    c.W[0] += 1.0
    assert not np.array_equal(a.W[0], c.W[0])


def test_mlp_gradient_matches_finite_differences_float64():
    rng = np.random.default_rng(1)
    model = MLP([4, 7, 6, 3], rng, dtype=np.float64)
    for b in model.b:  # non-zero biases so every path is exercised
        b[:] = rng.normal(size=b.shape) * 0.1
    x = rng.normal(size=(5, 4))
    zt = rng.normal(size=(5, 3))
    y = rng.integers(3, size=5)

    def loss():
        return kd_loss(model.forward(x), zt, y, 2.0, 0.5)[0]

    _, dlogits = kd_loss(model.forward(x), zt, y, 2.0, 0.5)
    grads = model.backward(dlogits)
    h = 1e-6
    for p, g in zip(model.params, grads):
        assert g.shape == p.shape
        num = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            lp = loss()
            p[idx] = old - h
            lm = loss()
            p[idx] = old
            num[idx] = (lp - lm) / (2 * h)
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8)


def test_adam_training_fits_a_small_problem():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(int)  # XOR-like: needs the hidden layer
    model = MLP([2, 32, 2], rng)
    opt = Adam(model.params, lr=0.02)
    before = cross_entropy(model.forward(x), y)
    for _ in range(300):
        _, g = kd_loss(model.forward(x), np.zeros((64, 2)), y, 1.0, 0.0)
        opt.step(model.backward(g))
    logits = model.forward(x)
    assert cross_entropy(logits, y) < 0.2 * before
    assert (logits.argmax(1) == y).mean() > 0.95
