"""kdanim.files: the cache's place and parts, atomic writes; and the trace cache's key (kdanim.trace)."""

from pathlib import Path

import pytest

from kdanim import files
from kdanim import trace as tr
from kdanim.files import ROOT
from kdanim.sim.config import SimConfig


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("KDANIM_CACHE", str(tmp_path / "c"))
    assert files.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("KDANIM_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert files.cache_dir() == tmp_path / "xdg" / "kdanim"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert files.cache_dir() == tmp_path / "home" / ".cache" / "kdanim"


def test_trace_cache_key_changes_with_parameters_and_with_the_simulator(monkeypatch):
    base = tr.config_key(SimConfig())
    assert tr.config_key(SimConfig()) == base
    assert tr.config_key(SimConfig(tau=2.0)) != base
    assert tr.config_key(SimConfig(seed=1)) != base
    # the key hashes the simulator's sources (kdanim/sim and kdanim/trace.py): a trace cached by
    # another version of the simulator is not reused
    hashed = []
    real = tr.source_hash
    monkeypatch.setattr(tr, "source_hash", lambda *paths: hashed.append(paths) or real(*paths))
    assert tr.config_key(SimConfig()) == base
    assert {ROOT / "kdanim" / "sim", ROOT / "kdanim" / "trace.py"} <= {Path(p) for p in hashed[0]}
    monkeypatch.setattr(tr, "source_hash", lambda *paths: "another simulator")
    assert tr.config_key(SimConfig()) != base


def test_source_hash_reads_every_source_under_a_folder():
    sim = ROOT / "kdanim" / "sim"
    whole = files.source_hash(sim)
    assert whole == files.source_hash(sim) and len(whole) == 16
    assert whole != files.source_hash(sim / "config.py")
    assert whole != files.source_hash(*[p for p in sorted(sim.rglob("*.py")) if p.name != "losses.py"])
    assert whole == files.source_hash(*sorted(sim.rglob("*.py")))  # a folder is its sources, in order


def test_atomic_write_replaces_whole_or_not_at_all(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    assert files.atomic_write(target, "first\n") == target  # the folder is made
    assert target.read_text() == "first\n" and oct(target.stat().st_mode & 0o777) == "0o644"
    files.atomic_write(target, b"second")
    assert target.read_bytes() == b"second"
    for exc in (OSError, KeyboardInterrupt):  # a failed write and Ctrl-C both keep the old file
        with pytest.raises(exc), files.atomic_path(target, ".txt") as tmp:
            assert tmp.parent == target.parent and tmp.name.endswith(".txt")
            tmp.write_text("half")
            raise exc()
        assert target.read_bytes() == b"second"
        assert sorted(p.name for p in target.parent.iterdir()) == ["a.txt"]


def test_replace_dir_swaps_a_folder_in_whole(tmp_path):
    out, new = tmp_path / "out", tmp_path / "new"
    out.mkdir()
    (out / "old.txt").write_text("old")
    new.mkdir()
    (new / "new.txt").write_text("new")
    files.replace_dir(new, out)
    assert [p.name for p in out.iterdir()] == ["new.txt"] and sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    again = tmp_path / "again"
    again.mkdir()
    files.replace_dir(again, tmp_path / "fresh")  # nothing there yet: a rename
    assert (tmp_path / "fresh").is_dir() and not again.exists()


def test_folder_size_and_remove_dir(tmp_path):
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (d / "a").write_bytes(b"x" * 10)
    (d / "sub" / "b").write_bytes(b"y" * 5)
    assert files.folder_size(d) == (2, 15) and files.folder_size(tmp_path / "missing") == (0, 0)
    files.remove_dir(d)
    assert list(tmp_path.iterdir()) == []
