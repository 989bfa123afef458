"""`kdanim render` end to end: the published folder, the caches, interruptions, concurrent renders.

One real render (chapters 5 and 9, low quality, the real Piper voice) is made
once per module into a private cache ($KDANIM_CACHE) and checked from every
side; the later renders reuse its cached chapters, so the module costs about
one minute on 2 cores.
"""

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import av
import numpy as np
import pytest
import srt
import webvtt
from click.testing import CliRunner
from PIL import Image

from kdanim import media, page, render as render_mod, trace as tracemod  # noqa: F401 (page: patched by name)
from kdanim.cli import main
from kdanim.narration import voices

CHAPTERS = [5, 9]  # the two shortest chapters (≈ 40 s and 30 s of speech)
ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from kdanim.cli import main; main(prog_name='kdanim')"]


class VoiceSpy:
    """Records every voice kdanim creates, to read their synthesis counters."""

    def __init__(self, mp):
        self.voices = []
        real = voices.get_voice

        def spy(*a, **kw):
            v = real(*a, **kw)
            self.voices.append(v)
            return v

        mp.setattr(voices, "get_voice", spy)

    def total(self, attr):
        return sum(getattr(v, attr) for v in self.voices)


def render_args(trace_file, out, *extra, chapters=CHAPTERS, voice="piper"):
    # One process (--jobs 1): the spies and monkeypatches below live in this process.
    return ["render", "--trace", str(trace_file), "--quality", "low", "--voice", voice, "--jobs", "1",
            "--chapters", ",".join(map(str, chapters)), "--out", str(out), *extra]


def invoke(args):
    return CliRunner().invoke(main, args)


def snapshot(folder):
    """{name: bytes} of every entry in a folder (hidden ones included)."""
    return {p.name: (p.read_bytes() if p.is_file() else None) for p in Path(folder).iterdir()}


def leftovers(folder):
    """Temporary files and folders left under ``folder`` (a publish stages beside the output folder)."""
    return [p.name for p in Path(folder).rglob("*")
            if ".tmp" in p.name or ".staging-" in p.name or p.name.endswith(".old")
            or p.name.startswith((".old-", ".trash-"))]


@pytest.fixture(scope="module")
def trace_file(tmp_path_factory):
    from kdanim.sim.config import SimConfig
    from kdanim.trace import simulate_trace

    path = tmp_path_factory.mktemp("trace") / "trace.json"
    tracemod.save(simulate_trace(SimConfig(epochs=12), measure_latency=False), path)
    return path


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        root = tmp_path_factory.mktemp("cache")
        mp.setenv("KDANIM_CACHE", str(root))
        # The code hash is taken once: an edit to the sources while the module runs (in a working
        # copy) must not turn the cached chapters of the first render into misses.
        code = render_mod.code_version()
        mp.setattr(render_mod, "code_version", lambda: code)
        yield root


@pytest.fixture(scope="module")
def lesson(cache, trace_file, tmp_path_factory):
    """The cold render: every chapter rendered and every clip synthesized by Piper."""
    out = tmp_path_factory.mktemp("lesson")
    with pytest.MonkeyPatch.context() as mp:
        spy = VoiceSpy(mp)
        t0 = time.perf_counter()
        result = invoke(render_args(trace_file, out))
        seconds = time.perf_counter() - t0
    assert result.exit_code == 0, result.output
    timelines = {}
    for meta in (cache / "chapters").glob("*/timeline.json"):
        tl = json.loads(meta.read_text())
        timelines[tl["chapter"]] = tl
    figures = {"wall_seconds": seconds, "synth_seconds": spy.total("synth_seconds"),
               "load_seconds": spy.total("load_seconds"), "audio_seconds": spy.total("audio_seconds"),
               "synth_count": spy.total("synth_count")}
    print(f"\ncold render of chapters {CHAPTERS}: {figures}")
    return {"out": out, "result": result, "manifest": json.loads((out / "manifest.json").read_text()),
            "timelines": timelines, "figures": figures, "info": media.probe(out / "lesson.mp4")}


# -- 1. the published folder ---------------------------------------------------

def test_folder_holds_exactly_the_published_files(lesson):
    names = sorted(p.name for p in lesson["out"].iterdir())
    assert names == sorted(["lesson.mp4", "lesson.srt", "lesson.vtt", "transcript.md", "chapters.txt",
                            "thumbnail.png", "trace.json", "manifest.json", "index.html", "page.css", "page.js"])
    assert "cached" not in lesson["result"].stderr
    assert lesson["figures"]["synth_count"] > 0, "the cold render synthesized its narration"


