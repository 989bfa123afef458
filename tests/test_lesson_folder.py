"""`kdanim render` after the drawing: the lesson folder, its manifest, subtitles, media, the chapter
cache and interruptions, on chapters rendered without Manim (tests/fake_chapters.py).

Everything but the drawing is the real code: the command, the chapter cache, the
concatenation, the narration track (each cue voiced by a tone of its exact length), the
subtitles, the page and the publish of the folder. test_render.py checks the same lesson
drawn by Manim and voiced by Piper.
"""

import errno
import hashlib
import json
import os
import re
import shutil
import sys
import wave
from pathlib import Path

import av
import numpy as np
import pytest
import srt
import webvtt
from click.testing import CliRunner
from PIL import Image

from conftest import chapter_entries, use_fake_chapters
from fake_chapters import colour
from kdanim import trace as tracemod
from kdanim.cli import main
from kdanim.publish import media
from kdanim.render import ChapterJob, ChapterResult, RenderOptions, chapter_key, code_version
from kdanim.render.workers import _render_cached
from kdanim.scenes import DistillationLoss

CHAPTERS = [2, 5, 9]
PUBLISHED = ["lesson.mp4", "lesson.srt", "lesson.vtt", "transcript.md", "chapters.txt", "thumbnail.png",
             "trace.json", "manifest.json", "index.html", "page.css", "page.js", "contact-sheet.png"]


def render_args(trace_file, out, *extra, chapters=CHAPTERS, voice="piper"):
    return ["render", "--trace", str(trace_file), "--quality", "low", "--voice", voice, "--jobs", "1",
            "--chapters", ",".join(map(str, chapters)), "--out", str(out), *extra]


def invoke(args):
    return CliRunner().invoke(main, [str(a) for a in args])


def snapshot(folder):
    """{name: bytes} of every entry in a folder (hidden ones included)."""
    return {p.name: (p.read_bytes() if p.is_file() else None) for p in Path(folder).iterdir()}


def leftovers(folder):
    """Temporary files and folders left under ``folder`` (a publish stages beside the output folder)."""
    return [p.name for p in Path(folder).rglob("*")
            if ".tmp" in p.name or ".staging-" in p.name or p.name.endswith(".old")
            or p.name.startswith((".old-", ".trash-"))]


def copy_of(folder, to):
    to.mkdir()
    for p in folder.iterdir():
        (to / p.name).write_bytes(p.read_bytes())
    return snapshot(to)


@pytest.fixture(scope="module")
def lesson(fake_renderer, fake_cache, trace_file, tmp_path_factory):
    """A lesson of three chapters, rendered cold (the fake renderer draws every chapter)."""
    out = tmp_path_factory.mktemp("lesson")
    with pytest.MonkeyPatch.context() as mp:
        use_fake_chapters(mp, fake_renderer, fake_cache)
        fake_renderer.calls.clear()
        result = invoke(render_args(trace_file, out, "--no-cache"))
        calls = list(fake_renderer.calls)
    assert result.exit_code == 0, result.output
    entries = chapter_entries(fake_cache)
    return {"out": out, "result": result, "calls": calls, "manifest": json.loads((out / "manifest.json").read_text()),
            "timelines": {n: entries[n]["timeline"] for n in CHAPTERS}, "info": media.probe(out / "lesson.mp4")}


# -- the published folder ------------------------------------------------------------------------

def test_folder_holds_exactly_the_published_files(lesson):
    assert sorted(p.name for p in lesson["out"].iterdir()) == sorted(PUBLISHED)
    assert [n for n, _, _ in lesson["calls"]] == CHAPTERS, "every chapter drawn once, in lesson order"
    assert "cached" not in lesson["result"].stderr


def test_mp4_streams_audio_and_sync(lesson):
    info = lesson["info"]
    assert info["video"]["codec"] == "h264" and info["audio"]["codec"] == "aac"
    assert info["audio_rms"] > 0.02, f"the narration is silent (RMS {info['audio_rms']:.4f})"
    assert abs(info["audio_duration"] - info["video_duration"]) < 0.2
    assert abs(info["video_duration"] - lesson["manifest"]["duration"]) < 0.1
    atoms = media.mp4_atoms(lesson["out"] / "lesson.mp4")
    assert atoms.index("moov") < atoms.index("mdat"), f"moov must come first for the web: {atoms}"
    with av.open(str(lesson["out"] / "lesson.mp4")) as c:  # the narration's language, ISO 639-2
        assert c.streams.audio[0].metadata["language"] == "eng"


