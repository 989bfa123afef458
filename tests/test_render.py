"""`kdanim render` with Manim and Piper: the session's real lesson, the caches, processes stopped and run at once.

The lesson (chapters 5 and 9, low quality, the real Piper voice) is rendered once per session
into the session cache (conftest.py ``real_lesson``); the later renders here reuse its cached
chapters and clips. The lesson folder itself is checked in depth on fake chapters in
test_lesson_folder.py; this module checks what only a real render shows.
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
from click.testing import CliRunner
from PIL import Image

from conftest import REAL_CHAPTERS as CHAPTERS, render_args, voice_clips
from kdanim.cli import main
from kdanim.narration import voices
from kdanim.publish import media
from kdanim.render.options import CHAPTER_STEP, SPEECH_LEAD

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from kdanim.cli import main; main(prog_name='kdanim')"]
SAME_LESSON = ("lesson.srt", "lesson.vtt", "chapters.txt", "transcript.md", "trace.json")

pytestmark = pytest.mark.slow


def invoke(args):
    return CliRunner().invoke(main, args)


def snapshot(folder):
    return {p.name: (p.read_bytes() if p.is_file() else None) for p in Path(folder).iterdir()}


def leftovers(folder):
    return [p.name for p in Path(folder).rglob("*")
            if ".tmp" in p.name or ".staging-" in p.name or p.name.endswith(".old")
            or p.name.startswith((".old-", ".trash-"))]


class Renders:
    """Counts the chapters drawn in this process (kdanim.render.workers.render_chapter, still the real one)."""

    def __init__(self, mp):
        import kdanim.render.workers as workers

        self.chapters = []
        real = workers.render_chapter
        mp.setattr(workers, "render_chapter", lambda c, *a, **kw: self.chapters.append(c.number) or real(c, *a, **kw))


# -- what a real render makes --------------------------------------------------------------------

def test_the_cold_render_draws_and_voices_every_chapter(real_lesson):
    names = sorted(p.name for p in real_lesson["out"].iterdir())
    assert names == sorted(["lesson.mp4", "lesson.srt", "lesson.vtt", "transcript.md", "chapters.txt",
                            "thumbnail.png", "contact-sheet.png", "trace.json", "manifest.json", "index.html", "page.css", "page.js"])
    assert "cached" not in real_lesson["result"].stderr
    assert real_lesson["synthesized"], "the cold render synthesized its narration"


def test_mp4_is_manim_low_quality_with_the_spoken_narration(real_lesson):
    info = real_lesson["info"]
    assert (info["video"]["codec"], info["audio"]["codec"]) == ("h264", "aac")
    assert (info["video"]["width"], info["video"]["height"]) == (854, 480) and abs(info["video"]["fps"] - 15) < 0.01
    assert info["audio_rms"] > 0.02, f"the narration is silent (RMS {info['audio_rms']:.4f})"
    assert abs(info["audio_duration"] - info["video_duration"]) < 0.2
    for c in real_lesson["manifest"]["chapters"]:  # each chapter as long as Manim's timeline says
        assert abs(c["length"] - real_lesson["timelines"][c["number"]]["duration"]) < 0.1
        # a whole number of steps (its last frame held): every chapter starts on an AAC frame of the track
        samples = round(real_lesson["timelines"][c["number"]]["duration"] * media.AUDIO_RATE, 6)
        assert samples % round(CHAPTER_STEP * media.AUDIO_RATE) == 0 and samples % 1024 == 0, samples
        # its first words after a silent lead-in longer than the look-ahead of the AAC piece before it
        assert real_lesson["timelines"][c["number"]]["lines"][0]["start"] == pytest.approx(SPEECH_LEAD)
    assert SPEECH_LEAD * media.AUDIO_RATE >= media._AAC_AFTER + 1000  # room for the resampler's ringing


def test_speech_sits_in_the_cues(real_lesson):
    """Louder inside the subtitle cues than in the gaps between them: Piper's speech is at the cue times."""
    out = real_lesson["out"]
    with av.open(str(out / "lesson.mp4")) as c:
        frames = [(f.time, f.to_ndarray().astype(np.float64).ravel(), f.sample_rate) for f in c.decode(audio=0)]
    rate, t0 = frames[0][2], frames[0][0]
    x = np.concatenate([a for _, a, _ in frames])
    inside = np.zeros(x.size, bool)
    for cue in srt.parse((out / "lesson.srt").read_text()):
        inside[max(int((cue.start.total_seconds() - t0) * rate), 0):int((cue.end.total_seconds() - t0) * rate)] = True
    rms_in, rms_out = np.sqrt(np.mean(x[inside] ** 2)), np.sqrt(np.mean(x[~inside] ** 2))
    assert rms_in > 0.03 and rms_out < rms_in / 5, (rms_in, rms_out)


