import numpy as np
import pytest

from kdanim import trace as tr
from kdanim.sim import STUDENT_PRESETS, TEACHER_PRESETS, ConfigError, SimConfig
from kdanim.sim.config import resolve_hidden
from kdanim.sim.data import make_dataset
from kdanim.sim import simulate as run_sim
from kdanim.sim.mlp import MLP
from kdanim.sim.train import Trainer
from kdanim.trace import simulate_trace as simulate

SMALL = dict(epochs=3, teacher_epochs=2, teacher_n_train=400, n_test=200)


def params(hidden, F=64, K=5):
    return MLP([F, *hidden, K], np.random.default_rng(0)).n_params()


def test_presets_match_the_page():
    assert [len(w) for w in TEACHER_PRESETS.values()] == [2, 3, 4]
    assert sorted(len(w) for w in STUDENT_PRESETS.values()) == [1, 2]
    assert abs(params(TEACHER_PRESETS["small"]) - 120_000) <= 0.15 * 120_000
    assert abs(params(STUDENT_PRESETS["tiny"]) - 8_000) <= 0.15 * 8_000
    assert SimConfig().teacher_hidden == TEACHER_PRESETS["small"]
    assert SimConfig().student_hidden == STUDENT_PRESETS["tiny"]


@pytest.mark.parametrize("bad,option", [
    (dict(tau=0.0), "--tau"), (dict(tau=float("nan")), "--tau"), (dict(tau=float("inf")), "--tau"),
    (dict(alpha=-0.1), "--alpha"), (dict(alpha=1.5), "--alpha"), (dict(alpha=float("nan")), "--alpha"),
    (dict(epochs=0), "--epochs"), (dict(epochs=10_001), "--epochs"), (dict(epochs=2.5), "--epochs"),
    (dict(student_hidden=(0,)), "--student-hidden"), (dict(teacher_hidden=()), "--teacher-hidden"),
    (dict(seed=-1), "--seed"),
])
def test_config_validation_names_the_option(bad, option):
    with pytest.raises(ConfigError) as e:
        SimConfig(**bad)
    assert e.value.option == option


def test_resolve_hidden():
    assert resolve_hidden("teacher", None, None) == ("small", TEACHER_PRESETS["small"])
    assert resolve_hidden("student", None, "64,32") == (None, (64, 32))
    with pytest.raises(ConfigError, match="--teacher"):
        resolve_hidden("teacher", "small", "10")
    with pytest.raises(ConfigError, match="unknown preset"):
        resolve_hidden("student", "huge", None)


def test_dataset_layout():
    cfg = SimConfig()
    d = make_dataset(cfg, np.random.default_rng(0))
    assert d.x_pool.shape == (cfg.teacher_n_train, 64) and d.x_test.shape == (cfg.n_test, 64)
    assert np.bincount(d.y_train, minlength=5).tolist() == [20] * 5  # 20 labels per class
    # super-classes separate in the 2-D view: animals on the inner ring, vehicles outside
    r = np.linalg.norm(d.z_pool, axis=1)
    assert r[d.y_pool < 3].mean() < 1.3 < r[d.y_pool >= 3].mean()


def test_probes_are_instructive_examples_the_teacher_gets_right():
    from kdanim.sim.run import choose_probes

    labels = np.array([0, 0, 0, 1, 1, 1])
    # class 0: confidences 0.99, 0.81, 0.6 (all right) -> the 0.81 one; class 1: the right one nearest 0.8
    logits = np.log(np.array([[0.99, 0.01], [0.81, 0.19], [0.6, 0.4],
                              [0.7, 0.3], [0.05, 0.95], [0.3, 0.7]]))
    assert choose_probes(logits, labels, 2).tolist() == [1, 5]


def test_small_run_is_a_valid_deterministic_trace():
    cfg = SimConfig(seed=3, **SMALL)
    calls = []
    a = simulate(cfg, measure_latency=False, on_epoch=lambda *c: calls.append(c))
    b = simulate(cfg, measure_latency=False)
    tr.validate(a)
    assert tr.dumps(a) == tr.dumps(b)  # byte-identical
    assert [c for c in calls if c[0] == "distilled"] == [("distilled", e, 3) for e in (1, 2, 3)]
    assert [c[0] for c in calls].count("teacher") == 2
    assert len(a["epochs"]) == 3 and a["epochs"][-1]["epoch"] == 3
    assert all(s["latency_us"] == 0.0 for s in a["summary"].values())
    c = simulate(cfg.replace(seed=4), measure_latency=False)
    assert tr.content_hash(c) != tr.content_hash(a)


