"""The dataset seam (a tiny in-test dataset goes through config, simulation and trace) and the digits loader."""

import hashlib
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from kdanim import facts
from kdanim import trace as tr
from kdanim.cli import main
from kdanim.trace import config_key
from kdanim.sim import ConfigError, SimConfig, datasets
from kdanim.sim.data import make_dataset
from kdanim.sim.datasets import digits

TINY_RUN = dict(epochs=2, teacher_epochs=2, teacher_hidden=(16,), student_hidden=(8,), teacher_preset=None,
                student_preset=None)


def _tiny_draw(config, rng):
    """Three Gaussian blobs in 6 features, their first two features as the 2-D view; 2×2 'images'."""
    centres = np.eye(3, 6) * 3.0

    def part(n):
        y = rng.integers(3, size=n)
        x = centres[y] + rng.standard_normal((n, 6))
        return x, y, x[:, :2], 1 / (1 + np.exp(-x[:, :4].reshape(n, 2, 2)))

    xp, yp, zp, ip = part(config.teacher_n_train)
    xt, yt, zt, it = part(config.n_test)
    return datasets.Examples(xp, yp, zp, xt, yt, zt, img_pool=ip, img_test=it)


TINY = datasets.Source(name="tiny", title="three blobs", class_names=("a", "b", "c"), draw=_tiny_draw,
                       families=None, image_shape=(2, 2),
                       defaults=dict(n_features=6, n_classes=3, n_train=30, teacher_n_train=120, n_test=60))


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(datasets.DATASETS, "tiny", TINY)
    return TINY


def test_registry_lists_and_refuses_by_name():
    assert datasets.names()[:2] == ["rings", "digits"]
    assert datasets.get("digits").class_names == tuple("0123456789")
    with pytest.raises(ConfigError) as e:
        SimConfig(dataset="mnist")
    assert e.value.option == "--dataset" and "rings, digits" in e.value.message


def test_a_new_dataset_plugs_in_through_the_registry(tiny):
    cfg = SimConfig(dataset="tiny", **TINY_RUN)
    assert (cfg.n_classes, cfg.n_features, cfg.n_train) == (3, 6, 30)  # the dataset's defaults
    with pytest.raises(ConfigError, match="--n-classes"):
        SimConfig(dataset="tiny", n_classes=5)
    trace = tr.simulate_trace(cfg, measure_latency=False)
    tr.validate(tr.loads(tr.dumps(trace)))
    assert trace["dataset"] == {"name": "tiny", "title": "three blobs", "view": "2-D view", "image_shape": [2, 2]}
    assert trace["classes"]["names"] == ["a", "b", "c"] and trace["classes"]["superclass"] is None
    assert len(trace["data"]["probe_images"]) == 3 and len(trace["data"]["probe_images"][0]) == 4
    assert len(trace["classes"]["teacher_similarity"]) == 3
    # the dataset is part of the cache key
    assert config_key(cfg) != config_key(SimConfig(**TINY_RUN))


def test_trace_validation_checks_the_dataset_parts(tiny):
    trace = tr.simulate_trace(SimConfig(dataset="tiny", **TINY_RUN), measure_latency=False)
    bad = tr.loads(tr.dumps(trace))
    bad["data"]["probe_images"][1][0] = 1.5
    with pytest.raises(tr.TraceError, match=r"data.probe_images\[1\]"):
        tr.validate(bad)
    bad = tr.loads(tr.dumps(trace))
    bad["dataset"]["name"] = "rings"
    with pytest.raises(tr.TraceError, match="dataset.name"):
        tr.validate(bad)
    bad = tr.loads(tr.dumps(trace))
    bad["schema"] = "kdanim.trace/1"
    with pytest.raises(tr.TraceError, match="schema"):
        tr.validate(bad)


def test_rings_are_unchanged_by_the_move():
    """The synthetic data, drawn through the seam, is byte for byte what it was before the seam existed."""
    d = make_dataset(SimConfig(seed=5), np.random.default_rng(7))
    h = hashlib.sha256()
    for f in ("x_pool", "y_pool", "z_pool", "train_idx", "x_test", "y_test", "z_test"):
        h.update(np.ascontiguousarray(getattr(d, f)).tobytes())
    assert h.hexdigest()[:16] == "3094e1eedcfe5e8e"
    assert d.img_pool is None


def test_digits_loader_shapes_and_classes():
    images, labels = digits.load_images()
    assert images.shape == (1797, 8, 8) and labels.shape == (1797,)
    assert images.min() == 0.0 and images.max() == 1.0
    assert sorted(set(labels.tolist())) == list(range(10))
    cfg = SimConfig(dataset="digits")
    d = make_dataset(cfg, np.random.default_rng(0))
    assert d.x_pool.shape == (cfg.teacher_n_train, 64) and d.x_test.shape == (cfg.n_test, 64)
    assert np.bincount(d.y_train, minlength=10).tolist() == [10] * 10
    assert d.z_pool.shape == (cfg.teacher_n_train, 2) and d.img_test.shape == (cfg.n_test, 8, 8)
    assert np.array_equal(d.img_test.reshape(cfg.n_test, 64), d.x_test)  # the image is the features
    assert len(np.intersect1d(d.x_pool.view([("", d.x_pool.dtype)] * 64),  # no test image in the pool
                              d.x_test.view([("", d.x_test.dtype)] * 64))) < 5  # (load_digits has a few duplicates)


def test_missing_scikit_learn_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises ImportError
    with pytest.raises(datasets.DatasetUnavailable) as e:
        digits.load_images()
    assert "pip install 'kdanim[digits]'" in str(e.value) and "\n" not in str(e.value)
    res = CliRunner().invoke(main, ["simulate", "--dataset", "digits"])
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [f"Error: {e.value}"]


def test_cli_bad_dataset_exits_2_listing_the_datasets():
    res = CliRunner().invoke(main, ["simulate", "--dataset", "mnist"])
    assert res.exit_code == 2
    assert "--dataset" in res.output and "rings" in res.output and "digits" in res.output
    assert "Traceback" not in res.output


def test_cli_simulate_digits_writes_a_valid_trace(tmp_path):
    out = tmp_path / "digits.json"
    res = CliRunner().invoke(main, ["simulate", "--dataset", "digits", "--epochs", "3", "--out", str(out)],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert res.output.startswith("digits · ")
    trace = tr.load(out)
    assert trace["config"]["dataset"] == "digits" and trace["classes"]["names"] == list("0123456789")
    pairs = facts.confused_pairs(trace, 3)
    assert len(pairs) == 3 and all(i < j for i, j, _ in pairs)
    assert pairs[0][2] >= pairs[1][2] >= pairs[2][2] > 0


def test_confused_pairs_reads_the_teacher_similarity():
    sim = [[0.8, 0.15, 0.05], [0.3, 0.6, 0.1], [0.02, 0.08, 0.9]]
    pairs = facts.confused_pairs({"classes": {"teacher_similarity": sim}}, 2)
    assert [(i, j) for i, j, _ in pairs] == [(0, 1), (1, 2)]
    assert pairs[0][2] == pytest.approx(0.225)