def test_audio_is_the_narration_where_the_cues_are(lesson):
    """Louder inside the subtitle cues than in the gaps between them: each clip sits at its cue's time."""
    with av.open(str(lesson["out"] / "lesson.mp4")) as c:
        frames = [(f.time, f.to_ndarray().astype(np.float64).ravel(), f.sample_rate) for f in c.decode(audio=0)]
    rate, t0 = frames[0][2], frames[0][0]
    x = np.concatenate([a for _, a, _ in frames])
    inside = np.zeros(x.size, bool)
    for cue in srt.parse((lesson["out"] / "lesson.srt").read_text()):
        i, j = (int((cue.start.total_seconds() - t0) * rate), int((cue.end.total_seconds() - t0) * rate))
        inside[max(i, 0):j] = True
    rms_in, rms_out = np.sqrt(np.mean(x[inside] ** 2)), np.sqrt(np.mean(x[~inside] ** 2))
    assert rms_in > 0.1 and rms_out < rms_in / 20, (rms_in, rms_out)


def test_chapters_start_where_the_previous_video_ends(lesson):
    chapters, timelines = lesson["manifest"]["chapters"], lesson["timelines"]
    assert [c["number"] for c in chapters] == CHAPTERS and chapters[0]["start"] == 0.0
    marks = lesson["info"]["chapters"]
    assert len(marks) == len(chapters)
    for m, c in zip(marks, chapters):
        assert m["title"] == f"{c['number']}. {c['title']}"
        assert abs(m["start"] - c["start"]) < 1e-3 and abs((m["end"] - m["start"]) - c["length"]) < 2e-3
        assert abs(c["length"] - timelines[c["number"]]["duration"]) < 0.07  # a frame at 15 fps
    for a, b in zip(chapters, chapters[1:]):
        assert abs(a["start"] + a["length"] - b["start"]) < 2e-3
    want = [f"{int(c['start']) // 60:02d}:{int(c['start']) % 60:02d} {c['number']}. {c['title']}" for c in chapters]
    assert (lesson["out"] / "chapters.txt").read_text().splitlines() == want


def frame_at(path, t):
    with av.open(str(path)) as c:
        best = None
        for f in c.decode(video=0):
            if f.time <= t + 1e-6:
                best = f
        return best.to_ndarray(format="rgb24")


