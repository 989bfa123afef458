"""Softmax with temperature, cross-entropy, KL divergence and the distillation loss."""

import numpy as np

__all__ = ["softmax", "log_softmax", "cross_entropy", "kl_divergence", "kd_terms", "kd_loss"]


def log_softmax(logits, tau=1.0):
    """log softmax(logits / tau) over the last axis, via a max-subtracted log-sum-exp."""
    z = np.asarray(logits) / tau
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def softmax(logits, tau=1.0):
    """softmax(logits / tau) over the last axis; finite for any finite logits and tau > 0."""
    z = np.asarray(logits) / tau
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy(logits, labels):
    """Mean CE(y, softmax(logits)) over the batch; logits (B, K), labels (B,) ints."""
    logp = log_softmax(logits)
    labels = np.asarray(labels)
    return float(-logp[np.arange(len(labels)), labels].mean())


def kl_divergence(p_logits_teacher, q_logits_student, tau=1.0):
    """KL(softmax(z_t/tau) || softmax(z_s/tau)) from log-probabilities, mean over leading axes."""
    logp = log_softmax(p_logits_teacher, tau)
    logq = log_softmax(q_logits_student, tau)
    kl = (np.exp(logp) * (logp - logq)).sum(axis=-1)  # (B,)
    return float(np.mean(kl))


def kd_terms(student_logits, teacher_logits, labels, tau, alpha):
    """The parts of the distillation loss: (hard CE, soft KL without tau², grad of the combined loss).

    The first len(labels) rows are labelled; any further rows are unlabelled transfer inputs, which
    enter the soft term only. The hard term is the mean over the labelled rows, the soft one over all.
    """
    zs = np.asarray(student_logits)
    B = zs.shape[0]
    labels = np.asarray(labels)
    rows = np.arange(len(labels))
    # hard term: CE(y, softmax(z_s)) over the labelled rows, d/dz_s = (p_s - onehot) / B_labelled
    logp1 = log_softmax(zs[:len(labels)])
    hard = float(-logp1[rows, labels].mean())
    g_hard = np.exp(logp1)
    g_hard[rows, labels] -= 1.0
    # soft term: KL(p_t^tau || p_s^tau) over all rows, d/dz_s = (p_s^tau - p_t^tau) / (tau B)
    logpt = log_softmax(teacher_logits, tau)
    logps = log_softmax(zs, tau)
    pt = np.exp(logpt)
    soft = float((pt * (logpt - logps)).sum(axis=-1).mean())
    grad = alpha * tau * (np.exp(logps) - pt) / B  # (B, K)
    grad[:len(labels)] += (1.0 - alpha) * g_hard / len(labels)
    return hard, soft, grad


def kd_loss(student_logits, teacher_logits, labels, tau, alpha):
    """L = (1-α)·CE(y, softmax(z_s)) + α·τ²·KL(softmax(z_t/τ) ‖ softmax(z_s/τ)), batch mean; returns (L, dL/dz_s)."""
    hard, soft, grad = kd_terms(student_logits, teacher_logits, labels, tau, alpha)
    return (1.0 - alpha) * hard + alpha * tau * tau * soft, grad
