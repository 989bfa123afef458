"""The trace file `kdanim.trace/3`: assembly from a simulation, canonical JSON, validation, atomic save,
content hash (see docs/TRACE.md), and the trace cache. `simulate_trace(config)` is the one way to get a
trace from parameters; `cached_trace(config)` the one way through the cache.
"""

import dataclasses
import hashlib
import json
import math
import os
from pathlib import Path

import numpy as np

from . import __version__
from .files import ROOT, atomic_write, cache_dir, source_hash
from .sim import datasets, simulate
from .sim.losses import softmax

__all__ = ["SCHEMA", "TraceError", "MODELS", "MODEL_LABELS", "simulate_trace", "cached_trace", "config_key", "build_trace", "validate", "load", "loads", "dumps", "save",
           "content_hash", "canonical", "MAX_GROUPS", "SAMPLE_2D",
           "require_number", "require_int", "is_number", "is_int"]

SCHEMA = "kdanim.trace/3"  # /2: config.n_transfer, transfer_batch_size; /3: the dataset
SIGNIFICANT_DIGITS = 6
PROB_TOLERANCE = 1e-3   # rows are stored rounded to 6 significant digits
KL_TOLERANCE = 1e-6     # KL is >= 0 up to float rounding
MODELS = ("teacher", "scratch", "distilled")
#: How each model is named in tables, pages and the summary.
MODEL_LABELS = {"teacher": "Teacher", "scratch": "Student (scratch)", "distilled": "Student (distilled)"}
MAX_GROUPS = 8           # a layer of n units is drawn as min(n, MAX_GROUPS) nodes
SAMPLE_2D = 400         # at most this many pool points in data.sample_2d
GALLERY_PER_CLASS = 6   # images per class of the students' labelled examples in data.gallery


class TraceError(ValueError):
    """A trace that does not follow docs/TRACE.md; the message names the field."""


# ----------------------------------------------------------------------------- assembly

def simulate_trace(config=None, *, measure_latency=True, on_epoch=None):
    """Run the simulation for config (default: SimConfig()) and return its trace (see kdanim.sim.simulate)."""
    return build_trace(simulate(config, measure_latency=measure_latency, on_epoch=on_epoch))


def config_key(config) -> str:
    """A short hash of a simulation config and of the code that runs it (the trace cache key).

    The simulation code is part of the key: a trace cached by an older simulator
    is never shown as if the current one had made it.
    """
    data = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
    code = source_hash(ROOT / "kdanim" / "sim", Path(__file__))
    blob = json.dumps({"v": __version__, "sim": code, "config": data}, sort_keys=True, default=list)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cached_trace(config, on_simulate=None) -> dict:
    """The trace of ``config``: from the trace cache, or simulated now and filed there.

    The one home of the trace cache (``traces/`` under :func:`kdanim.files.cache_dir`), used by
    `kdanim render` and by plain `manim render`. A damaged entry is simulated again.
    ``on_simulate()`` is called before a simulation starts (progress output).
    """
    path = cache_dir() / "traces" / f"{config_key(config)}.json"
    if path.exists():
        try:
            return load(path)
        except TraceError:
            pass  # a damaged entry: simulate again
    path.parent.mkdir(parents=True, exist_ok=True)  # an unusable cache fails before the simulation
    if on_simulate is not None:
        on_simulate()
    trace = simulate_trace(config)
    save(trace, path)
    return trace


