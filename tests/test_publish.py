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