def test_every_cue_is_a_piper_clip_of_the_voice_cache(real_lesson):
    lines = [line for n in CHAPTERS for line in real_lesson["timelines"][n]["lines"]]
    cues = list(srt.parse((real_lesson["out"] / "lesson.srt").read_text()))
    assert len(cues) == len(lines) > 10
    for cue, line in zip(cues, lines):
        with wave.open(line["path"], "rb") as w:
            clip = w.getnframes() / w.getframerate()
        # on screen from its speech's start for its speech's length, or longer where reading it needs (≤ 20 cps)
        shown = (cue.end - cue.start).total_seconds()
        assert clip - 0.14 <= shown <= max(clip, len(line["text"]) / 20 + 0.01, 5 / 6 + 0.01) + 1e-3, line["text"]
        assert Path(line["path"]) in real_lesson["synthesized"]
    # synthesizing a cue's text again is a cache hit on the same clip
    v = voices.get_voice("piper")
    u = v.synthesize(lines[3]["text"])
    assert v.synth_count == 0 and v.cache_hits == 1 and str(u.path) == lines[3]["path"]


def test_thumbnail_is_a_frame_of_the_first_chapter(real_lesson):
    with Image.open(real_lesson["out"] / "thumbnail.png") as im:
        assert im.size == (1280, 720)
        assert np.asarray(im.convert("L")).std() > 5, "the thumbnail is not a blank frame"


# -- the caches --------------------------------------------------------------------------------------

def test_second_identical_render_draws_and_synthesizes_nothing(real_lesson, chapter_cache, trace_file, tmp_path,
                                                               monkeypatch):
    renders, clips = Renders(monkeypatch), voice_clips(chapter_cache)
    result = invoke(render_args(trace_file, tmp_path / "again"))
    assert result.exit_code == 0, result.output
    assert renders.chapters == [] and voice_clips(chapter_cache) == clips
    assert len(re.findall(r"\bcached\b", result.stderr)) == len(CHAPTERS)
    for name in SAME_LESSON:
        assert (tmp_path / "again" / name).read_bytes() == (real_lesson["out"] / name).read_bytes(), name
    info = media.probe(tmp_path / "again" / "lesson.mp4", rms=False)
    assert abs(info["video_duration"] - real_lesson["info"]["video_duration"]) < 1e-6


def test_rerendering_a_chapter_synthesizes_nothing(real_lesson, chapter_cache, trace_file, tmp_path, monkeypatch):
    """--no-cache draws the chapter again, but its narration all comes from the voice cache."""
    renders, clips = Renders(monkeypatch), voice_clips(chapter_cache)
    result = invoke(render_args(trace_file, tmp_path / "again", "--no-cache", chapters=[5]))
    assert result.exit_code == 0, result.output
    assert renders.chapters == [5] and voice_clips(chapter_cache) == clips
    # chapter 5 opens the session's lesson: its cues are the first ones there, unchanged
    alone = [(c.start, c.end, c.content) for c in srt.parse((tmp_path / "again" / "lesson.srt").read_text())]
    first = [(c.start, c.end, c.content) for c in srt.parse((real_lesson["out"] / "lesson.srt").read_text())]
    assert CHAPTERS[0] == 5 and alone == first[:len(alone)] and len(alone) == len(real_lesson["timelines"][5]["lines"])