def build_trace(result):
    """The trace dict of a kdanim.sim.SimResult: plain Python types, floats at 6 significant digits."""
    cfg, data, probe_idx = result.config, result.data, result.probe_idx
    x_probe = result.x_probe
    t_probe = result.teacher.forward(x_probe, keep=False)
    sample = np.arange(min(SAMPLE_2D, len(data.y_pool)))
    initial = result.initial_probe_probs
    source = datasets.get(cfg.dataset)
    return canonical({
        "schema": SCHEMA,
        "version": __version__,
        "seed": cfg.seed,
        "config": cfg.to_dict(),
        "dataset": {"name": source.name, "title": source.title, "view": source.view,
                    "image_shape": list(source.image_shape) if source.image_shape else None},
        "classes": {"names": list(source.class_names),
                    "superclass": list(source.families) if source.families else None,
                    "teacher_similarity": _similarity(result.teacher, data, cfg.tau, cfg.n_classes)},
        "data": {
            "sample_2d": data.z_pool[sample],
            "sample_labels": data.y_pool[sample],
            "probe_2d": data.z_test[probe_idx],
            "train_2d": data.z_pool[data.train_idx],  # the students' labelled examples
            "train_labels": data.y_train,
            **_images(data, probe_idx),
        },
        "probes": {
            "labels": data.y_test[probe_idx],
            "teacher_logits": t_probe,
            "teacher_probs": softmax(t_probe),
            "teacher_probs_tau": softmax(t_probe, cfg.tau),
        },
        "teacher_curve": result.teacher_curve,
        "epochs": result.epochs,
        "networks": {
            "teacher": _diagram(result.teacher, x_probe),
            "scratch": _diagram(result.scratch, x_probe, initial),
            "distilled": _diagram(result.distilled, x_probe, initial),
        },
        "summary": result.summary,
        "measured": {"latency_repeats": result.latency_repeats},
    })


def _similarity(teacher, data, tau, K):
    """(K, K): row k is the teacher's mean soft label (at τ) over the test examples of class k."""
    p = softmax(teacher.forward(data.x_test.astype(np.float32), keep=False), tau)
    return np.stack([p[data.y_test == k].mean(axis=0) if np.any(data.y_test == k) else np.full(K, 1.0 / K)
                     for k in range(K)])


def _images(data, probe_idx):
    """The probes' images and a gallery of the students' labelled ones, flattened; {} without images."""
    if data.img_test is None:
        return {}
    y = data.y_train
    gallery = np.concatenate([data.train_idx[y == k][:GALLERY_PER_CLASS] for k in range(int(y.max()) + 1)])
    return {
        "probe_images": data.img_test[probe_idx].reshape(len(probe_idx), -1),
        "gallery_images": data.img_pool[gallery].reshape(len(gallery), -1),
        "gallery_labels": data.y_pool[gallery],
    }


def _group_mean(values, width):
    """Mean of values (..., width) over each display group -> (..., G): unit j is in group floor(j·G/width)."""
    G = min(width, MAX_GROUPS)
    g = (np.arange(width) * G) // width
    return np.stack([values[..., g == a].mean(axis=-1) for a in range(G)], axis=-1)


def _diagram(model, x_probe, initial_probe_probs=None):
    """What the node diagrams need: layer widths, grouped weights and each probe's grouped activations."""
    sizes = model.sizes
    weights = []
    for W, n_in, n_out in zip(model.W, sizes[:-1], sizes[1:]):
        rows = _group_mean(W.T, n_in)                  # (n_out, G_in)
        weights.append(_group_mean(rows.T, n_out))     # (G_in, G_out)
    acts = model.activations(x_probe)                  # L arrays (K, width)
    acts[-1] = softmax(acts[-1])                       # output layer shown as probabilities at τ = 1
    grouped = [_group_mean(a, a.shape[1]) for a in acts]  # L arrays (K, G_l)
    net = {
        "layers": list(sizes),
        "params": model.n_params(),
        "groups": [min(s, MAX_GROUPS) for s in sizes],
        "weights": weights,
        "weight_scale": [float(np.abs(W).mean()) for W in model.W],
        "activations": [[grouped[l][p] for l in range(len(sizes))] for p in range(len(x_probe))],
    }
    if initial_probe_probs is not None:
        net["initial_probe_probs"] = initial_probe_probs
    return net


# ----------------------------------------------------------------------------- canonical JSON

