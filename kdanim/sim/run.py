"""simulate(config): train teacher, scratch student and distilled student, and return the trace."""

import time

import numpy as np

from .. import __version__
from ..trace import SCHEMA, canonical
from ._blas import blas_threads
from .config import CLASS_NAMES, SUPERCLASSES, SimConfig
from .data import make_dataset
from .losses import kl_divergence, softmax
from .mlp import MLP
from .train import Trainer, accuracy

__all__ = ["simulate", "measure_latency_us", "LATENCY_REPEATS", "SAMPLE_2D"]

LATENCY_REPEATS = 7
SAMPLE_2D = 400
MAX_GROUPS = 8
DTYPE = np.float32  # training precision; gradients are checked in float64 in the tests


def measure_latency_us(model, x, repeats=LATENCY_REPEATS):
    """Median over `repeats` batched forward passes over x, in microseconds per sample."""
    model.forward(x, keep=False)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.forward(x, keep=False)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) / len(x) * 1e6)


def _groups(width):
    """Group index of every unit of a layer of `width` units: floor(j·G/n), G = min(n, 8)."""
    G = min(width, MAX_GROUPS)
    return G, (np.arange(width) * G) // width


def _group_mean(values, width):
    """Mean of values (..., width) over each display group -> (..., G)."""
    G, g = _groups(width)
    return np.stack([values[..., g == a].mean(axis=-1) for a in range(G)], axis=-1)


def _network(model, x_probe, initial_probe_probs=None):
    """What the node diagrams need: layer widths, grouped weights and one probe's grouped activations."""
    sizes = model.sizes
    weights = []
    for W, n_in, n_out in zip(model.W, sizes[:-1], sizes[1:]):
        rows = _group_mean(W.T, n_in)           # (n_out, G_in)
        weights.append(_group_mean(rows.T, n_out).tolist())  # (G_in, G_out)
    acts = model.activations(x_probe)       # L arrays (K, width)
    acts[-1] = softmax(acts[-1])            # output layer shown as probabilities at τ = 1
    grouped = [_group_mean(a, a.shape[1]) for a in acts]  # L arrays (K, G_l)
    net = {
        "layers": list(sizes),
        "params": model.n_params(),
        "groups": [min(s, MAX_GROUPS) for s in sizes],
        "weights": weights,
        "weight_scale": [float(np.abs(W).mean()) for W in model.W],
        "activations": [[grouped[l][p].tolist() for l in range(len(sizes))] for p in range(len(x_probe))],
    }
    if initial_probe_probs is not None:
        net["initial_probe_probs"] = initial_probe_probs
    return net


def simulate(config=None, *, measure_latency=True, on_epoch=None):
    """Train the teacher, the scratch student and the distilled student; return the trace dict.

    on_epoch(model_name, epoch, epochs), if given, is called after every epoch of every model
    (model_name is "teacher", "scratch" or "distilled"). Runs with one BLAS thread.
    """
    with blas_threads(1):
        return _simulate(config, measure_latency, on_epoch)


#: The teacher's confidence in the probes it shows: like the page's [0.80, 0.12, 0.05, …].
PROBE_CONFIDENCE = 0.8


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