def test_mp4_streams_audio_and_sync(lesson):
    info = lesson["info"]
    assert info["video"]["codec"] == "h264" and info["audio"]["codec"] == "aac"
    assert (info["video"]["width"], info["video"]["height"]) == (854, 480)
    assert info["audio_rms"] > 0.02, f"the narration is silent (RMS {info['audio_rms']:.4f})"
    assert abs(info["audio_duration"] - info["video_duration"]) < 0.2
    assert abs(info["video_duration"] - lesson["manifest"]["duration"]) < 0.1
    atoms = media.mp4_atoms(lesson["out"] / "lesson.mp4")
    assert atoms.index("moov") < atoms.index("mdat"), f"moov must come first for the web: {atoms}"


def test_audio_is_speech_where_the_cues_are(lesson):
    """Louder inside the subtitle cues than in the gaps between them: the speech sits at the cue times."""
    with av.open(str(lesson["out"] / "lesson.mp4")) as c:
        frames = [(f.time, f.to_ndarray().astype(np.float64).ravel(), f.sample_rate) for f in c.decode(audio=0)]
    rate = frames[0][2]
    x = np.concatenate([a for _, a, _ in frames])
    t0 = frames[0][0]
    cues = list(srt.parse((lesson["out"] / "lesson.srt").read_text()))
    inside = np.zeros(x.size, bool)
    for cue in cues:
        i, j = (int((cue.start.total_seconds() - t0) * rate), int((cue.end.total_seconds() - t0) * rate))
        inside[max(i, 0):j] = True
    rms_in, rms_out = np.sqrt(np.mean(x[inside] ** 2)), np.sqrt(np.mean(x[~inside] ** 2))
    assert rms_in > 0.03 and rms_out < rms_in / 5, (rms_in, rms_out)


def test_chapter_markers_and_chapters_txt_match_the_manifest(lesson):
    chapters = lesson["manifest"]["chapters"]
    assert [c["number"] for c in chapters] == CHAPTERS
    assert chapters[0]["start"] == 0.0
    marks = lesson["info"]["chapters"]
    assert len(marks) == len(chapters)
    for m, c in zip(marks, chapters):
        assert m["title"] == f"{c['number']}. {c['title']}"
        assert abs(m["start"] - c["start"]) < 1e-3
        assert abs((m["end"] - m["start"]) - c["length"]) < 2e-3
    # the real section starts: chapter k starts where chapter k-1's video ends
    for a, b in zip(chapters, chapters[1:]):
        assert abs(a["start"] + a["length"] - b["start"]) < 2e-3
        assert abs(a["length"] - lesson["timelines"][a["number"]]["duration"]) < 0.1
    want = [f"{int(c['start']) // 60:02d}:{int(c['start']) % 60:02d} {c['number']}. {c['title']}"
            for c in chapters]
    assert (lesson["out"] / "chapters.txt").read_text().splitlines() == want


def _wav_seconds(path):
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def test_subtitles_parse_and_each_cue_lasts_as_long_as_its_clip(lesson):
    """Every cue of lesson.srt / lesson.vtt is one synthesized clip, and lasts exactly as long (±1 ms)."""
    out, manifest = lesson["out"], lesson["manifest"]
    lines = []
    for ch in manifest["chapters"]:
        for line in lesson["timelines"][ch["number"]]["lines"]:
            lines.append((ch["start"] + line["start"], line))
    srt_cues = list(srt.parse((out / "lesson.srt").read_text()))
    vtt_cues = list(webvtt.read(str(out / "lesson.vtt")))
    assert len(srt_cues) == len(vtt_cues) == len(lines) > 10
    for s, v, (start, line) in zip(srt_cues, vtt_cues, lines):
        assert line["path"] and Path(line["path"]).is_file(), "every cue has its synthesized clip"
        clip = _wav_seconds(line["path"])
        for a, b, text in ((s.start.total_seconds(), s.end.total_seconds(), s.content),
                           (v.start_time.in_milliseconds() / 1000, v.end_time.in_milliseconds() / 1000, v.text)):
            assert abs((b - a) - clip) <= 1e-3 + 1e-9, (text, b - a, clip)
            assert abs(a - start) <= 1.5e-3
            assert " ".join(text.split()) == line["text"]
            assert all(len(row) <= 48 for row in text.splitlines()) and len(text.splitlines()) <= 2
    # the clips are the voice cache's: synthesizing a cue's text again is a cache hit of the same length
    v = voices.get_voice("piper")
    u = v.synthesize(lines[3][1]["text"])
    assert v.synth_count == 0 and v.cache_hits == 1 and str(u.path) == lines[3][1]["path"]