def test_each_chapter_plays_its_own_pictures_at_its_start(lesson):
    """The joined video is the chapter videos end to end: a frame just after each start is that chapter's."""
    video = lesson["out"] / "lesson.mp4"
    for c in lesson["manifest"]["chapters"]:
        arr = frame_at(video, c["start"] + 0.2)
        got = arr[arr.shape[0] // 2, arr.shape[1] // 2 + 20].astype(int)  # beside the moving bar
        assert np.abs(got - colour(c["number"], 0)).max() < 40, (c["number"], got)


def _wav_seconds(path):
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def test_each_cue_is_one_clip_and_lasts_as_long(lesson):
    """Every cue of lesson.srt / lesson.vtt is one voice clip, starts where it is placed and lasts as long (±1 ms)."""
    out, manifest = lesson["out"], lesson["manifest"]
    lines = [(ch["start"] + line["start"], line) for ch in manifest["chapters"]
             for line in lesson["timelines"][ch["number"]]["lines"]]
    srt_cues = list(srt.parse((out / "lesson.srt").read_text()))
    vtt_cues = list(webvtt.read(str(out / "lesson.vtt")))
    assert len(srt_cues) == len(vtt_cues) == len(lines) >= 3 * len(CHAPTERS)
    for s, v, (start, line) in zip(srt_cues, vtt_cues, lines):
        clip = _wav_seconds(line["path"])
        for a, b, text in ((s.start.total_seconds(), s.end.total_seconds(), s.content),
                           (v.start_time.in_milliseconds() / 1000, v.end_time.in_milliseconds() / 1000, v.text)):
            assert abs((b - a) - clip) <= 1e-3 + 1e-9, (text, b - a, clip)
            assert abs(a - start) <= 1.5e-3
            assert " ".join(text.split()) == line["text"]
            assert all(len(row) <= 48 for row in text.splitlines()) and len(text.splitlines()) <= 2


def test_thumbnail_transcript_and_trace(lesson, trace_file):
    out = lesson["out"]
    with Image.open(out / "thumbnail.png") as im:
        assert im.size == (1280, 720)
        # the first chapter at the end of its first beat
        assert np.abs(np.asarray(im.convert("RGB"))[100, 100].astype(int) - colour(CHAPTERS[0], 0)).max() < 40
    loaded = tracemod.load(out / "trace.json")
    assert tracemod.content_hash(loaded) == tracemod.content_hash(tracemod.load(trace_file))
    assert lesson["manifest"]["trace_content_hash"] == tracemod.content_hash(loaded)
    transcript = (out / "transcript.md").read_text()
    for ch in lesson["manifest"]["chapters"]:
        assert f"{ch['number']}. {ch['title']}" in transcript
        assert all(beat in transcript for beat in lesson["timelines"][ch["number"]]["beats"])


def test_manifest_hashes_sizes_and_parameters(lesson):
    out, manifest = lesson["out"], lesson["manifest"]
    assert {f["name"] for f in manifest["files"]} == {p.name for p in out.iterdir()} - {"manifest.json"}
    for f in manifest["files"]:
        data = (out / f["name"]).read_bytes()
        assert f["bytes"] == len(data) and f["sha256"] == hashlib.sha256(data).hexdigest(), f["name"]
    assert manifest["trace_sha256"] == hashlib.sha256((out / "trace.json").read_bytes()).hexdigest()
    render = manifest["parameters"]["render"]
    assert (render["quality"], render["format"], render["voice"], render["chapters"]) == ("low", "mp4", "piper", CHAPTERS)
    import manim
    assert manifest["manim"] == manim.__version__ and manifest["numpy"] == np.__version__
    assert abs(sum(c["length"] for c in manifest["chapters"]) - manifest["duration"]) < 2e-3


# -- the chapter cache ---------------------------------------------------------------------------

def test_second_identical_render_draws_nothing(lesson, fake_chapters, trace_file, tmp_path):
    result = invoke(render_args(trace_file, tmp_path / "again"))
    assert result.exit_code == 0, result.output
    assert fake_chapters.calls == []
    assert len(re.findall(r"\bcached\b", result.stderr)) == len(CHAPTERS)
    for name in ("lesson.srt", "lesson.vtt", "chapters.txt", "transcript.md", "trace.json"):
        assert (tmp_path / "again" / name).read_bytes() == (lesson["out"] / name).read_bytes(), name


def test_a_chapter_that_does_not_depend_on_tau_is_reused_for_another_tau(lesson, fake_chapters, rings_trace,
                                                                         tmp_path):
    """The task (chapter 2) neither draws nor says τ; the loss (chapter 5) does: a run of another τ draws
    chapter 5 only."""
    other = json.loads(json.dumps(rings_trace))
    other["config"]["tau"] = 5.0
    trace_file = tracemod.save(other, tmp_path / "tau5.json")
    result = invoke(render_args(trace_file, tmp_path / "tau5", chapters=[2, 5]))
    assert result.exit_code == 0, result.output
    assert fake_chapters.calls == [(5, 5.0, False)]


def _write(path, data):
    path.write_bytes(data)
    return path


def test_entry_filed_by_another_process_meanwhile_is_kept(tmp_path, monkeypatch, rings_trace):
    """The race two renders of the same chapter run: the second to finish keeps the first one's entry."""
    monkeypatch.setenv("KDANIM_CACHE", str(tmp_path / "cache"))
    opts = RenderOptions(quality="low", voice="none", chapters=[5])
    job = ChapterJob(DistillationLoss, rings_trace, opts, code_version())
    entry = tmp_path / "cache" / "chapters" / chapter_key(job)

    def render_while_another_files_it(chapter_cls, trace, opts, work, on_beat=None):
        entry.mkdir(parents=True)
        (entry / "chapter.mp4").write_bytes(b"the other render")
        (entry / "timeline.json").write_text(json.dumps({"chapter": 5, "theirs": True}))
        return ChapterResult(5, "x", _write(work / "ours.mp4", b"our render"), None, {"chapter": 5, "theirs": False})

    monkeypatch.setattr("kdanim.render.workers.render_chapter", render_while_another_files_it)
    res = _render_cached(job)
    assert res.video == entry / "chapter.mp4" and res.video.read_bytes() == b"the other render"
    assert res.timeline["theirs"] is True
    assert leftovers(tmp_path / "cache") == []

    # --no-cache: the new render replaces the entry
    entry_files = {p.name for p in entry.iterdir()}
    opts.use_cache = False
    monkeypatch.setattr("kdanim.render.workers.render_chapter", lambda c, t, o, work, on_beat=None: ChapterResult(
        5, "x", _write(work / "new.mp4", b"newer"), None, {"chapter": 5, "new": True}))
    res = _render_cached(job)
    assert res.video.read_bytes() == b"newer" and json.loads((entry / "timeline.json").read_text())["new"]
    assert {p.name for p in entry.iterdir()} == entry_files
    assert leftovers(tmp_path / "cache") == []


def test_entry_filed_by_another_process_between_the_look_and_the_rename_is_kept(tmp_path, monkeypatch,
                                                                               rings_trace):
    """The narrower race (two preview renders hit it in the suite): the other process files its entry after
    this one looked for it and before this one renames its own into place. The rename onto a full folder
    fails; this render keeps theirs (with --no-cache, swaps it for its own) instead of stopping."""
    import kdanim.render.cache as cachemod

    monkeypatch.setenv("KDANIM_CACHE", str(tmp_path / "cache"))
    opts = RenderOptions(quality="low", voice="none", chapters=[5])
    job = ChapterJob(DistillationLoss, rings_trace, opts, code_version())
    entry = tmp_path / "cache" / "chapters" / chapter_key(job)
    real = cachemod.replace_dir

    def another_files_it_first(staging, out):
        if not out.exists():
            out.mkdir(parents=True)
            (out / "chapter.mp4").write_bytes(b"the other render")
            (out / "timeline.json").write_text(json.dumps({"chapter": 5, "theirs": True}))
            monkeypatch.setattr(cachemod, "replace_dir", real)
            raise OSError(errno.ENOTEMPTY, os.strerror(errno.ENOTEMPTY), str(out))
        return real(staging, out)

    for use_cache, want in ((True, b"the other render"), (False, b"ours")):
        shutil.rmtree(entry, ignore_errors=True)
        opts.use_cache = use_cache
        monkeypatch.setattr(cachemod, "replace_dir", another_files_it_first)
        monkeypatch.setattr("kdanim.render.workers.render_chapter", lambda c, t, o, work, on_beat=None: ChapterResult(
            5, "x", _write(work / "ours.mp4", b"ours"), None, {"chapter": 5, "theirs": False}))
        res = _render_cached(job)
        assert res.video == entry / "chapter.mp4" and res.video.read_bytes() == want
        assert res.timeline["theirs"] is use_cache
        assert leftovers(tmp_path / "cache") == []


# -- interruptions ---------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["kdanim.publish.media.mux", "kdanim.publish.media.grab_frame",
                                   "kdanim.trace.save", "kdanim.publish.page.write_page"])