def _simulate(config, measure_latency, on_epoch):
    cfg = config if config is not None else SimConfig()
    cfg.validate()
    # independent streams: data, teacher init, teacher batch order, student init, student batch order
    s_data, s_tinit, s_torder, s_sinit, s_sorder = np.random.SeedSequence(cfg.seed).spawn(5)
    data = make_dataset(cfg, np.random.default_rng(s_data))
    x_pool, x_test = data.x_pool.astype(DTYPE), data.x_test.astype(DTYPE)
    x_train, y_train, y_test = x_pool[data.train_idx], data.y_train, data.y_test
    K, F = cfg.n_classes, cfg.n_features

    def progress(name, epochs):
        return lambda tr: on_epoch(name, tr.epoch, epochs) if on_epoch else None

    # 1. the teacher learns from the larger pool, on hard labels
    teacher = MLP([F, *cfg.teacher_hidden, K], np.random.default_rng(s_tinit), dtype=DTYPE)
    teacher_curve = []
    tt = Trainer(teacher, x_pool, data.y_pool, epochs=cfg.teacher_epochs, batch_size=cfg.teacher_batch_size,
                 learning_rate=cfg.learning_rate, rng=np.random.default_rng(s_torder))
    tt.add_callback("on_epoch_end", lambda tr: teacher_curve.append({
        "epoch": tr.epoch, "loss": tr.stats["loss"],
        "test_accuracy": accuracy(tr.model.forward(x_test, keep=False), y_test)}))
    tt.add_callback("on_epoch_end", progress("teacher", cfg.teacher_epochs))
    tt.run()
    # the teacher is frozen from here on: only its logits are used
    t_train = teacher.forward(x_train, keep=False)  # (n_train, K)
    t_test = teacher.forward(x_test, keep=False)    # (T, K)
    probe_idx = choose_probes(t_test, y_test, K)
    x_probe = x_test[probe_idx]
    t_probe = teacher.forward(x_probe, keep=False)  # (K, K)
    t_pred = np.argmax(t_test, axis=-1)

    # 2. both students start from the same weights and see the same batches in the same order
    student0 = MLP([F, *cfg.student_hidden, K], np.random.default_rng(s_sinit), dtype=DTYPE)
    initial_probs = softmax(student0.forward(x_probe, keep=False)).tolist()
    scratch, distilled = student0.copy(), student0.copy()

    scratch_log = []
    st = Trainer(scratch, x_train, y_train, epochs=cfg.epochs, batch_size=cfg.batch_size,
                 learning_rate=cfg.learning_rate, rng=np.random.default_rng(s_sorder))
    st.add_callback("on_epoch_end", lambda tr: scratch_log.append({
        "scratch_loss": tr.stats["loss"],
        "scratch_test_accuracy": accuracy(tr.model.forward(x_test, keep=False), y_test)}))
    st.add_callback("on_epoch_end", progress("scratch", cfg.epochs))
    st.run()

    distilled_log = []

    def record(tr):
        z_test = tr.model.forward(x_test, keep=False)
        z_probe = tr.model.forward(x_probe, keep=False)
        distilled_log.append({
            "epoch": tr.epoch,
            **tr.stats,
            "kl": kl_divergence(t_test, z_test, cfg.tau),
            "train_accuracy": accuracy(tr.model.forward(x_train, keep=False), y_train),
            "test_accuracy": accuracy(z_test, y_test),
            "probe_probs": softmax(z_probe).tolist(),
            "probe_probs_tau": softmax(z_probe, cfg.tau).tolist(),
        })

    dt = Trainer(distilled, x_train, y_train, epochs=cfg.epochs, batch_size=cfg.batch_size,
                 learning_rate=cfg.learning_rate, rng=np.random.default_rng(s_sorder),
                 teacher_logits=t_train, tau=cfg.tau, alpha=cfg.alpha)
    dt.add_callback("on_epoch_end", record)
    dt.add_callback("on_epoch_end", progress("distilled", cfg.epochs))
    dt.run()
    epochs = [{**d, **s} for d, s in zip(distilled_log, scratch_log)]

    # 3. final figures, read at τ = 1
    models = {"teacher": teacher, "scratch": scratch, "distilled": distilled}
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
        if name != "teacher":  # KL(teacher ‖ student) at τ for each probe, for the prediction chapter
            z_probe = model.forward(x_probe, keep=False)
            summary[name]["probe_kl"] = [kl_divergence(t_probe[i], z_probe[i], cfg.tau) for i in range(K)]

    sample = np.arange(min(SAMPLE_2D, len(data.y_pool)))
    # plain Python types, floats at 6 significant digits: the same values a saved file holds
    return canonical({
        "schema": SCHEMA,
        "version": __version__,
        "seed": cfg.seed,
        "config": cfg.to_dict(),
        "classes": {"names": list(CLASS_NAMES), "superclass": list(SUPERCLASSES)},
        "data": {
            "sample_2d": data.z_pool[sample].tolist(),
            "sample_labels": data.y_pool[sample].tolist(),
            "probe_2d": data.z_test[probe_idx].tolist(),
            "train_2d": data.z_pool[data.train_idx].tolist(),  # the students' labelled examples
            "train_labels": data.y_train.tolist(),
        },
        "probes": {
            "labels": data.y_test[probe_idx].tolist(),
            "teacher_logits": t_probe.tolist(),
            "teacher_probs": softmax(t_probe).tolist(),
            "teacher_probs_tau": softmax(t_probe, cfg.tau).tolist(),
        },
        "teacher_curve": teacher_curve,
        "epochs": epochs,
        "networks": {
            "teacher": _network(teacher, x_probe),
            "scratch": _network(scratch, x_probe, initial_probs),
            "distilled": _network(distilled, x_probe, initial_probs),
        },
        "summary": summary,
        "measured": {"latency_repeats": LATENCY_REPEATS if measure_latency else 0},
    })