def test_thumbnail_transcript_and_trace(lesson, trace_file):
    out = lesson["out"]
    with Image.open(out / "thumbnail.png") as im:
        assert im.size == (1280, 720)
        assert np.asarray(im.convert("L")).std() > 5, "the thumbnail is not a blank frame"
    loaded = tracemod.load(out / "trace.json")
    assert tracemod.content_hash(loaded) == tracemod.content_hash(tracemod.load(trace_file))
    assert lesson["manifest"]["trace_content_hash"] == tracemod.content_hash(loaded)
    transcript = (out / "transcript.md").read_text()
    for ch in lesson["manifest"]["chapters"]:
        assert f"{ch['number']}. {ch['title']}" in transcript
        for beat in lesson["timelines"][ch["number"]]["beats"]:
            assert beat in transcript


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


# -- 2. caching ------------------------------------------------------------------

def test_second_identical_render_does_no_work(lesson, trace_file, tmp_path, monkeypatch):
    def must_not_render(*a, **kw):
        raise AssertionError("a cached chapter was rendered again")

    monkeypatch.setattr(render_mod, "render_chapter", must_not_render)
    spy = VoiceSpy(monkeypatch)
    result = invoke(render_args(trace_file, tmp_path / "again"))
    assert result.exit_code == 0, result.output
    assert len(re.findall(r"\bcached\b", result.stderr)) == len(CHAPTERS)
    assert spy.total("synth_count") == 0 and spy.total("synth_seconds") == 0
    for name in ("lesson.srt", "lesson.vtt", "chapters.txt", "transcript.md", "trace.json"):
        assert (tmp_path / "again" / name).read_bytes() == (lesson["out"] / name).read_bytes(), name
    info = media.probe(tmp_path / "again" / "lesson.mp4", rms=False)
    assert abs(info["video_duration"] - lesson["info"]["video_duration"]) < 1e-6


def test_rerendering_a_chapter_synthesizes_nothing(lesson, trace_file, tmp_path, monkeypatch):
    """--no-cache draws the chapter again, but its narration all comes from the voice cache."""
    spy = VoiceSpy(monkeypatch)
    calls = []
    real = render_mod.render_chapter
    monkeypatch.setattr(render_mod, "render_chapter", lambda *a, **kw: calls.append(a[0]) or real(*a, **kw))
    t0 = time.perf_counter()
    result = invoke(render_args(trace_file, tmp_path / "again", "--no-cache", chapters=[5]))
    seconds = time.perf_counter() - t0
    assert result.exit_code == 0, result.output
    assert [c.number for c in calls] == [5]
    n_lines = len(lesson["timelines"][5]["lines"])
    assert spy.total("synth_count") == 0 and spy.total("cache_hits") == n_lines
    print(f"\nre-render of chapter 5 with a warm voice cache: {seconds:.1f} s, "
          f"synthesis {spy.total('synth_seconds'):.2f} s ({spy.total('cache_hits')} clips from the cache)")
    # chapter 5 opens the module's lesson: its cues are the first ones there, unchanged
    alone = [(c.start, c.end, c.content) for c in srt.parse((tmp_path / "again" / "lesson.srt").read_text())]
    first = [(c.start, c.end, c.content) for c in srt.parse((lesson["out"] / "lesson.srt").read_text())]
    assert CHAPTERS[0] == 5 and alone == first[:n_lines]


# -- 3. interrupted renders --------------------------------------------------------

@pytest.mark.parametrize("where", ["kdanim.media.mux", "kdanim.media.grab_frame", "kdanim.trace.save",
                                   "kdanim.page.write_page"])
def test_interrupted_render_leaves_the_previous_folder_intact(lesson, trace_file, tmp_path, monkeypatch, where):
    out = tmp_path / "out"
    out.mkdir()
    for p in lesson["out"].iterdir():
        (out / p.name).write_bytes(p.read_bytes())
    before = snapshot(out)

    def interrupt(*a, **kw):
        raise KeyboardInterrupt

    module, name = where.rsplit(".", 1)
    monkeypatch.setattr(sys.modules[module], name, interrupt)
    # a different lesson (chapter 9 only, from the cache) that would replace every file
    result = invoke(render_args(trace_file, out, chapters=[9]))
    assert result.exit_code != 0
    assert snapshot(out) == before, "the previous output folder changed"
    assert leftovers(tmp_path) == []


