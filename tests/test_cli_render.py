"""The `kdanim` command line around rendering: usage errors, --help examples, the cache commands.

Nothing here renders a video (see test_render.py): every bad invocation must
stop before any work, with one line, exit status 2, and nothing written.
"""

import os
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kdanim import trace as tracemod
from kdanim.cli import main


@pytest.fixture(scope="module")
def trace_file(tmp_path_factory):
    from kdanim.sim.config import SimConfig
    from kdanim.trace import simulate_trace

    path = tmp_path_factory.mktemp("trace") / "trace.json"
    tracemod.save(simulate_trace(SimConfig(epochs=3), measure_latency=False), path)
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("KDANIM_CACHE", str(root))
    return root


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_usage_error(result, *words):
    """Exit 2, one line starting with 'Error:', naming what was wrong; no traceback, no usage block."""
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for w in words:
        assert w in lines[0], (w, lines[0])


def files_under(folder):
    return sorted(p for p in Path(folder).rglob("*")) if Path(folder).exists() else []


# -- usage errors: exit 2, one line, nothing written ---------------------------------

@pytest.mark.parametrize("args, words", [
    (["--tau", "2"], ["--trace", "--tau"]),
    (["--alpha", "0.3", "--epochs", "5"], ["--trace", "--alpha"]),
    (["--chapters", "11"], ["'11'", "chapter"]),
    (["--chapters", "2,x"], ["'x'", "--chapters"]),
    (["--chapters", ""], ["--chapters"]),
    (["--probe-class", "zebra"], ["'zebra'", "--probe-class", "cat"]),
    (["--probe-class", "9"], ["'9'", "--probe-class"]),
    (["--quality", "8k"], ["--quality", "8k"]),
    (["--format", "avi"], ["--format"]),
    (["--voice", "alexa"], ["--voice"]),
    (["--voice-model", "/nonexistent/voice.onnx"], ["--voice-model"]),
    (["--jobs", "0"], ["--jobs"]),
])
def test_render_usage_errors(trace_file, cache, tmp_path, args, words):
    out = tmp_path / "out"
    result = invoke("render", "--trace", trace_file, "--out", out, *args)
    assert_usage_error(result, *words)
    assert not out.exists() and files_under(cache) == []


@pytest.mark.parametrize("content, words", [
    ("{not json", ["not valid JSON"]),
    ("", ["not valid JSON"]),
    ('{"config": {}}', ["--trace"]),
    (None, ["cannot read"]),  # missing file
])
def test_corrupt_trace_is_one_line(content, words, cache, tmp_path):
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    out = tmp_path / "out"
    result = invoke("render", "--trace", bad, "--out", out, "--quality", "low")
    assert_usage_error(result, "--trace", *words)
    assert not out.exists() and files_under(cache) == []


def test_truncated_trace_is_one_line(trace_file, cache, tmp_path):
    bad = tmp_path / "cut.json"
    data = trace_file.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    result = invoke("render", "--trace", bad, "--out", tmp_path / "out")
    assert_usage_error(result, "--trace", "cut.json")
    assert not (tmp_path / "out").exists()


def test_out_is_a_file(trace_file, cache, tmp_path):
    f = tmp_path / "lesson.mp4"
    f.write_bytes(b"not a folder")
    result = invoke("render", "--trace", trace_file, "--out", f)
    assert_usage_error(result, "--out", "is a file")
    assert f.read_bytes() == b"not a folder" and files_under(cache) == []


