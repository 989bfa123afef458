"""A multilayer perceptron with ReLU hidden layers, written out in NumPy, and Adam."""

import numpy as np

__all__ = ["MLP", "Adam"]


class MLP:
    """Fully connected ReLU network: sizes = [n_in, *hidden, n_out]; forward caches what backward needs."""

    def __init__(self, sizes, rng, dtype=np.float64):
        self.sizes = [int(s) for s in sizes]
        self.W, self.b = [], []
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            # He initialisation for ReLU layers
            self.W.append((rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(dtype))
            self.b.append(np.zeros(n_out, dtype=dtype))
        self._acts = None

    @property
    def params(self):
        return self.W + self.b

    @property
    def hidden(self):
        return self.sizes[1:-1]

    def n_params(self):
        return int(sum(p.size for p in self.params))

    def copy(self):
        new = MLP.__new__(MLP)
        new.sizes = list(self.sizes)
        new.W = [w.copy() for w in self.W]
        new.b = [b.copy() for b in self.b]
        new._acts = None
        return new

    def forward(self, x, keep=True):
        """x (B, n_in) -> logits (B, n_out); with keep=True the activations are kept for backward."""
        acts = [x]
        h = x
        last = len(self.W) - 1
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            h = h @ W + b  # (B, n_{i+1})
            if i < last:
                h = np.maximum(h, 0.0)
            acts.append(h)
        self._acts = acts if keep else None
        return h

    def activations(self, x):
        """Every layer's output for x: input, post-ReLU hidden layers, logits."""
        self.forward(x, keep=True)
        acts, self._acts = self._acts, None
        return acts

    def backward(self, dlogits):
        """Gradients of the loss w.r.t. W and b (same order as params), given dL/dlogits (B, n_out)."""
        acts = self._acts
        gW, gb = [None] * len(self.W), [None] * len(self.b)
        g = dlogits
        for i in range(len(self.W) - 1, -1, -1):
            gW[i] = acts[i].T @ g  # (n_i, n_{i+1})
            gb[i] = g.sum(axis=0)
            if i > 0:
                g = (g @ self.W[i].T) * (acts[i] > 0)  # through the ReLU of layer i
        return gW + gb


class Adam:
    """Adam (Kingma & Ba, 2015), updating a list of arrays in place."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params = params
        self.lr, (self.b1, self.b2), self.eps = lr, betas, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        """One update; the gradient arrays are used as scratch space (they are consumed)."""
        self.t += 1
        c1 = 1.0 - self.b1 ** self.t
        c2 = 1.0 - self.b2 ** self.t
        step = self.lr * np.sqrt(c2) / c1
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= self.b1
            m += (1.0 - self.b1) * g          # m = b1·m + (1 − b1)·g
            np.square(g, out=g)
            g *= 1.0 - self.b2
            v *= self.b2
            v += g                            # v = b2·v + (1 − b2)·g²
            np.sqrt(v, out=g)
            g += self.eps
            np.divide(m, g, out=g)
            g *= step
            p -= g                            # p -= lr·m̂ / (√v̂ + ε), bias corrections folded into step