def test_interrupted_chapter_render_leaves_no_half_filed_cache_entry(lesson, trace_file, tmp_path, monkeypatch,
                                                                     cache):
    """Interrupted while filing a fresh chapter render into the cache: no staging folder stays behind."""
    def drawn(chapter_cls, trace, opts, work, on_beat=None):  # stands for Manim: a finished chapter video in `work`
        return render_mod.ChapterResult(5, "x", _write(work / "ch.mp4", b"video"), None, {"chapter": 5})

    def interrupt(*a, **kw):
        raise KeyboardInterrupt

    before = sorted(p.name for p in (cache / "chapters").iterdir())
    monkeypatch.setattr(render_mod, "render_chapter", drawn)
    monkeypatch.setattr(render_mod, "_file_entry", interrupt)
    result = invoke(render_args(trace_file, tmp_path / "out", "--no-cache", chapters=[5]))
    assert result.exit_code == 1 and "Aborted" in result.output
    assert sorted(p.name for p in (cache / "chapters").iterdir()) == before
    assert not (tmp_path / "out").exists(), "a render that produced nothing leaves no folder"


def test_full_disk_is_one_line_and_keeps_the_previous_folder(lesson, trace_file, tmp_path, monkeypatch):
    import errno

    out = tmp_path / "out"
    out.mkdir()
    for p in lesson["out"].iterdir():
        (out / p.name).write_bytes(p.read_bytes())
    before = snapshot(out)

    def disk_full(video, audio, dest, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dest))

    monkeypatch.setattr(media, "mux", disk_full)
    result = invoke(render_args(trace_file, out, chapters=[9]))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: could not write ") and "No space left on device" in lines[-1]
    assert "Traceback" not in result.output
    assert snapshot(out) == before and leftovers(tmp_path) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_killed_render_leaves_folder_cache_and_tmp_clean(lesson, trace_file, tmp_path, cache, sig):
    """A real `kdanim render` process stopped by a signal in the middle of drawing a chapter."""
    out = tmp_path / "out"
    out.mkdir()
    for p in lesson["out"].iterdir():
        (out / p.name).write_bytes(p.read_bytes())
    before, cache_before = snapshot(out), sorted(cache.rglob("*"))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "KDANIM_CACHE": str(cache), "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(CLI + render_args(trace_file, out, "--no-cache", "-q", chapters=[9], voice="none"),
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not list(tmp.glob("kdanim-ch09-*/media")) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, "the render ended before it could be stopped"
        time.sleep(1.0)  # well inside Manim's drawing of the chapter
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode != 0 and "Traceback" not in stderr, stderr
    assert snapshot(out) == before and leftovers(tmp_path) == []
    assert sorted(cache.rglob("*")) == cache_before, "nothing half-filed in the cache"
    assert list(tmp.iterdir()) == [], "the chapter's work folder is removed"


# -- 4. two renders at the same time ---------------------------------------------------

def test_entry_filed_by_another_process_meanwhile_is_kept(tmp_path, monkeypatch, trace_file):
    """The race two renders of the same chapter run: the second to finish keeps the first one's entry."""
    from scenes import DistillationLoss

    monkeypatch.setenv("KDANIM_CACHE", str(tmp_path / "cache"))
    trace = tracemod.load(trace_file)
    opts = render_mod.RenderOptions(quality="low", voice="none", chapters=[5])
    code = render_mod.code_version()
    entry = tmp_path / "cache" / "chapters" / render_mod.chapter_key(DistillationLoss, trace, opts, code)

    def render_while_another_files_it(chapter_cls, trace, opts, work, on_beat=None):
        entry.mkdir(parents=True)
        (entry / "chapter.mp4").write_bytes(b"the other render")
        (entry / "timeline.json").write_text(json.dumps({"chapter": 5, "theirs": True}))
        (work / "ours.mp4").write_bytes(b"our render")
        return render_mod.ChapterResult(5, "x", work / "ours.mp4", None, {"chapter": 5, "theirs": False})

    monkeypatch.setattr(render_mod, "render_chapter", render_while_another_files_it)
    res = render_mod._render_cached((DistillationLoss, trace, opts, code))
    assert res.video == entry / "chapter.mp4" and res.video.read_bytes() == b"the other render"
    assert res.timeline["theirs"] is True
    assert leftovers(tmp_path / "cache") == []

    # --no-cache: the new render replaces the entry
    entry_files = {p.name for p in entry.iterdir()}
    opts.use_cache = False
    monkeypatch.setattr(render_mod, "render_chapter", lambda c, t, o, work, on_beat=None: render_mod.ChapterResult(
        5, "x", _write(work / "new.mp4", b"newer"), None, {"chapter": 5, "new": True}))
    res = render_mod._render_cached((DistillationLoss, trace, opts, code))
    assert res.video.read_bytes() == b"newer" and json.loads((entry / "timeline.json").read_text())["new"]
    assert {p.name for p in entry.iterdir()} == entry_files
    assert leftovers(tmp_path / "cache") == []


