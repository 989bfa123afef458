import numpy as np
import pytest

from kdanim.sim.losses import cross_entropy, kd_loss, kl_divergence, log_softmax, softmax


def numerical_grad(f, z, h=1e-6):
    g = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        old = z[idx]
        z[idx] = old + h
        fp = f(z)
        z[idx] = old - h
        fm = f(z)
        z[idx] = old
        g[idx] = (fp - fm) / (2 * h)
    return g


@pytest.mark.parametrize("tau", [0.05, 0.1, 0.5, 1.0, 3.0, 10.0, 100.0])
@pytest.mark.parametrize("scale", [1.0, 100.0, 1e4])
def test_softmax_finite_and_normalised(tau, scale):
    rng = np.random.default_rng(0)
    z = rng.uniform(-scale, scale, size=(50, 5))
    z[0] = [scale, -scale, scale, -scale, 0.0]
    z[1] = -scale
    p = softmax(z, tau)
    assert np.all(np.isfinite(p)) and np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    lp = log_softmax(z, tau)
    assert np.all(np.isfinite(lp))
    np.testing.assert_allclose(np.exp(lp), p, atol=1e-12)


def test_softmax_any_shape_and_temperature_flattens():
    z = np.array([[[2.0, 1.0, 0.0]]])
    assert softmax(z).shape == (1, 1, 3)
    assert softmax(z, 100.0).max() < softmax(z, 1.0).max()
    np.testing.assert_allclose(softmax(np.array([0.0, np.log(3.0)])), [0.25, 0.75])


def test_cross_entropy_value():
    z = np.array([[0.0, np.log(3.0)], [0.0, 0.0]])
    assert cross_entropy(z, np.array([1, 0])) == pytest.approx((-np.log(0.75) - np.log(0.5)) / 2)


def test_kl_nonnegative_and_zero_for_equal():
    rng = np.random.default_rng(1)
    for tau in (0.5, 1.0, 3.0, 20.0):
        a = rng.normal(size=(100, 5)) * 5
        b = rng.normal(size=(100, 5)) * 5
        assert kl_divergence(a, b, tau) > 0
        assert kl_divergence(a, a, tau) == 0.0
        assert kl_divergence(a, a + 7.0, tau) == pytest.approx(0.0, abs=1e-12)  # shift invariance
        per_row = [kl_divergence(a[i], b[i], tau) for i in range(100)]
        assert min(per_row) >= 0
    # extreme logits stay finite (computed from log-probabilities, no clipping)
    assert np.isfinite(kl_divergence(np.array([[1e4, -1e4, 0, 0, 0]]), np.array([[-1e4, 1e4, 0, 0, 0]]), 0.05))


def test_kd_loss_alpha_zero_is_cross_entropy():
    rng = np.random.default_rng(2)
    zs, zt, y = rng.normal(size=(8, 5)), rng.normal(size=(8, 5)), rng.integers(5, size=8)
    loss, grad = kd_loss(zs, zt, y, tau=3.0, alpha=0.0)
    assert loss == pytest.approx(cross_entropy(zs, y), rel=1e-12)
    onehot = np.eye(5)[y]
    np.testing.assert_allclose(grad, (softmax(zs) - onehot) / 8, atol=1e-14)


def test_kd_loss_alpha_one_is_tau_squared_kl():
    rng = np.random.default_rng(3)
    zs, zt, y = rng.normal(size=(8, 5)), rng.normal(size=(8, 5)), rng.integers(5, size=8)
    for tau in (1.0, 2.5, 4.0):
        loss, _ = kd_loss(zs, zt, y, tau=tau, alpha=1.0)
        assert loss == pytest.approx(tau**2 * kl_divergence(zt, zs, tau), rel=1e-12)
    # soft-only loss ignores the labels
    assert kd_loss(zs, zt, y, 3.0, 1.0)[0] == kd_loss(zs, zt, (y + 1) % 5, 3.0, 1.0)[0]


@pytest.mark.parametrize("tau,alpha", [(1.0, 0.0), (3.0, 0.5), (0.5, 0.3), (8.0, 1.0)])
def test_kd_loss_gradient_matches_finite_differences(tau, alpha):
    rng = np.random.default_rng(4)
    zs = rng.normal(size=(6, 5)) * 2
    zt = rng.normal(size=(6, 5)) * 3
    y = rng.integers(5, size=6)
    _, grad = kd_loss(zs, zt, y, tau, alpha)
    num = numerical_grad(lambda z: kd_loss(z, zt, y, tau, alpha)[0], zs.copy())
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-9)


def test_kd_loss_zero_soft_gradient_when_student_matches_teacher():
    zt = np.random.default_rng(5).normal(size=(4, 5))
    loss, grad = kd_loss(zt.copy(), zt, np.zeros(4, int), 3.0, 1.0)
    assert loss == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(grad, 0.0, atol=1e-15)


def test_kd_loss_with_unlabelled_rows():
    """Rows past len(labels) are transfer inputs: soft term only, hard term over the labelled rows alone."""
    rng = np.random.default_rng(6)
    zs, zt, y = rng.normal(size=(7, 5)) * 2, rng.normal(size=(7, 5)) * 3, rng.integers(5, size=3)
    tau, alpha = 3.0, 0.4
    loss, grad = kd_loss(zs, zt, y, tau, alpha)
    expected = (1 - alpha) * cross_entropy(zs[:3], y) + alpha * tau**2 * kl_divergence(zt, zs, tau)
    assert loss == pytest.approx(expected, rel=1e-12)
    num = numerical_grad(lambda z: kd_loss(z, zt, y, tau, alpha)[0], zs.copy())
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-9)
