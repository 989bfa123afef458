"""The `kdanim` command line around rendering: usage errors, --help examples, the cache commands, the error boundary.

Nothing here draws a chapter with Manim (see test_render.py): every bad invocation must
stop before any work, with one line, exit status 2, and nothing written; a failure of the
work is one line with exit status 1.
"""

import ast
import os
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kdanim import trace as tracemod
from kdanim.cli import main

TESTS = Path(__file__).resolve().parent


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


@pytest.mark.parametrize("below", ["out", "sub/out"])
def test_out_below_a_file(trace_file, cache, tmp_path, below):
    """An --out no one can make, root included (CI runs as root: a read-only folder would not stop it)."""
    f = tmp_path / "file"
    f.write_text("x")
    result = invoke("render", "--trace", trace_file, "--out", f / below)
    assert_usage_error(result, "--out", "is a file")
    assert f.read_text() == "x" and files_under(cache) == []


def test_out_holding_the_current_folder(trace_file, cache, tmp_path, monkeypatch):
    """The output folder is replaced as a whole: never the folder the user stands in, nor one around it."""
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    for out in (".", tmp_path):
        assert_usage_error(invoke("render", "--trace", trace_file, "--out", out), "--out", "current folder")
    assert files_under(cache) == []


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
    """Every command path of ``group``: the group itself, its commands, and those of its subgroups."""
    yield path
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, path + (name,))
        else:
            yield path + (name,)


def _leaves(group, path=()):
    """The command paths of ``group`` that run something (not groups), subgroups' included."""
    for name, cmd in group.commands.items():
        yield from _leaves(cmd, path + (name,)) if isinstance(cmd, click.Group) else [path + (name,)]


ALL_COMMANDS = list(_commands(main))
LEAF_COMMANDS = list(_leaves(main))


def invocations_in_tests() -> set[tuple[str, ...]]:
    """The leading words of every literal list, tuple and call argument list in the tests' sources:
    ``invoke("cache", "clear")``, ``["sweep", "--tau", ...]``, ``("render", "--trace", ...)``."""
    found = set()
    for path in TESTS.glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            elts = node.elts if isinstance(node, (ast.List, ast.Tuple)) else node.args if isinstance(node, ast.Call) else ()
            words = []
            for e in elts:
                if not (isinstance(e, ast.Constant) and isinstance(e.value, str)):
                    break
                words.append(e.value)
            if words and words[-1] not in ("--help", "-h"):
                found.add(tuple(words))
    return found


def test_every_command_is_covered():
    """Every command of `kdanim` (those of its subgroups too) is run by some test, beyond its --help."""
    assert {("simulate",), ("sweep",), ("render",), ("slides",), ("publish",), ("cache", "clear")} <= set(LEAF_COMMANDS)
    run = invocations_in_tests()
    untested = [" ".join(p) for p in LEAF_COMMANDS if not any(words[:len(p)] == p for words in run)]
    assert not untested, f"no test runs `kdanim {untested[0]}`: add one (with CliRunner) to tests/"


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

def test_chapters_lists_eleven_with_the_sweep_chapter_after_8():
    result = invoke("chapters")
    assert result.exit_code == 0
    # the sweep chapter (11) is listed where it plays with --sweep: after chapter 8
    assert [int(line.split()[0]) for line in result.output.splitlines()] == [1, 2, 3, 4, 5, 6, 7, 8, 11, 9, 10]


def _fill(root):
    files = {"chapters": ["abc/chapter.mp4", "abc/timeline.json"], "traces": ["t.json"], "voice": ["0a/piper-x.wav"],
             "animations": ["c0de/high/TheTask/123.mp4"]}
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


ALL_PARTS = {"chapters", "animations", "traces", "voice"}


@pytest.mark.parametrize("what, gone", [("chapters", {"chapters"}), ("voice", {"voice"}), ("traces", {"traces"}),
                                        ("animations", {"animations"}), ("all", ALL_PARTS)])
def test_cache_clear(cache, what, gone):
    _fill(cache)
    args = ("cache", "clear") + (() if what == "all" else ("--what", what))
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    left = {p.name for p in cache.iterdir()}
    assert left == ALL_PARTS - gone, "clear removed exactly the chosen parts"
    n = {"chapters": 2, "traces": 1, "voice": 1, "animations": 1}
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


# -- the error boundary: every expected failure is one line, exit status 1 ---------------