def _write(path, data):
    path.write_bytes(data)
    return path


def test_two_processes_render_into_different_folders_at_once(trace_file, tmp_path):
    """Two `kdanim render` processes at once, sharing a fresh cache: both folders complete and equal."""
    env = {**os.environ, "KDANIM_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    cmd = CLI
    outs = [tmp_path / "a", tmp_path / "b"]
    procs = [subprocess.Popen(cmd + render_args(trace_file, o, "-q", chapters=[9]), env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for o in outs]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    for out, (stdout, stderr, rc) in zip(outs, results):
        assert rc == 0, stderr
        assert "Traceback" not in stderr
    manifests = [json.loads((o / "manifest.json").read_text()) for o in outs]
    assert manifests[0]["chapters"] == manifests[1]["chapters"]
    for name in ("lesson.srt", "lesson.vtt", "chapters.txt", "transcript.md", "trace.json"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    for out, manifest in zip(outs, manifests):
        for f in manifest["files"]:
            assert hashlib.sha256((out / f["name"]).read_bytes()).hexdigest() == f["sha256"]
        info = media.probe(out / "lesson.mp4")
        assert info["audio_rms"] > 0.02 and abs(info["audio_duration"] - info["video_duration"]) < 0.2
    # one cache entry for the chapter, nothing half-filed, no stray Manim media folder in the cwd
    assert len(list((tmp_path / "cache" / "chapters").iterdir())) == 1
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "media").exists()


def test_parallel_jobs_render_the_same_lesson(lesson, trace_file, tmp_path):
    """--jobs 2: both chapters drawn again at once in two worker processes: the lesson of the serial render."""
    out = tmp_path / "parallel"
    result = invoke(render_args(trace_file, out, "--no-cache", "--jobs", "2"))
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["chapters"] == lesson["manifest"]["chapters"] and manifest["duration"] == lesson["manifest"]["duration"]
    for name in ("lesson.srt", "lesson.vtt", "chapters.txt", "transcript.md", "trace.json"):
        assert (out / name).read_bytes() == (lesson["out"] / name).read_bytes(), name
    info = media.probe(out / "lesson.mp4")
    assert abs(info["video_duration"] - lesson["info"]["video_duration"]) < 1e-6 and info["audio_rms"] > 0.02
    assert "cached" not in result.stderr, "the chapters were drawn again, in the workers"


# -- 5. other formats -----------------------------------------------------------------

def test_gif_has_no_audio(lesson, trace_file, tmp_path, monkeypatch):
    monkeypatch.setattr(render_mod, "render_chapter", lambda *a, **kw: pytest.fail("chapter 9 is cached"))
    result = invoke(render_args(trace_file, tmp_path / "gif", "--format", "gif", chapters=[9]))
    assert result.exit_code == 0, result.output
    gif = tmp_path / "gif" / "lesson.gif"
    info = media.probe(gif)
    assert info["format"] == "gif" and info["audio"] is None and info["video"]["codec"] == "gif"
    length = next(c["length"] for c in lesson["manifest"]["chapters"] if c["number"] == 9)
    assert abs(info["video_duration"] - length) < 0.3
    with Image.open(gif) as im:
        assert im.n_frames > 10 and im.width == 640
    manifest = json.loads((tmp_path / "gif" / "manifest.json").read_text())
    assert "lesson.gif" in {f["name"] for f in manifest["files"]} and not (tmp_path / "gif" / "lesson.mp4").exists()


def test_preview_writes_one_png_per_chapter(cache, trace_file, tmp_path):
    result = invoke(render_args(trace_file, tmp_path / "stills", "--preview", voice="none"))
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "stills").iterdir())
    assert names == ["manifest.json"] + [f"preview-{n:02d}.png" for n in CHAPTERS]
    manifest = json.loads((tmp_path / "stills" / "manifest.json").read_text())
    assert [f["name"] for f in manifest["files"]] == manifest["preview"] == names[1:]
    for n in names[1:]:
        with Image.open(tmp_path / "stills" / n) as im:
            assert im.size == (854, 480) and np.asarray(im.convert("L")).std() > 5
