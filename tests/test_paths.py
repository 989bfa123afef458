"""Cache locations and keys."""

from kdanim import paths
from kdanim.sim.config import SimConfig


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("KDANIM_CACHE", str(tmp_path / "c"))
    assert paths.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("KDANIM_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.cache_dir() == tmp_path / "xdg" / "kdanim"


def test_trace_cache_key_changes_with_parameters_and_with_the_simulator(monkeypatch):
    base = paths.config_key(SimConfig())
    assert paths.config_key(SimConfig()) == base
    assert paths.config_key(SimConfig(tau=2.0)) != base
    assert paths.config_key(SimConfig(seed=1)) != base
    # a trace cached by another version of the simulator is not reused
    monkeypatch.setattr(paths, "sim_code_version", lambda: "another simulator")
    assert paths.config_key(SimConfig()) != base
