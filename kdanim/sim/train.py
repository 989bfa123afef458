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

    An optional transfer set of unlabelled inputs (x_transfer) pairs `transfer_batch_size` of them,
    drawn afresh each epoch, with every labelled batch. Only the soft term can learn from an
    unlabelled input, so they enter the step only with a teacher and alpha > 0; the draw happens
    either way, so two trainers with the same rng see the same batches in the same order.

    Knows nothing of traces: observers register with add_callback("on_epoch_end", fn),
    and read trainer.epoch and trainer.stats (means over the epoch's batches).
    """

    def __init__(self, model, x, y, *, epochs, batch_size, learning_rate, rng,
                 teacher_logits=None, tau=1.0, alpha=0.0,
                 x_transfer=None, transfer_logits=None, transfer_batch_size=0):
        self.model, self.x, self.y = model, x, y
        self.epochs, self.batch_size, self.rng = epochs, batch_size, rng
        self.teacher_logits, self.tau, self.alpha = teacher_logits, tau, alpha
        self.x_transfer, self.transfer_logits = x_transfer, transfer_logits
        self.transfer_batch_size = transfer_batch_size if x_transfer is not None and len(x_transfer) else 0
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
        n, tb = len(self.y), self.transfer_batch_size
        use_transfer = tb > 0 and self.teacher_logits is not None and self.alpha > 0
        for epoch in range(1, self.epochs + 1):
            order = self.rng.permutation(n)
            transfer = self.rng.permutation(len(self.x_transfer)) if tb else None
            sums, batches = defaultdict(float), 0
            for start in range(0, n, self.batch_size):
                idx = order[start:start + self.batch_size]
                if self.teacher_logits is None:
                    out = self._hard_step(self.x[idx], self.y[idx])
                elif use_transfer:  # the labelled rows first, then the unlabelled ones
                    u = np.take(transfer, range(batches * tb, (batches + 1) * tb), mode="wrap")
                    out = self._kd_step(np.concatenate([self.x[idx], self.x_transfer[u]]), self.y[idx],
                                        np.concatenate([self.teacher_logits[idx], self.transfer_logits[u]]))
                else:
                    out = self._kd_step(self.x[idx], self.y[idx], self.teacher_logits[idx])
                for k, v in out.items():
                    sums[k] += v
                batches += 1
            self.epoch = epoch
            self.stats = {k: v / batches for k, v in sums.items()}
            self._fire("on_epoch_end")
        return self.model