def test_interrupted_render_leaves_the_previous_folder_intact(lesson, fake_chapters, trace_file, tmp_path,
                                                               monkeypatch, where):
    out = tmp_path / "out"
    before = copy_of(lesson["out"], out)

    def interrupt(*a, **kw):
        raise KeyboardInterrupt

    module, name = where.rsplit(".", 1)
    monkeypatch.setattr(sys.modules[module], name, interrupt)
    # a different lesson (chapter 9 only, from the cache) that would replace every file
    result = invoke(render_args(trace_file, out, chapters=[9]))
    assert result.exit_code == 1 and "Aborted" in result.output
    assert snapshot(out) == before, "the previous output folder changed"
    assert leftovers(tmp_path) == []


def test_interrupted_filing_leaves_no_half_filed_cache_entry(fake_chapters, fake_cache, trace_file, tmp_path,
                                                             monkeypatch):
    """Interrupted while filing a fresh chapter render into the cache: no staging folder stays behind."""
    def interrupt(*a, **kw):
        raise KeyboardInterrupt

    before = sorted(p.name for p in (fake_cache / "chapters").iterdir())
    monkeypatch.setattr("kdanim.render.cache.replace_dir", interrupt)
    result = invoke(render_args(trace_file, tmp_path / "out", "--no-cache", chapters=[5]))
    assert result.exit_code == 1 and "Aborted" in result.output
    assert fake_chapters.calls == [(5, 3.0, False)]
    assert sorted(p.name for p in (fake_cache / "chapters").iterdir()) == before
    assert not (tmp_path / "out").exists(), "a render that produced nothing leaves no folder"


