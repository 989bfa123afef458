"""The typed values the renderer passes around: options, one chapter's job and result, progress events."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kdanim.narration.voices import DEFAULT_VOICE

__all__ = ["QUALITIES", "QUALITY_FPS", "CHAPTER_STEP", "SPEECH_LEAD", "VIDEO_CRF", "h264_options", "RenderOptions", "ChapterJob", "ChapterResult", "Started", "BeatDone", "Finished",
           "Event", "default_jobs"]

#: --quality name -> Manim's quality preset.
QUALITIES = {
    "low": "low_quality",  # 854x480 15 fps
    "medium": "medium_quality",  # 1280x720 30 fps
    "high": "high_quality",  # 1920x1080 60 fps
    "4k": "fourk_quality",  # 3840x2160 60 fps
}
#: --quality name -> frames per second of Manim's preset.
QUALITY_FPS = {"low": 15, "medium": 30, "high": 60, "4k": 60}
#: Every chapter lasts a whole number of these seconds (kdanim.lesson.Chapter holds its last frame up to
#: one step longer): 25,600 samples of the narration track at 48 kHz, i.e. 25 AAC frames of 1024 samples,
#: and a whole number of video frames at 15, 30 and 60 fps. Every chapter then begins on an AAC frame of
#: the lesson's track, so an edit that makes one chapter longer moves the later chapters' narration by
#: whole AAC frames, and their encoded pieces are copied from the narration cache instead of being encoded
#: again (kdanim.publish.media.mux). 0.27 s longer per chapter on average.
CHAPTER_STEP = 25600 / 48000
#: Silence at the start of every chapter, before its first words (a whole frame at 15, 30 and 60 fps): the
#: AAC piece of the chapter before is encoded with this chapter's first 2048 samples after it, as the
#: encoder's look-ahead (kdanim.publish.media._AAC_AFTER). Silent, they are the same whatever the chapter
#: says and at whatever loudness, so an edit to a chapter encodes its own piece again, not its neighbour's.
SPEECH_LEAD = 1 / 15
#: x264's constant-rate factor of every chapter's video (bench/bench_encode.py measured the choice).
VIDEO_CRF = 22


def h264_options(quality: str, crf: int = VIDEO_CRF) -> dict[str, str]:
    """libx264 settings of the chapters' videos, as the upload guides ask: High profile, a closed GOP
    of half the frame rate, at most 2 B-frames in a row. Manim encodes with them (yuv420p, constant
    frame rate), and the lesson's video is their stream copy.

    x264's ultrafast preset with CABAC (the upload guides ask for it) and the 8×8 transform (which makes
    the stream High profile: x264's profile setting is only a ceiling) at CRF 22: on these flat graphics
    it keeps small text sharper than the medium preset at CRF 18 at every quality (PSNR next to strong
    edges 44.5/45.7/48.6 dB against 43.6/43.0/41.7 at 480p/720p/1080p, every frame's worst PSNR higher
    too), for a third of medium's CPU time per frame and 1.3-1.8× its bits (bench/bench_encode.py
    --preset ultrafast+cabac=1 --crf 22).

    x264 runs on one thread, the segment's encoder thread: chapters render a process per core, and
    x264's own frame threads cost CPU to coordinate (3-10% less CPU for three 1080p chapters on two
    processes; the same wall time for one chapter alone, whose drawing thread is the slower one)."""
    gop = QUALITY_FPS[quality] // 2
    return {"crf": str(crf), "preset": "ultrafast", "profile": "high",
            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=2:open-gop=0:cabac=1:8x8dct=1:threads=1"}


def default_jobs(cpus: int | None) -> int:
    """Parallel chapter renders when --jobs is not given: one per core, at most 8."""
    return max(1, min(cpus or 1, 8))


@dataclass
class RenderOptions:
    """How to render: quality, voice, probe class, which chapters, preview stills."""

    quality: str = "high"
    voice: str = DEFAULT_VOICE
    voice_model: str | None = None
    probe_class: int = 0
    theme: str = "dark"
    chapters: list[int] | None = None  # 1-based chapter numbers, None = all
    preview: bool = False
    jobs: int = 1
    verbose: bool = False
    use_cache: bool = True
    sweep: dict | None = None  # kdanim.facts.sweep_view of --sweep: adds the sweep chapter
    scheduler: str | None = None  # render chapters on this Dask scheduler (None: local processes)
    loudness: float = -16.0  # the narration track's integrated loudness, LUFS (kdanim.publish.media.LOUDNESS)
    script: str = "en"  # the lesson's words: a shipped language or a script file (kdanim.narration.script)
    credits: dict | None = None  # --title, --course, --author, --institution given (over the script's front matter)
    check: bool = True  # a layout problem stops the render (False, --no-check: a warning); not in the cache key


@dataclass(frozen=True)
class ChapterJob:
    """One chapter to render: its class, the trace it is drawn from, the options, the code's hash."""

    chapter: type
    trace: dict
    opts: RenderOptions
    code: str

    @property
    def number(self) -> int:
        return self.chapter.number


@dataclass
class ChapterResult:
    number: int
    title: str
    video: Path | None  # None in preview mode
    still: Path | None
    timeline: dict
    cached: bool = False
    seconds: float = 0.0
    # CPU seconds by stage of a fresh render (kdanim.render.frames.Stopwatch, plus "speech": the voice's
    # own measured seconds, wall time, and "scene": the main thread's other work, Manim's scene
    # construction); empty for a cached chapter
    stages: dict = field(default_factory=dict)

    @property
    def file(self) -> Path:
        """The rendered file: the still in preview mode, else the video."""
        return self.still if self.still is not None else self.video


@dataclass(frozen=True)
class Started:
    """A chapter began rendering (or was looked up in the cache)."""

    number: int


@dataclass(frozen=True)
class BeatDone:
    """A chapter finished a beat: ``beats`` done so far, ``video`` seconds of video made."""

    number: int
    beats: int
    video: float


@dataclass(frozen=True)
class Finished:
    """A chapter is done: rendered in ``seconds``, or taken from the cache."""

    number: int
    seconds: float
    cached: bool


Event = Started | BeatDone | Finished