# -- processes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_killed_render_leaves_folder_cache_and_tmp_clean(real_lesson, chapter_cache, trace_file, tmp_path, sig):
    """A real `kdanim render` process stopped by a signal in the middle of drawing a chapter."""
    out = tmp_path / "out"
    out.mkdir()
    for p in real_lesson["out"].iterdir():
        (out / p.name).write_bytes(p.read_bytes())
    before, cache_before = snapshot(out), sorted(chapter_cache.rglob("*"))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "KDANIM_CACHE": str(chapter_cache), "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)}
    # chapter 3, the longest (about 10 s at low quality): a shorter one can end within the second waited below.
    # The render starts as from a shell, with SIGINT unblocked and its default handler: a child inherits its
    # parent's blocked and ignored signals, and this test process may have them from the tests before it
    # (in the full suite the render twice ignored the signal and finished, exit status 0).
    fresh = ("import signal; signal.pthread_sigmask(signal.SIG_SETMASK, []); "
             "signal.signal(signal.SIGINT, signal.default_int_handler); ")
    inherited = [line.strip() for line in open("/proc/self/status") if line.startswith(("SigBlk", "SigIgn"))]
    cli = [CLI[0], CLI[1], fresh + CLI[2]]
    proc = subprocess.Popen(cli + render_args(trace_file, out, "--no-cache", "-q", chapters=[3], voice="none"),
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not list(tmp.glob("kdanim-ch03-*/media")) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, "the render ended before it could be stopped"
        time.sleep(1.0)  # well inside Manim's drawing of the chapter
        assert proc.poll() is None, "the render ended before the signal: the test needs a longer chapter"
        for _ in range(5):
            # CPython drops an interrupt that lands in a weakref callback ("Exception ignored in ...
            # WeakSet._remove"): then, like a user, press Ctrl-C (send the signal) again
            proc.send_signal(sig)
            try:
                proc.wait(timeout=3)
                break
            except subprocess.TimeoutExpired:
                pass
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode != 0 and "Traceback" not in stderr, (stderr, inherited)
    assert snapshot(out) == before and leftovers(tmp_path) == []
    assert sorted(chapter_cache.rglob("*")) == cache_before, "nothing half-filed in the cache"
    assert list(tmp.iterdir()) == [], "the chapter's work folder is removed"


def test_two_processes_render_into_different_folders_at_once(trace_file, tmp_path):
    """Two `kdanim render` processes at once, sharing a fresh cache: both finish, and file the chapter once.

    (Preview stills: the race between the two is the same as for a video, filing the chapter
    into the cache, and Manim draws a still in a fraction of the time.)
    """
    env = {**os.environ, "KDANIM_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    outs = [tmp_path / "a", tmp_path / "b"]
    procs = [subprocess.Popen(CLI + render_args(trace_file, o, "-q", "--preview", chapters=[9], voice="none"),
                              env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for o in outs]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    for stdout, stderr, rc in results:
        assert rc == 0 and "Traceback" not in stderr, stderr
    manifests = [json.loads((o / "manifest.json").read_text()) for o in outs]
    assert manifests[0]["files"] == manifests[1]["files"] and manifests[0]["preview"] == ["preview-09.png"]
    for out, manifest in zip(outs, manifests):
        for f in manifest["files"]:
            assert hashlib.sha256((out / f["name"]).read_bytes()).hexdigest() == f["sha256"]
    # one cache entry for the chapter, nothing half-filed, no stray Manim media folder in the cwd
    entries = list((tmp_path / "cache" / "chapters").iterdir())
    assert len(entries) == 1 and sorted(p.name for p in entries[0].iterdir()) == ["still.png", "timeline.json"]
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "media").exists()


def test_parallel_jobs_draw_the_same_stills(trace_file, tmp_path):
    """--jobs 2: both chapters drawn at once in two worker processes give the stills of a serial render."""
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    for out, jobs in ((serial, "1"), (parallel, "2")):
        result = invoke(render_args(trace_file, out, "--preview", "--no-cache", "--jobs", jobs, voice="none"))
        assert result.exit_code == 0, result.output
        done = re.findall(r"^\[ ?\d+/\d+\] .*", result.stderr, re.M)  # a line per chapter done (not a terminal)
        assert len(done) == len(CHAPTERS) and not [line for line in done if "cached" in line], result.stderr
    names = [f"preview-{n:02d}.png" for n in CHAPTERS]
    assert sorted(p.name for p in parallel.iterdir()) == ["manifest.json"] + names
    for name in names:
        with Image.open(serial / name) as a, Image.open(parallel / name) as b:
            assert a.size == b.size == (854, 480)
            assert np.array_equal(np.asarray(a), np.asarray(b)), name
            assert np.asarray(a.convert("L")).std() > 5


def test_a_pool_worker_unwinds_on_sigterm_only_while_it_renders(monkeypatch):
    """Between chapters a worker waits for its next task in a semaphore. A SIGTERM taken there by another of
    its threads (Piper's, BLAS's) never reached a Python handler, and the pool waited for that process for
    ever (a bench run hung so). So the handler that unwinds a render is set only while one runs; between
    chapters the signal's default ends the worker."""
    from kdanim.render import workers

    calls = []
    monkeypatch.setattr(workers.signal, "signal", lambda sig, handler: calls.append((sig, handler)))
    monkeypatch.setattr(voices, "_PIPER_THREADS", None)
    monkeypatch.setattr(workers, "_WORKER_QUEUE", None)
    workers._worker_init(type("Queue", (), {"put": lambda self, event: None})())
    assert calls == [(signal.SIGINT, signal.SIG_IGN)] and voices._PIPER_THREADS == 1
    monkeypatch.setattr(workers, "_render_reporting", lambda job, send: calls.append("render") or "done")
    assert workers._render_in_worker(workers.Task("k", None, 0)) == ("k", "done")
    assert calls[1:] == [(signal.SIGTERM, workers._worker_stop), "render", (signal.SIGTERM, signal.SIG_DFL)]