def test_full_disk_is_one_line_and_keeps_the_previous_folder(lesson, fake_chapters, trace_file, tmp_path,
                                                             monkeypatch):
    out = tmp_path / "out"
    before = copy_of(lesson["out"], out)

    def disk_full(video, audio, dest, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dest))

    monkeypatch.setattr(media, "mux", disk_full)
    result = invoke(render_args(trace_file, out, chapters=[9]))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: could not write ") and "No space left on device" in lines[-1]
    assert "Traceback" not in result.output
    assert snapshot(out) == before and leftovers(tmp_path) == []


# -- other formats ---------------------------------------------------------------------------------

def test_gif_has_no_audio(lesson, fake_chapters, trace_file, tmp_path):
    result = invoke(render_args(trace_file, tmp_path / "gif", "--format", "gif", chapters=[9]))
    assert result.exit_code == 0, result.output
    assert fake_chapters.calls == [], "chapter 9 is cached"
    gif = tmp_path / "gif" / "lesson.gif"
    info = media.probe(gif)
    assert info["format"] == "gif" and info["audio"] is None and info["video"]["codec"] == "gif"
    length = next(c["length"] for c in lesson["manifest"]["chapters"] if c["number"] == 9)
    assert abs(info["video_duration"] - length) < 0.3
    with Image.open(gif) as im:
        assert im.n_frames > 10
    manifest = json.loads((tmp_path / "gif" / "manifest.json").read_text())
    assert "lesson.gif" in {f["name"] for f in manifest["files"]} and not (tmp_path / "gif" / "lesson.mp4").exists()
    assert not (tmp_path / "gif" / "index.html").exists(), "a gif is just the file: no page"


def test_webm_beside_the_mp4(lesson, fake_chapters, trace_file, tmp_path):
    result = invoke(render_args(trace_file, tmp_path / "both", "--webm"))
    assert result.exit_code == 0, result.output
    mp4, webm = (media.probe(tmp_path / "both" / f"lesson.{ext}") for ext in ("mp4", "webm"))
    assert (webm["video"]["codec"], webm["audio"]["codec"]) == ("vp9", "opus")
    assert abs(webm["video_duration"] - mp4["video_duration"]) < 0.1 and webm["audio_rms"] > 0.02
    assert [c["title"] for c in webm["chapters"]] == [c["title"] for c in mp4["chapters"]]
    assert "lesson.webm" in (tmp_path / "both" / "index.html").read_text()


def test_preview_writes_one_png_per_chapter(fake_chapters, trace_file, tmp_path):
    result = invoke(render_args(trace_file, tmp_path / "stills", "--preview", voice="none"))
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "stills").iterdir())
    assert names == ["manifest.json"] + [f"preview-{n:02d}.png" for n in CHAPTERS]
    manifest = json.loads((tmp_path / "stills" / "manifest.json").read_text())
    assert [f["name"] for f in manifest["files"]] == manifest["preview"] == names[1:]
    assert [c[2] for c in fake_chapters.calls] == [True] * len(CHAPTERS)
    for n in CHAPTERS:
        with Image.open(tmp_path / "stills" / f"preview-{n:02d}.png") as im:
            assert im.getpixel((5, 5)) == colour(n, 2), "the still of the chapter's last beat"
