"""simulate(config): train the teacher, then the scratch and the distilled student, and record what happened.

The result is plain data (SimResult): the trained models, the data set, and the records
the epoch callbacks wrote. Turning it into a trace file is kdanim.trace's job.
"""

import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from .config import SimConfig
from .data import Dataset, make_dataset
from .losses import kl_divergence, softmax
from .mlp import MLP
from .train import Trainer, accuracy

__all__ = ["simulate", "SimResult", "choose_probes", "measure_latency_us", "LATENCY_REPEATS"]

LATENCY_REPEATS = 7
DTYPE = np.float32  # training precision; gradients are checked in float64 in the tests
#: The teacher's confidence in the probes it shows: like the page's [0.80, 0.12, 0.05, …].
PROBE_CONFIDENCE = 0.8


@dataclass
class SimResult:
    """Everything one run produced, as plain arrays, models and per-epoch records."""

    config: SimConfig
    data: Dataset
    probe_idx: np.ndarray         # (K,) indices into the test set: one probe per class
    teacher: MLP
    scratch: MLP
    distilled: MLP
    initial_probe_probs: list     # (K, K) the students' shared starting point, on the probes at τ = 1
    teacher_curve: list           # per teacher epoch: {epoch, loss, test_accuracy}
    epochs: list                  # per student epoch: the distilled student's record and the scratch one's
    summary: dict                 # per model: params, hidden, layers, test_accuracy, agreement, latency_us[, probe_kl]
    latency_repeats: int          # 0 when latency was not measured

    @property
    def x_probe(self):
        return self.data.x_test[self.probe_idx].astype(DTYPE)


def simulate(config=None, *, measure_latency=True, on_epoch=None):
    """Train the teacher, the scratch student and the distilled student; return a SimResult.

    on_epoch(model_name, epoch, epochs), if given, is called after every epoch of every model
    (model_name is "teacher", "scratch" or "distilled"). Runs with one BLAS thread: the matrices
    are small, and extra threads only spin-wait.
    """
    cfg = config if config is not None else SimConfig()
    cfg.validate()
    with threadpool_limits(limits=1, user_api="blas"):
        return _simulate(cfg, measure_latency, on_epoch)


def _simulate(cfg, measure_latency, on_epoch):
    # independent streams: data, teacher init, teacher batch order, student init, student batch order
    s_data, s_tinit, s_torder, s_sinit, s_sorder = np.random.SeedSequence(cfg.seed).spawn(5)
    data = make_dataset(cfg, np.random.default_rng(s_data))
    x_test = data.x_test.astype(DTYPE)

    teacher, teacher_curve = train_teacher(cfg, data, s_tinit, s_torder, on_epoch)
    probe_idx = choose_probes(teacher.forward(x_test, keep=False), data.y_test, cfg.n_classes)
    students = train_students(cfg, data, teacher, x_test[probe_idx], s_sinit, s_sorder, on_epoch)
    scratch, distilled, initial_probe_probs, epochs = students

    models = {"teacher": teacher, "scratch": scratch, "distilled": distilled}
    summary = summarise(cfg, models, x_test, data.y_test, x_test[probe_idx], measure_latency)
    return SimResult(cfg, data, probe_idx, teacher, scratch, distilled, initial_probe_probs,
                     teacher_curve, epochs, summary, LATENCY_REPEATS if measure_latency else 0)


# ----------------------------------------------------------------------------- 1. the teacher

def train_teacher(cfg, data, s_init, s_order, on_epoch):
    """The teacher learns from the larger labelled pool, on hard labels; returns (teacher, curve)."""
    x_pool, x_test = data.x_pool.astype(DTYPE), data.x_test.astype(DTYPE)
    teacher = MLP([cfg.n_features, *cfg.teacher_hidden, cfg.n_classes], np.random.default_rng(s_init), dtype=DTYPE)
    trainer = Trainer(teacher, x_pool, data.y_pool, epochs=cfg.teacher_epochs, batch_size=cfg.teacher_batch_size,
                      learning_rate=cfg.learning_rate, rng=np.random.default_rng(s_order))
    curve = []
    trainer.add_callback("on_epoch_end", record_teacher(curve, x_test, data.y_test))
    trainer.add_callback("on_epoch_end", report("teacher", cfg.teacher_epochs, on_epoch))
    trainer.run()
    return teacher, curve


def choose_probes(teacher_logits, labels, n_classes):
    """Probe k: the test example of class k the teacher gets right with confidence nearest 0.8.

    A typical, instructive example: not one so easy the teacher is certain (whose
    soft label carries no dark knowledge), and not one the teacher gets wrong.
    """
    p = softmax(teacher_logits)  # (T, K) at τ = 1
    pred = np.argmax(teacher_logits, axis=-1)
    idx = []
    for k in range(n_classes):
        mine = np.flatnonzero((labels == k) & (pred == k))
        if len(mine) == 0:  # the teacher never gets class k right: show its best attempt
            mine = np.flatnonzero(labels == k)
        idx.append(mine[np.argmin(np.abs(p[mine, k] - PROBE_CONFIDENCE))])
    return np.array(idx)


# ----------------------------------------------------------------------------- 2. the students

