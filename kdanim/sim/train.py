"""The training loop: mini-batch Adam on hard labels, or distillation from a frozen teacher's logits."""

from collections import defaultdict

import numpy as np

from .losses import kd_terms, log_softmax
from .mlp import Adam

__all__ = ["Trainer", "accuracy"]


def accuracy(logits, labels):
    """Top-1 accuracy of logits (B, K) against labels (B,)."""
    return float((np.argmax(logits, axis=-1) == labels).mean())


class Trainer:
    """Trains `model` on (x, y); with teacher_logits it minimises the distillation loss at (tau, alpha).

    Knows nothing of traces: observers register with add_callback("on_epoch_end", fn),
    and read trainer.epoch and trainer.stats (means over the epoch's batches).
    """

    def __init__(self, model, x, y, *, epochs, batch_size, learning_rate, rng,
                 teacher_logits=None, tau=1.0, alpha=0.0):
        self.model, self.x, self.y = model, x, y
        self.epochs, self.batch_size, self.rng = epochs, batch_size, rng
        self.teacher_logits, self.tau, self.alpha = teacher_logits, tau, alpha
        self.optimizer = Adam(model.params, lr=learning_rate)
        self.callbacks = defaultdict(list)
        self.epoch, self.stats = 0, {}

    def add_callback(self, event, fn):
        self.callbacks[event].append(fn)

    def _fire(self, event):
        for fn in self.callbacks[event]:
            fn(self)

    def _hard_step(self, xb, yb):
        logits = self.model.forward(xb)  # (B, K)
        B = len(yb)
        logp = log_softmax(logits)
        loss = -logp[np.arange(B), yb].mean()
        grad = np.exp(logp)
        grad[np.arange(B), yb] -= 1.0
        self.optimizer.step(self.model.backward(grad / B))
        return {"loss": float(loss)}

    def _kd_step(self, xb, yb, tb):
        logits = self.model.forward(xb)
        hard, soft, grad = kd_terms(logits, tb, yb, self.tau, self.alpha)
        self.optimizer.step(self.model.backward(grad))
        combined = (1.0 - self.alpha) * hard + self.alpha * self.tau ** 2 * soft
        return {"hard_loss": hard, "soft_loss": soft, "combined_loss": combined}

    def run(self):
        n = len(self.y)
        for epoch in range(1, self.epochs + 1):
            order = self.rng.permutation(n)
            sums, batches = defaultdict(float), 0
            for start in range(0, n, self.batch_size):
                idx = order[start:start + self.batch_size]
                if self.teacher_logits is None:
                    out = self._hard_step(self.x[idx], self.y[idx])
                else:
                    out = self._kd_step(self.x[idx], self.y[idx], self.teacher_logits[idx])
                for k, v in out.items():
                    sums[k] += v
                batches += 1
            self.epoch = epoch
            self.stats = {k: v / batches for k, v in sums.items()}
            self._fire("on_epoch_end")
        return self.model
