"""Chapters "rendered" without Manim, for the tests of everything after the drawing.

:class:`FakeRenderer` stands in for `kdanim.render.chapter.render_chapter` (patched as
``kdanim.render.workers.render_chapter``, see the ``fake_chapters`` fixture in conftest.py): for
each chapter it writes a small real H.264 clip with PyAV (a flat colour per beat, a moving bar,
a key frame at every beat as Manim's per-animation segments give, Manim's encoder settings) and returns the
`ChapterResult` Manim's render would, with a timeline of beats and cues laid out as
`kdanim.lesson.Chapter.narrated` lays them out, each cue voiced by a tone of its exact length.
The chapter cache, the progress events, the lesson folder (concatenation, narration track,
subtitles, page, manifest), the deck and the site are all the real code.

    renderer = FakeRenderer(tmp / "voice")
    res = renderer(DistillationLoss, trace, RenderOptions(quality="low"), tmp / "work")
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from kdanim.narration.voices import write_wav
from kdanim.render import ChapterResult

FPS = 15
SIZE = (192, 108)  # 16:9; a PowerPoint slide is at least an inch (96 px) high
SAMPLE_RATE = 22050
SECONDS_PER_WORD = 0.3
CHUNK_GAP, BEAT_PAUSE, EXIT_TIME = 0.15, 0.45, 0.5  # as kdanim.lesson.chapter


def frames(seconds: float, fps: int = FPS) -> int:
    return int(math.ceil(seconds * fps - 1e-9))


def colour(number: int, beat: int) -> tuple[int, int, int]:
    """A colour of its own for every (chapter, beat): what the frame-exact checks look for."""
    r, g, b = colorsys.hsv_to_rgb(((number * 0.13) + beat * 0.31) % 1.0, 0.8, 0.9)
    return int(r * 255), int(g * 255), int(b * 255)


def make_clip(path, segments, fps: int = FPS, size=SIZE) -> Path:
    """An H.264 (yuv420p) clip encoded as Manim encodes the chapters (kdanim.render.options.h264_options:
    High profile, a closed GOP of half the frame rate, 2 B-frames): ``segments`` [(frames, rgb), ...] in
    turn, a white bar moving across, a key frame at the start of every segment (and every GOP)."""
    from kdanim.render.options import h264_options

    w, h = size
    with av.open(str(path), "w") as oc:
        s = oc.add_stream("libx264", rate=fps, options=h264_options({15: "low", 30: "medium", 60: "high"}[fps]))
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        i = 0
        for n, rgb in segments:
            for k in range(n):
                arr = np.empty((h, w, 3), np.uint8)
                arr[:] = rgb
                arr[:, (i * 3) % w] = 255
                frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
                frame.pts = i
                frame.time_base = Fraction(1, fps)
                if k == 0:
                    frame.pict_type = av.video.frame.PictureType.I
                oc.mux(s.encode(frame))
                i += 1
        oc.mux(s.encode(None))
    return Path(path)


def tone(path, seconds: float, hz: float, amp: float = 0.4, rate: int = SAMPLE_RATE) -> Path:
    """A sine of exactly ``seconds`` (to the sample), faded in and out over 10 ms."""
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01) if n else t
    return write_wav(path, amp * np.sin(2 * np.pi * hz * t) * fade, rate)


def chapter_title(chapter_cls, opts) -> str:
    """The title a real render gives the chapter: its script's heading (``key``), or its ``title`` attribute."""
    title = getattr(chapter_cls, "title", None)
    if isinstance(title, str) and title:
        return title
    from kdanim.render import chapter_titles

    return chapter_titles(replace(opts, chapters=[chapter_cls.number]))[chapter_cls.number]


class FakeRenderer:
    """``render_chapter(chapter_cls, trace, opts, work, on_beat=None)`` without Manim.

    Every chapter says τ, at a length that grows with τ (a chapter drawn again for another τ is
    longer or shorter, as a real one is); ``calls`` records (chapter number, τ, preview) for every render.
    """

    def __init__(self, voice_dir):
        self.voice_dir = Path(voice_dir)
        self.calls: list[tuple[int, float, bool]] = []

    def beats(self, chapter_cls, trace) -> list[list[tuple[str, float]]]:
        """(text, seconds) of the cues of each beat."""
        n, tau = chapter_cls.number, trace["config"]["tau"]

        def cue(text, extra_words=0.0):
            return text, frames(SECONDS_PER_WORD * (len(text.split()) + extra_words)) / FPS

        first = [cue(f"Chapter {n} begins here."), cue(f"Tau is {tau:g}.", extra_words=tau)]
        return [first,
                [cue("The second beat says one thing first."), cue("Then it says another thing after a gap.")],
                [cue(f"A last beat ends chapter {n}.")]]

    def _clip(self, text: str, seconds: float) -> Path:
        key = hashlib.sha256(f"{text}|{seconds}".encode()).hexdigest()[:16]
        path = self.voice_dir / key[:2] / f"tone-{key}.wav"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tone(path, seconds, hz=220 + int(key[:4], 16) % 440)
        return path

    def __call__(self, chapter_cls, trace, opts, work, on_beat=None) -> ChapterResult:
        t0 = time.perf_counter()
        n, title = chapter_cls.number, chapter_title(chapter_cls, opts)
        self.calls.append((n, trace["config"]["tau"], opts.preview))
        work = Path(work)
        work.mkdir(parents=True, exist_ok=True)
        silent = opts.voice == "none"
        lines, beats, spans = [], [], []
        t = 0.0
        for b, cues in enumerate(self.beats(chapter_cls, trace)):
            start = frames(t) / FPS  # a beat starts on a frame, as in Manim
            t = start
            for i, (text, d) in enumerate(cues):
                if i:
                    t += CHUNK_GAP
                lines.append({"start": round(t, 6), "text": text, "duration": d,
                              "path": None if silent else str(self._clip(text, d))})
                t += d
            beats.append(" ".join(text for text, _ in cues))
            spans.append([start, t])
            t += BEAT_PAUSE
            if on_beat is not None:
                on_beat(len(beats), t)
        total = frames(t + EXIT_TIME) / FPS
        starts = [frames(s) for s, _ in spans] + [frames(total)]
        segments = [(b - a, colour(n, k)) for k, (a, b) in enumerate(zip(starts, starts[1:]))]
        timeline = {"chapter": n, "title": title, "duration": total, "beats": beats,
                    "beat_spans": spans, "lines": lines}
        if opts.preview:
            from PIL import Image

            still = work / "still.png"
            Image.new("RGB", SIZE, segments[-1][1]).save(still)
            return ChapterResult(n, title, None, still, timeline,
                                 seconds=time.perf_counter() - t0)
        video = make_clip(work / f"ch{n:02d}.mp4", segments)
        return ChapterResult(n, title, video, None, timeline, seconds=time.perf_counter() - t0)