def assert_one_line_failure(result, *words):
    """Exit 1, one 'Error:' line naming what failed; no traceback (the exception is the SystemExit)."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and result.output.strip().splitlines()[-1] == errors[0], result.output
    for w in words:
        assert w in errors[0], (w, errors[0])


TINY = ["--epochs", "1", "--teacher-hidden", "8", "--student-hidden", "4"]  # a run of about a second


def test_cache_below_a_file_is_one_line_before_simulating(tmp_path, monkeypatch):
    """The trace step (simulating, then filing the trace in the cache) is inside the boundary too."""
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    monkeypatch.setenv("KDANIM_CACHE", str(blocker / "cache"))
    simulated = []
    monkeypatch.setattr("kdanim.trace.simulate_trace", lambda *a, **kw: simulated.append(a) or pytest.fail("simulated"))
    result = invoke("render", *TINY, "--quality", "low", "--chapters", "10", "--voice", "none",
                    "--out", tmp_path / "out")
    assert_one_line_failure(result, str(blocker), "Not a directory", "KDANIM_CACHE")
    assert simulated == [] and blocker.read_text() == "x" and not (tmp_path / "out").exists()


def test_full_disk_while_filing_the_trace_is_one_line(cache, tmp_path, monkeypatch):
    import errno

    def disk_full(trace, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(tracemod, "save", disk_full)
    result = invoke("render", *TINY, "--quality", "low", "--chapters", "5", "--voice", "none", "-q",
                    "--out", tmp_path / "out")
    assert_one_line_failure(result, "No space left on device", str(cache / "traces"))
    assert not (tmp_path / "out").exists()


def render_fake(trace_file, out, *extra):
    """`kdanim render` of chapters 1 and 2 drawn by the fake renderer (the ``fake_chapters`` fixture)."""
    return invoke("render", "--trace", trace_file, "--quality", "low", "--voice", "none", "-q", "--jobs", "1",
                  "--chapters", "1,2", "--out", out, *extra)


def test_encoder_failure_is_one_line(trace_file, fake_chapters, tmp_path, monkeypatch):
    import av

    from kdanim.publish import media

    def broken_encoder(video, audio, out, **kw):
        Path(out).write_bytes(b"half a video")
        raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")

    monkeypatch.setattr(media, "mux", broken_encoder)
    result = render_fake(trace_file, tmp_path / "out")
    assert_one_line_failure(result, "encoder", "Invalid data found")
    assert not (tmp_path / "out").exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_full_disk_while_assembling_keeps_the_previous_folder(trace_file, fake_chapters, tmp_path,
                                                              monkeypatch):
    import errno

    from kdanim.publish import media

    out = tmp_path / "out"
    assert render_fake(trace_file, out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def disk_full(video, t, png, **kw):
        Path(png).write_bytes(b"\x89PNG half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(png))

    monkeypatch.setattr(media, "grab_frame", disk_full)
    result = render_fake(trace_file, out, "--format", "webm")
    assert_one_line_failure(result, "could not write", "thumbnail.png", "No space left on device")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_unusable_voice_is_one_line(trace_file, cache, tmp_path, monkeypatch):
    from kdanim.narration import voices

    monkeypatch.setattr(voices.shutil, "which", lambda name: None)
    result = invoke("render", "--trace", trace_file, "--voice", "espeak", "--quality", "low", "--chapters", "5",
                    "--out", tmp_path / "out")
    assert_one_line_failure(result, "espeak-ng")
    assert not (tmp_path / "out").exists()


def test_a_file_kdanim_did_not_write_is_never_replaced(trace_file, fake_chapters, tmp_path):
    """An output folder holding the user's own lesson.mp4 (no kdanim manifest lists it): refuse, keep it."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "lesson.mp4").write_bytes(b"the user's own video")
    result = render_fake(trace_file, out)
    assert_one_line_failure(result, "lesson.mp4", "not written by kdanim")
    assert [(p.name, p.read_bytes()) for p in out.iterdir()] == [("lesson.mp4", b"the user's own video")]


def test_the_trace_cache_has_one_home(cache, monkeypatch):
    """`kdanim render` and plain `manim render` (the chapter base's context, found through the
    kdanim.context entry point) read and file the same entry."""
    from kdanim.lesson import plain_context
    from kdanim.render.context import from_environment
    from kdanim.sim.config import SimConfig

    said = []
    first = tracemod.cached_trace(SimConfig(), on_simulate=lambda: said.append("simulating"))
    assert said == ["simulating"] and len(list((cache / "traces").iterdir())) == 1
    monkeypatch.setattr(tracemod, "simulate_trace", lambda *a, **kw: pytest.fail("simulated again"))
    monkeypatch.setenv("KDANIM_VOICE", "none")
    monkeypatch.setenv("KDANIM_PROBE_CLASS", "dog")
    for ctx in (from_environment(), plain_context()):
        assert tracemod.content_hash(ctx.trace) == tracemod.content_hash(first) and ctx.probe_class == 1
        assert " ".join(u.text for u in ctx.narrator.speak("One. Two.")) == "One. Two." and ctx.add_sound
    monkeypatch.setenv("KDANIM_PROBE_CLASS", "zebra")
    with pytest.raises(ValueError, match="KDANIM_PROBE_CLASS: 'zebra' is not a class: choose one of cat, dog"):
        plain_context()
    # a damaged entry is simulated again
    entry = next((cache / "traces").iterdir())
    entry.write_text("{damaged")
    monkeypatch.undo()
    monkeypatch.setenv("KDANIM_CACHE", str(cache))
    again = tracemod.cached_trace(SimConfig(), on_simulate=lambda: said.append("again"))
    assert said == ["simulating", "again"] and tracemod.content_hash(again) == tracemod.content_hash(first)
