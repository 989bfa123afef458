import copy
import json
import math

import pytest

from kdanim import trace as tr
from kdanim.sim import SimConfig
from kdanim.trace import simulate_trace


@pytest.fixture(scope="module")
def base():
    cfg = SimConfig(epochs=2, teacher_epochs=1, teacher_n_train=300, n_test=100, seed=7)
    return simulate_trace(cfg, measure_latency=False)


@pytest.fixture
def t(base):
    return copy.deepcopy(base)


def test_valid_trace_round_trips(t, tmp_path):
    assert tr.validate(t) is t
    path = tmp_path / "trace.json"
    tr.save(t, path)
    loaded = tr.load(path)
    assert loaded == json.loads(tr.dumps(t))
    assert path.read_text() == tr.dumps(loaded)
    assert tr.content_hash(loaded) == tr.content_hash(t)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_dumps_is_canonical():
    text = tr.dumps({"b": 1.23456789, "a": [2.0, 1e-12, -0.0, 123456789.0]})
    assert text == '{"a":[2.0,1e-12,0.0,123457000.0],"b":1.23457}\n'
    with pytest.raises(tr.TraceError):
        tr.dumps({"x": float("nan")})


def test_content_hash_ignores_latency_only(t):
    h = tr.content_hash(t)
    t["summary"]["teacher"]["latency_us"] = 12.5
    t["measured"]["latency_repeats"] = 9
    assert tr.content_hash(t) == h
    t["summary"]["teacher"]["test_accuracy"] = 0.5
    assert tr.content_hash(t) != h


def _set(obj, path, value):
    for k in path[:-1]:
        obj = obj[k]
    obj[path[-1]] = value


@pytest.mark.parametrize("path,value,match", [
    (("schema",), "kdanim.trace/1", "unknown schema"),
    (("schema",), None, "unknown schema"),
    (("epochs", 1, "kl"), math.nan, "epochs\\[1\\].kl"),
    (("summary", "scratch", "test_accuracy"), math.inf, "summary.scratch.test_accuracy"),
    (("probes", "teacher_logits", 2, 0), math.nan, "teacher_logits"),
    (("epochs", 0, "probe_probs", 1), [0.2, 0.2, 0.2, 0.4], "epochs\\[0\\].probe_probs\\[1\\]"),
    (("epochs", 0, "probe_probs", 1), [0.5, 0.5, 0.5, 0.0, 0.0], "sum to 1.5"),
    (("probes", "teacher_probs_tau", 0), [0.9, 0.2, 0.0, 0.0, -0.1], "probes.teacher_probs_tau\\[0\\]"),
    (("probes", "teacher_logits"), [[1.0] * 5] * 4, "probes.teacher_logits"),
    (("networks", "teacher", "weights", 0), [[0.0] * 8] * 7, "networks.teacher.weights\\[0\\]"),
    (("networks", "distilled", "params"), 1, "networks.distilled.params"),
    (("summary", "teacher", "agreement"), 1.5, "summary.teacher.agreement"),
    (("config", "tau"), 0.0, "config.tau"),
    (("config", "alpha"), 2.0, "config.alpha"),
    (("config", "epochs"), 3, "epochs"),
    (("config", "n_transfer"), 10_000, "config.n_transfer"),
    (("config", "transfer_batch_size"), 0, "config.transfer_batch_size"),
    (("epochs", 1, "epoch"), 5, "epochs\\[1\\].epoch"),
    (("data", "probe_2d"), [[0.0, 0.0]] * 4, "data.probe_2d"),
    (("seed",), 8, "seed"),
    (("summary", "teacher", "latency_us"), -1.0, "latency_us"),
])
def test_validation_rejects(t, path, value, match):
    _set(t, path, value)
    with pytest.raises(tr.TraceError, match=match):
        tr.validate(t)


@pytest.mark.parametrize("key", ["config", "epochs", "summary", "networks", "probes"])
def test_validation_rejects_missing_keys(t, key):
    del t[key]
    with pytest.raises(tr.TraceError, match=f"{key}: missing"):
        tr.validate(t)


def test_load_rejects_non_finite_literals_and_garbage(t, tmp_path):
    text = tr.dumps(t)
    p = tmp_path / "nan.json"
    p.write_text(text.replace('"kl":', '"kl":NaN,"x":', 1))
    with pytest.raises(tr.TraceError, match="non-finite"):
        tr.load(p)
    p.write_text("[1, 2")
    with pytest.raises(tr.TraceError, match="not valid JSON"):
        tr.load(p)
    with pytest.raises(tr.TraceError, match="cannot read"):
        tr.load(tmp_path / "missing.json")
    with pytest.raises(tr.TraceError, match="expected a JSON object"):
        tr.loads("[]")


def test_save_refuses_invalid_and_leaves_nothing(t, tmp_path):
    t["epochs"][0]["kl"] = math.nan
    with pytest.raises(tr.TraceError):
        tr.save(t, tmp_path / "x.json")
    assert list(tmp_path.iterdir()) == []