def test_latency_is_measured_and_not_hashed():
    cfg = SimConfig(seed=1, **SMALL)
    timed = simulate(cfg, measure_latency=True)
    untimed = simulate(cfg, measure_latency=False)
    assert all(s["latency_us"] > 0 for s in timed["summary"].values())
    assert timed["summary"]["teacher"]["latency_us"] > timed["summary"]["scratch"]["latency_us"]
    assert tr.content_hash(timed) == tr.content_hash(untimed)


def test_alpha_zero_distilled_equals_scratch():
    # same initial weights and the same batches in the same order: with α = 0 the runs coincide
    t = simulate(SimConfig(alpha=0.0, **SMALL), measure_latency=False)
    for e in t["epochs"]:
        assert e["hard_loss"] == e["scratch_loss"]
        assert e["test_accuracy"] == e["scratch_test_accuracy"]
    assert t["summary"]["scratch"]["test_accuracy"] == t["summary"]["distilled"]["test_accuracy"]
    assert t["networks"]["scratch"]["initial_probe_probs"] == t["networks"]["distilled"]["initial_probe_probs"]


def test_explicit_widths_and_presets_reach_the_trace():
    t = simulate(SimConfig(teacher_hidden=(32, 16), student_hidden=(8, 4), teacher_preset=None,
                           student_preset=None, **SMALL), measure_latency=False)
    assert t["networks"]["teacher"]["layers"] == [64, 32, 16, 5]
    assert t["summary"]["distilled"]["hidden"] == [8, 4]
    assert t["networks"]["distilled"]["groups"] == [8, 8, 4, 5]
    assert t["config"]["student_preset"] is None


def test_default_run_teaches_the_lesson(rings_trace):
    """The defaults (seed 0): distilled > scratch, and soft targets move the student toward the teacher."""
    t = rings_trace  # the session's simulate_trace(SimConfig(), measure_latency=False)
    tr.validate(t)
    s = t["summary"]
    assert s["teacher"]["params"] == 120_389 and s["distilled"]["params"] == 7_985
    assert s["teacher"]["test_accuracy"] > s["scratch"]["test_accuracy"]
    assert s["distilled"]["test_accuracy"] > s["scratch"]["test_accuracy"]
    assert s["distilled"]["agreement"] > s["scratch"]["agreement"]
    assert t["epochs"][-1]["kl"] < t["epochs"][0]["kl"]
    assert t["config"]["n_transfer"] == 1900


@pytest.mark.parametrize("seed", [1, 2])
def test_claims_hold_on_more_seeds(seed):
    """The README's claims, per seed (bench/seeds.py checks 50): distilled beats scratch, closes >= 30% of the gap."""
    s = run_sim(SimConfig(seed=seed), measure_latency=False).summary
    t, sc, d = (s[m]["test_accuracy"] for m in ("teacher", "scratch", "distilled"))
    assert t > sc and d > sc and (d - sc) / (t - sc) >= 0.3
    assert s["distilled"]["agreement"] >= 0.93
    assert s["teacher"]["params"] >= 10 * s["distilled"]["params"]


def test_scratch_student_learns_nothing_from_unlabelled_inputs():
    """The transfer set has no labels: a hard-label trainer draws its batches but learns only from its labels."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 6)), rng.integers(3, size=20)
    noise = [rng.standard_normal((50, 6)) for _ in range(2)]
    models = []
    for x_transfer in noise:
        m = MLP([6, 8, 3], np.random.default_rng(1))
        Trainer(m, x, y, epochs=3, batch_size=8, learning_rate=1e-2, rng=np.random.default_rng(2),
                x_transfer=x_transfer, transfer_batch_size=16).run()
        models.append(m)
    assert all(np.array_equal(a, b) for a, b in zip(models[0].params, models[1].params))
    # the distilled trainer does learn from them
    d = MLP([6, 8, 3], np.random.default_rng(1))
    Trainer(d, x, y, epochs=3, batch_size=8, learning_rate=1e-2, rng=np.random.default_rng(2),
            teacher_logits=rng.standard_normal((20, 3)), x_transfer=noise[0],
            transfer_logits=rng.standard_normal((50, 3)), transfer_batch_size=16, tau=2.0, alpha=0.5).run()
    assert not np.array_equal(d.W[0], models[0].W[0])


# kdanim/sim importing nothing but NumPy, threadpoolctl and the standard library (datasets included):
# tests/test_layout.py