def train_students(cfg, data, teacher, x_probe, s_init, s_order, on_epoch):
    """Scratch and distilled students from the same weights, on the same batches in the same order.

    Each batch holds labelled examples and unlabelled transfer inputs. The scratch student learns
    from the labels it has; the distilled student from those labels and from the teacher's soft
    labels on every input of the batch. The teacher is frozen: only its logits are used.
    Returns (scratch, distilled, initial probe probabilities, per-epoch records).
    """
    x_train, y_train = data.x_train.astype(DTYPE), data.y_train
    x_test, y_test = data.x_test.astype(DTYPE), data.y_test
    x_transfer = data.x_transfer.astype(DTYPE)
    student0 = MLP([cfg.n_features, *cfg.student_hidden, cfg.n_classes], np.random.default_rng(s_init), dtype=DTYPE)
    initial_probe_probs = softmax(student0.forward(x_probe, keep=False)).tolist()
    scratch, distilled = student0.copy(), student0.copy()
    common = dict(epochs=cfg.epochs, batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
                  x_transfer=x_transfer, transfer_batch_size=cfg.transfer_batch_size)

    scratch_log = []
    trainer = Trainer(scratch, x_train, y_train, rng=np.random.default_rng(s_order), **common)
    trainer.add_callback("on_epoch_end", record_scratch(scratch_log, x_test, y_test))
    trainer.add_callback("on_epoch_end", report("scratch", cfg.epochs, on_epoch))
    trainer.run()

    distilled_log = []
    t_test, t_train = teacher.forward(x_test, keep=False), teacher.forward(x_train, keep=False)
    trainer = Trainer(distilled, x_train, y_train, rng=np.random.default_rng(s_order), **common,
                      teacher_logits=t_train, transfer_logits=teacher.forward(x_transfer, keep=False),
                      tau=cfg.tau, alpha=cfg.alpha)
    trainer.add_callback("on_epoch_end", record_distilled(distilled_log, cfg.tau, t_test, x_test, y_test,
                                                          x_train, y_train, x_probe))
    trainer.add_callback("on_epoch_end", report("distilled", cfg.epochs, on_epoch))
    trainer.run()
    epochs = [{**d, **s} for d, s in zip(distilled_log, scratch_log)]
    return scratch, distilled, initial_probe_probs, epochs


# ----------------------------------------------------------------------------- 3. recording

def report(name, epochs, on_epoch):
    """Callback: tell on_epoch(name, epoch, epochs) that an epoch ended."""
    return lambda tr: on_epoch(name, tr.epoch, epochs) if on_epoch else None


def record_teacher(log, x_test, y_test):
    """Callback: the teacher's loss and test accuracy after each epoch."""
    return lambda tr: log.append({
        "epoch": tr.epoch, "loss": tr.stats["loss"],
        "test_accuracy": accuracy(tr.model.forward(x_test, keep=False), y_test)})


def record_scratch(log, x_test, y_test):
    """Callback: the scratch student's loss and test accuracy after each epoch."""
    return lambda tr: log.append({
        "scratch_loss": tr.stats["loss"],
        "scratch_test_accuracy": accuracy(tr.model.forward(x_test, keep=False), y_test)})


def record_distilled(log, tau, t_test, x_test, y_test, x_train, y_train, x_probe):
    """Callback: the distilled student's losses, KL to the teacher, accuracies and probe beliefs per epoch."""
    def record(tr):
        z_test = tr.model.forward(x_test, keep=False)
        z_probe = tr.model.forward(x_probe, keep=False)
        log.append({
            "epoch": tr.epoch,
            **tr.stats,
            "kl": kl_divergence(t_test, z_test, tau),
            "train_accuracy": accuracy(tr.model.forward(x_train, keep=False), y_train),
            "test_accuracy": accuracy(z_test, y_test),
            "probe_probs": softmax(z_probe).tolist(),
            "probe_probs_tau": softmax(z_probe, tau).tolist(),
        })
    return record


def summarise(cfg, models, x_test, y_test, x_probe, measure_latency):
    """Final figures per model, read at τ = 1; KL to the teacher on each probe at τ for the students."""
    t_pred = np.argmax(models["teacher"].forward(x_test, keep=False), axis=-1)
    t_probe = models["teacher"].forward(x_probe, keep=False)
    summary = {}
    for name, model in models.items():
        pred = np.argmax(model.forward(x_test, keep=False), axis=-1)
        summary[name] = {
            "params": model.n_params(),
            "hidden": list(model.hidden),
            "layers": len(model.hidden),
            "test_accuracy": float((pred == y_test).mean()),
            "agreement": float((pred == t_pred).mean()),
            "latency_us": measure_latency_us(model, x_test) if measure_latency else 0.0,
        }
        if name != "teacher":
            z_probe = model.forward(x_probe, keep=False)
            summary[name]["probe_kl"] = [kl_divergence(t, z, cfg.tau) for t, z in zip(t_probe, z_probe)]
    return summary


def measure_latency_us(model, x, repeats=LATENCY_REPEATS):
    """Median over `repeats` batched forward passes over x, in microseconds per sample."""
    model.forward(x, keep=False)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.forward(x, keep=False)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) / len(x) * 1e6)