def test_out_below_a_file(trace_file, cache, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    result = invoke("render", "--trace", trace_file, "--out", f / "sub" / "out")
    assert_usage_error(result, "--out")
    assert f.read_text() == "x" and files_under(cache) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_out_in_a_read_only_folder(trace_file, cache, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        result = invoke("render", "--trace", trace_file, "--out", ro / "out")
        assert_usage_error(result, "--out", "not writable")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_unwritable_cache_is_one_line(trace_file, tmp_path, monkeypatch):
    """A cache folder that cannot be made (a file in its way): a one-line error, not a traceback."""
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    monkeypatch.setenv("KDANIM_CACHE", str(blocker / "cache"))
    result = invoke("render", "--trace", trace_file, "--out", tmp_path / "out", "--quality", "low",
                    "--voice", "none", "--chapters", "5")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("Error: ") and len([l for l in lines if l.startswith("Error")]) == 1
    assert blocker.read_text() == "x"


# -- --help ends with an example -----------------------------------------------------

def _commands(group, path=()):
    yield path
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, path + (name,))
        else:
            yield path + (name,)


ALL_COMMANDS = list(_commands(main))


def test_every_command_is_covered():
    names = {" ".join(p) for p in ALL_COMMANDS}
    assert {"", "simulate", "render", "chapters", "doctor", "cache", "cache clear", "cache path"} <= names


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "kdanim")
def test_help_ends_with_an_example(path):
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    lines = result.output.rstrip().splitlines()
    heads = [i for i, line in enumerate(lines) if re.fullmatch(r"\s*Examples?:", line)]
    assert heads, f"no example at the end of `kdanim {' '.join(path)} --help`"
    examples = lines[heads[-1] + 1:]
    assert examples and all(line.strip().startswith(" ".join(("kdanim",) + path)) for line in examples), examples


# -- kdanim chapters, cache path / clear ---------------------------------------------

def test_chapters_lists_ten():
    result = invoke("chapters")
    assert result.exit_code == 0
    # the sweep chapter (11) is listed where it plays with --sweep: after chapter 8
    assert [int(line.split()[0]) for line in result.output.splitlines()] == [1, 2, 3, 4, 5, 6, 7, 8, 11, 9, 10]


def _fill(root):
    files = {"chapters": ["abc/chapter.mp4", "abc/timeline.json"], "traces": ["t.json"], "voice": ["0a/piper-x.wav"]}
    for part, names in files.items():
        for n in names:
            p = root / part / n
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(b"x" * 1000)


def test_cache_path_is_the_env_folder(cache):
    _fill(cache)
    result = invoke("cache", "path")
    assert result.exit_code == 0
    assert result.stdout.strip() == str(cache)
    assert re.search(r"chapters/\s.*\s2 files", result.stderr) and re.search(r"voice/\s.*\s1 files", result.stderr)


def test_cache_path_default_is_under_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("KDANIM_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    result = invoke("cache", "path")
    assert result.stdout.strip() == str(tmp_path / "xdg" / "kdanim")
    assert not (tmp_path / "xdg").exists(), "cache path must not create anything"


@pytest.mark.parametrize("what, gone", [("chapters", {"chapters"}), ("voice", {"voice"}), ("traces", {"traces"}),
                                        ("all", {"chapters", "traces", "voice"})])
def test_cache_clear(cache, what, gone):
    _fill(cache)
    args = ("cache", "clear") + (() if what == "all" else ("--what", what))
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    left = {p.name for p in cache.iterdir()}
    assert left == {"chapters", "traces", "voice"} - gone, "clear removed exactly the chosen parts"
    n = {"chapters": 2, "traces": 1, "voice": 1}
    assert f"{sum(n[g] for g in gone)} files" in result.output


def test_cache_clear_on_a_missing_cache(cache):
    result = invoke("cache", "clear")
    assert result.exit_code == 0 and "0 files" in result.output and not cache.exists()


def test_cache_clear_bad_choice(cache):
    _fill(cache)
    before = files_under(cache)
    assert_usage_error(invoke("cache", "clear", "--what", "everything"), "--what")
    assert files_under(cache) == before


def test_cache_clear_keeps_what_is_not_its_own(cache):
    _fill(cache)
    (cache / "notes.txt").write_text("mine")
    assert invoke("cache", "clear").exit_code == 0
    assert [p.name for p in cache.iterdir()] == ["notes.txt"]

