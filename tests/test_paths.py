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


def test_atomic_write_replaces_whole_or_not_at_all(tmp_path):
    import pytest

    target = tmp_path / "sub" / "a.txt"
    assert paths.atomic_write(target, "first\n") == target  # the folder is made
    assert target.read_text() == "first\n" and oct(target.stat().st_mode & 0o777) == "0o644"
    paths.atomic_write(target, b"second")
    assert target.read_bytes() == b"second"
    for exc in (OSError, KeyboardInterrupt):  # a failed write and Ctrl-C both keep the old file
        with pytest.raises(exc), paths.atomic_path(target, ".txt") as tmp:
            assert tmp.parent == target.parent and tmp.name.endswith(".txt")
            tmp.write_text("half")
            raise exc()
        assert target.read_bytes() == b"second"
        assert sorted(p.name for p in target.parent.iterdir()) == ["a.txt"]