def canonical(obj):
    """A copy of obj with plain Python types only and floats rounded to 6 significant digits."""
    if isinstance(obj, dict):
        return {str(k): canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return canonical(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        if not math.isfinite(x):
            raise TraceError(f"non-finite number {x!r} cannot be written")
        x = float(f"{x:.{SIGNIFICANT_DIGITS}g}")
        return 0.0 if x == 0 else x  # no "-0.0"
    if obj is None or isinstance(obj, str):
        return obj
    raise TraceError(f"cannot write a value of type {type(obj).__name__}")


def dumps(trace):
    """Canonical JSON text: sorted keys, floats to 6 significant digits, newline-terminated."""
    return json.dumps(canonical(trace), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False) + "\n"


def _strip_latency(obj, top=True):
    if isinstance(obj, dict):
        return {k: _strip_latency(v, False) for k, v in obj.items()
                if k != "latency_us" and not (top and k == "measured")}
    if isinstance(obj, list):
        return [_strip_latency(v, False) for v in obj]
    return obj


def content_hash(trace):
    """sha256 hex of the canonical JSON without any `latency_us` nor `measured`: equal for equal parameters."""
    return hashlib.sha256(dumps(_strip_latency(canonical(trace))).encode("utf-8")).hexdigest()


def save(trace, path):
    """Validate, then write the canonical JSON to path atomically (kdanim.paths.atomic_write)."""
    validate(trace)
    atomic_write(path, dumps(trace))
    return path


def _reject_constant(name):
    raise TraceError(f"non-finite number {name} in trace")


def loads(text):
    """Parse and validate trace JSON text."""
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise TraceError(f"not valid JSON: {e}") from None
    return validate(obj)


def load(path):
    """Read and validate a trace file; TraceError on anything that does not follow docs/TRACE.md."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise TraceError(f"cannot read trace {os.fspath(path)!r}: {e}") from None
    return loads(text)


# ----------------------------------------------------------------------------- validation

def _is_num(x):
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _key(obj, key, where):
    if not isinstance(obj, dict):
        raise TraceError(f"{where}: expected an object, got {type(obj).__name__}")
    if key not in obj:
        raise TraceError(f"{where}.{key}: missing")
    return obj[key]


def require_number(x, where, lo=None, hi=None) -> float:
    """x as a float when it is a finite number (not a bool) in [lo, hi]; TraceError naming ``where``."""
    if not _is_num(x):
        raise TraceError(f"{where}: expected a number, got {x!r}")
    if not math.isfinite(float(x)):
        raise TraceError(f"{where}: not finite ({x!r})")
    return float(_in_range(x, where, lo, hi))


def require_int(x, where, lo=None, hi=None) -> int:
    """x as an int when it is an integer (not a bool) in [lo, hi]; TraceError naming ``where``."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        raise TraceError(f"{where}: expected an integer, got {x!r}")
    return int(_in_range(x, where, lo, hi))


def is_number(x, lo=None, hi=None) -> bool:
    """Whether :func:`require_number` accepts x (for files that word their own errors, e.g. sweeps)."""
    return _accepts(require_number, x, lo, hi)


def is_int(x, lo=None, hi=None) -> bool:
    """Whether :func:`require_int` accepts x."""
    return _accepts(require_int, x, lo, hi)


def _accepts(require, x, lo, hi):
    try:
        require(x, "", lo, hi)
    except TraceError:
        return False
    return True


def _in_range(x, where, lo, hi):
    if lo is not None and x < lo:
        raise TraceError(f"{where}: {x!r} is below {lo}")
    if hi is not None and x > hi:
        raise TraceError(f"{where}: {x!r} is above {hi}")
    return x


def _list(x, where, length=None):
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if not isinstance(x, (list, tuple)):
        raise TraceError(f"{where}: expected a list, got {type(x).__name__}")
    if length is not None and len(x) != length:
        raise TraceError(f"{where}: expected {length} entries, got {len(x)}")
    return x


def _vector(x, where, length, lo=None, hi=None):
    return [require_number(v, f"{where}[{i}]", lo, hi) for i, v in enumerate(_list(x, where, length))]


def _matrix(x, where, rows, cols, lo=None, hi=None):
    return [_vector(r, f"{where}[{i}]", cols, lo, hi) for i, r in enumerate(_list(x, where, rows))]


def _labels(x, where, K, length):
    """A list of ``length`` class labels 0..K-1."""
    for i, y in enumerate(_list(x, where, length)):
        require_int(y, f"{where}[{i}]", 0, K - 1)


def _probs(x, where, rows, cols):
    for i, row in enumerate(_matrix(x, where, rows, cols)):
        if min(row) < 0 or max(row) > 1 + PROB_TOLERANCE:
            raise TraceError(f"{where}[{i}]: probabilities must lie in [0, 1]")
        if abs(sum(row) - 1.0) > PROB_TOLERANCE:
            raise TraceError(f"{where}[{i}]: probabilities sum to {sum(row):.6g}, not 1")


def _accuracy(x, where):
    return require_number(x, where, 0.0, 1.0)


def _widths(x, where):
    widths = _list(x, where)
    if not widths:
        raise TraceError(f"{where}: needs at least one hidden layer")
    return [require_int(w, f"{where}[{i}]", 1) for i, w in enumerate(widths)]


def _epoch(e, where, i):
    """Record i of a per-epoch list says it is epoch i + 1."""
    if require_int(_key(e, "epoch", where), f"{where}.epoch") != i + 1:
        raise TraceError(f"{where}.epoch: expected {i + 1}")


def _scan_finite(obj, where):
    if isinstance(obj, dict):
        for k, v in obj.items():
            _scan_finite(v, f"{where}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _scan_finite(v, f"{where}[{i}]")
    elif _is_num(obj) and not math.isfinite(float(obj)):
        raise TraceError(f"{where}: not finite ({obj!r})")


def _config(cfg):
    w = "config"
    c = {}
    c["tau"] = require_number(_key(cfg, "tau", w), f"{w}.tau")
    if c["tau"] <= 0:
        raise TraceError(f"{w}.tau: must be > 0, got {c['tau']!r}")
    c["alpha"] = require_number(_key(cfg, "alpha", w), f"{w}.alpha", 0.0, 1.0)
    for k in ("epochs", "teacher_epochs", "batch_size", "n_train", "teacher_n_train", "n_test",
              "n_features", "n_classes", "transfer_batch_size"):
        c[k] = require_int(_key(cfg, k, w), f"{w}.{k}", 1)
    c["n_transfer"] = require_int(_key(cfg, "n_transfer", w), f"{w}.n_transfer", 0,
                                  c["teacher_n_train"] - c["n_train"])
    c["seed"] = require_int(_key(cfg, "seed", w), f"{w}.seed", 0)
    lr = require_number(_key(cfg, "learning_rate", w), f"{w}.learning_rate")
    if lr <= 0:
        raise TraceError(f"{w}.learning_rate: must be > 0, got {lr!r}")
    c["teacher_hidden"] = _widths(_key(cfg, "teacher_hidden", w), f"{w}.teacher_hidden")
    c["student_hidden"] = _widths(_key(cfg, "student_hidden", w), f"{w}.student_hidden")
    c["dataset"] = _key(cfg, "dataset", w)
    if not isinstance(c["dataset"], str) or not c["dataset"]:
        raise TraceError(f"{w}.dataset: expected a dataset name, got {c['dataset']!r}")
    for k in ("teacher_preset", "student_preset"):
        v = _key(cfg, k, w)
        if v is not None and not isinstance(v, str):
            raise TraceError(f"{w}.{k}: expected a string or null, got {v!r}")
    return c


def _dataset(dataset, name):
    """The dataset part; returns its image shape [H, W], or None for a dataset without images."""
    if _key(dataset, "name", "dataset") != name:
        raise TraceError("dataset.name: differs from config.dataset")
    for k in ("title", "view"):
        if not isinstance(_key(dataset, k, "dataset"), str):
            raise TraceError(f"dataset.{k}: expected a string")
    shape = _key(dataset, "image_shape", "dataset")
    if shape is None:
        return None
    return [require_int(v, f"dataset.image_shape[{i}]", 1)
            for i, v in enumerate(_list(shape, "dataset.image_shape", 2))]


def _classes(classes, K):
    for k in ("names", "superclass"):
        names = _key(classes, k, "classes")
        if k == "superclass" and names is None:  # a dataset without families
            continue
        names = _list(names, f"classes.{k}", K)
        if not all(isinstance(n, str) and n for n in names):
            raise TraceError(f"classes.{k}: expected {K} non-empty strings")
    _probs(_key(classes, "teacher_similarity", "classes"), "classes.teacher_similarity", K, K)


def _data(data, K, n_train, shape):
    """The 2-D views and labels; for a dataset of images, the probes' and a gallery's pixels, in [0, 1]."""
    sample = _list(_key(data, "sample_2d", "data"), "data.sample_2d")
    if len(sample) > SAMPLE_2D:
        raise TraceError(f"data.sample_2d: at most {SAMPLE_2D} points, got {len(sample)}")
    _matrix(sample, "data.sample_2d", len(sample), 2)
    _labels(_key(data, "sample_labels", "data"), "data.sample_labels", K, len(sample))
    _matrix(_key(data, "probe_2d", "data"), "data.probe_2d", K, 2)
    _matrix(_key(data, "train_2d", "data"), "data.train_2d", n_train, 2)
    _labels(_key(data, "train_labels", "data"), "data.train_labels", K, n_train)
    if shape is None:
        return
    pixels = shape[0] * shape[1]
    _matrix(_key(data, "probe_images", "data"), "data.probe_images", K, pixels, 0.0, 1.0)
    gallery = _list(_key(data, "gallery_images", "data"), "data.gallery_images")
    _matrix(gallery, "data.gallery_images", None, pixels, 0.0, 1.0)
    _labels(_key(data, "gallery_labels", "data"), "data.gallery_labels", K, len(gallery))


def _probes(probes, K):
    _labels(_key(probes, "labels", "probes"), "probes.labels", K, K)
    _matrix(_key(probes, "teacher_logits", "probes"), "probes.teacher_logits", K, K)
    _probs(_key(probes, "teacher_probs", "probes"), "probes.teacher_probs", K, K)
    _probs(_key(probes, "teacher_probs_tau", "probes"), "probes.teacher_probs_tau", K, K)


def _teacher_curve(curve):
    for i, e in enumerate(curve):
        w = f"teacher_curve[{i}]"
        _epoch(e, w, i)
        require_number(_key(e, "loss", w), f"{w}.loss", 0.0)
        _accuracy(_key(e, "test_accuracy", w), f"{w}.test_accuracy")


def _epochs(epochs, K):
    for i, e in enumerate(epochs):
        w = f"epochs[{i}]"
        _epoch(e, w, i)
        for k in ("hard_loss", "soft_loss", "combined_loss", "scratch_loss"):
            require_number(_key(e, k, w), f"{w}.{k}", -KL_TOLERANCE)
        require_number(_key(e, "kl", w), f"{w}.kl", -KL_TOLERANCE)
        for k in ("train_accuracy", "test_accuracy", "scratch_test_accuracy"):
            _accuracy(_key(e, k, w), f"{w}.{k}")
        _probs(_key(e, "probe_probs", w), f"{w}.probe_probs", K, K)
        _probs(_key(e, "probe_probs_tau", w), f"{w}.probe_probs_tau", K, K)


def _network(net, where, layers, K, F, student):
    got = [require_int(v, f"{where}.layers[{i}]", 1)
           for i, v in enumerate(_list(_key(net, "layers", where), f"{where}.layers"))]
    if got != layers:
        raise TraceError(f"{where}.layers: expected {layers}, got {got}")
    params = sum(a * b + b for a, b in zip(layers[:-1], layers[1:]))
    if require_int(_key(net, "params", where), f"{where}.params") != params:
        raise TraceError(f"{where}.params: expected {params} for layers {layers}")
    groups = [min(n, MAX_GROUPS) for n in layers]
    if [require_int(g, f"{where}.groups[{i}]")
            for i, g in enumerate(_list(_key(net, "groups", where), f"{where}.groups"))] != groups:
        raise TraceError(f"{where}.groups: expected {groups}")
    L = len(layers)
    weights = _list(_key(net, "weights", where), f"{where}.weights", L - 1)
    for l, m in enumerate(weights):
        _matrix(m, f"{where}.weights[{l}]", groups[l], groups[l + 1])
    _vector(_key(net, "weight_scale", where), f"{where}.weight_scale", L - 1, lo=0.0)
    acts = _list(_key(net, "activations", where), f"{where}.activations", K)
    for p, per_probe in enumerate(acts):
        per_probe = _list(per_probe, f"{where}.activations[{p}]", L)
        for l, a in enumerate(per_probe):
            _vector(a, f"{where}.activations[{p}][{l}]", groups[l])
    if student:
        _probs(_key(net, "initial_probe_probs", where), f"{where}.initial_probe_probs", K, K)


def _model(networks, summary, m, cfg):
    """networks.<m> has the layers the config asks for; summary.<m> agrees with it."""
    K, F = cfg["n_classes"], cfg["n_features"]
    hidden = cfg["teacher_hidden"] if m == "teacher" else cfg["student_hidden"]
    _network(_key(networks, m, "networks"), f"networks.{m}", [F, *hidden, K], K, F, student=m != "teacher")
    s = _key(summary, m, "summary")
    w = f"summary.{m}"
    if require_int(_key(s, "params", w), f"{w}.params") != networks[m]["params"]:
        raise TraceError(f"{w}.params: differs from networks.{m}.params")
    if _widths(_key(s, "hidden", w), f"{w}.hidden") != hidden:
        raise TraceError(f"{w}.hidden: expected {hidden}")
    if require_int(_key(s, "layers", w), f"{w}.layers") != len(hidden):
        raise TraceError(f"{w}.layers: expected {len(hidden)}")
    _accuracy(_key(s, "test_accuracy", w), f"{w}.test_accuracy")
    _accuracy(_key(s, "agreement", w), f"{w}.agreement")
    require_number(_key(s, "latency_us", w), f"{w}.latency_us", 0.0)
    if m != "teacher":
        kls = _key(s, "probe_kl", w)
        if not isinstance(kls, list) or len(kls) != K:
            raise TraceError(f"{w}.probe_kl: expected a list of {K} numbers")
        for i, v in enumerate(kls):
            require_number(v, f"{w}.probe_kl[{i}]", -KL_TOLERANCE)


def validate(obj):
    """Check obj against docs/TRACE.md and return it; TraceError naming the first bad field."""
    if not isinstance(obj, dict):
        raise TraceError(f"trace: expected a JSON object, got {type(obj).__name__}")
    schema = obj.get("schema")
    if schema != SCHEMA:
        raise TraceError(f"schema: unknown schema {schema!r}, expected {SCHEMA!r}")
    _scan_finite(obj, "trace")
    if not isinstance(_key(obj, "version", "trace"), str):
        raise TraceError("version: expected a string")
    cfg = _config(_key(obj, "config", "trace"))
    if require_int(_key(obj, "seed", "trace"), "seed", 0) != cfg["seed"]:
        raise TraceError("seed: differs from config.seed")
    K = cfg["n_classes"]
    # a fixed order of checks: of several bad fields, the same one is always reported
    shape = _dataset(_key(obj, "dataset", "trace"), cfg["dataset"])
    _classes(_key(obj, "classes", "trace"), K)
    _data(_key(obj, "data", "trace"), K, cfg["n_train"], shape)
    _probes(_key(obj, "probes", "trace"), K)
    _teacher_curve(_list(_key(obj, "teacher_curve", "trace"), "teacher_curve", cfg["teacher_epochs"]))
    _epochs(_list(_key(obj, "epochs", "trace"), "epochs", cfg["epochs"]), K)
    networks, summary = _key(obj, "networks", "trace"), _key(obj, "summary", "trace")
    for m in MODELS:
        _model(networks, summary, m, cfg)
    measured = _key(obj, "measured", "trace")
    require_int(_key(measured, "latency_repeats", "measured"), "measured.latency_repeats", 0)
    return obj
