"""Render one chapter with Manim into a folder of its own; return its video (or still) and timeline."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from manim import tempconfig

from kdanim.facts import run_facts
from kdanim.files import ROOT, cache_dir, source_hash
from kdanim.lesson import Chapter, LessonContext
from kdanim.narration import Narrator
from kdanim.narration.locale import voice_for
from kdanim.narration.script import Words, load_cached
from kdanim.viz import theme as T

from .frames import MeasuredRenderer, Stopwatch
from .options import CHAPTER_STEP, QUALITIES, SPEECH_LEAD, ChapterResult, RenderOptions, h264_options

__all__ = ["make_context", "make_words", "said", "make_voice", "render_scene", "render_chapter", "manim_config",
           "code_version", "animations_dir"]


#: What no chapter's pictures or sound depend on: the lesson folder's assembly and the command line. Nothing
#: that renders a chapter imports them (they import it), so a change there keeps the chapter cache.
_NOT_RENDERING = {"publish", "cli.py", "cli_options.py"}


def code_version() -> str:
    """A hash of the code that renders a chapter (kdanim's sources but the publish package and the CLI, and
    the scenes): part of every chapter cache key."""
    return source_hash(*(p for p in sorted((ROOT / "kdanim").iterdir()) if p.name not in _NOT_RENDERING),
                       ROOT / "scenes")


def animations_dir(chapter_cls, quality: str) -> Path:
    """Manim's cache of ``chapter_cls``'s animations at ``quality``: one video per ``play()``, named by
    Manim's hash of the call (the scene's mobjects, the animation, the encoder settings), so that an
    edit to one beat's words re-renders that beat and reuses the others. Per code version: a change to
    the drawing code starts afresh."""
    return cache_dir() / "animations" / code_version() / quality / chapter_cls.__name__


#: The words last made, with what they were made from: a render asks for the same run's words once per
#: chapter and for each cache key, and the run's facts hash the whole trace (about 60 ms).
_WORDS: list[tuple[dict, object, str, Words]] = []


def make_words(trace: dict, opts: RenderOptions) -> Words:
    """The lesson's words for this run: ``opts.script`` filled with the run's facts and the lesson's credits."""
    script = load_cached(opts.script)
    how = repr((opts.probe_class, opts.sweep, opts.credits))
    for t, s, h, words in _WORDS:
        if t is trace and s is script and h == how:
            return words
    words = script.fill({**run_facts(trace, opts.probe_class, opts.sweep), "credits": script.credits(opts.credits)})
    _WORDS[:] = [(trace, script, how, words), *_WORDS[:7]]
    return words


def said(words: Words, chapter) -> list[tuple[str, str]]:
    """(beat id, text) of every spoken beat of ``chapter``, in script order; silent variants left out."""
    spoken = [(i, words.say(i)) for i in words.script.chapter_ids(chapter.key) if words.script.entries[i].kind == "say"]
    return [(i, t) for i, t in spoken if t]


def make_voice(opts: RenderOptions):
    """The voice of ``opts`` speaking its script's language (espeak-ng -v de for German; a Piper voice only
    with a model of that language): ValueError when they do not fit, VoiceUnavailable when it cannot run."""
    return voice_for(opts.voice, opts.voice_model, load_cached(opts.script).language)


def make_context(trace: dict, opts: RenderOptions, on_beat: Callable[[int, float], None] | None = None,
                 **extra) -> LessonContext:
    """The context a chapter is drawn from under ``opts`` (``extra``: other LessonContext fields)."""
    return LessonContext(trace=trace, narrator=Narrator(make_voice(opts)),
                         words=make_words(trace, opts), probe_class=opts.probe_class, sweep=opts.sweep,
                         theme=opts.theme, preview=opts.preview, on_beat=on_beat, check=opts.check, **extra)


def manim_config(quality: str, media_dir: Path, preview: bool, verbose: bool,
                 animations: Path | None = None) -> dict:
    """Manim's settings for one chapter; ``animations``: the folder of its cached animations (None: no cache)."""
    cache = {"disable_caching": True} if animations is None or preview else {
        "disable_caching": False, "partial_movie_dir": str(animations),
        "max_files_cached": -1}  # kdanim's `cache clear animations` empties it, not Manim's count
    return {
        "quality": QUALITIES[quality],
        "media_dir": str(media_dir),
        **cache,
        "verbosity": "INFO" if verbose else "ERROR",
        "progress_bar": "display" if verbose else "none",
        "write_to_movie": not preview,
        "save_last_frame": preview,
        "format": "mp4",
        "max_inflight_encoders": 2,  # the next animation draws while the last one is still encoding
        "video_encoder_options": h264_options(quality),  # the upload guides' H.264, kept by the lesson's stream copy
    }


def render_scene(chapter_cls: type[Chapter], ctx: LessonContext, config: dict,
                 stopwatch: Stopwatch | None = None) -> Chapter:
    """Render ``chapter_cls`` drawn from ``ctx`` under Manim settings ``config``; return the scene.
    ``stopwatch`` collects the CPU seconds of drawing, converting and encoding."""
    try:
        with tempconfig(config):
            scene = chapter_cls(ctx, renderer=MeasuredRenderer(stopwatch or Stopwatch()))
            scene.render()
    finally:
        T.use_numerals()  # the chapter wrote numbers in its lesson's language: back to the default after it
    return scene


def render_chapter(chapter_cls, trace: dict, opts: RenderOptions, work: Path,
                   on_beat: Callable[[int, float], None] | None = None) -> ChapterResult:
    """Render one chapter into ``work`` (a folder of its own); return its video and timeline.

    ``on_beat(beats_done, seconds_of_video)`` is called after every beat (live progress).
    """
    t0, cpu0 = time.perf_counter(), time.thread_time()
    work.mkdir(parents=True, exist_ok=True)
    # add_sound=False: the narration track is assembled and muxed by kdanim.publish.media
    ctx = make_context(trace, opts, on_beat, add_sound=False, length_step=CHAPTER_STEP, lead_in=SPEECH_LEAD)
    ctx.narrator.prepare([text for _, text in said(ctx.words, chapter_cls)])  # a voice model loads meanwhile
    T.keep_texts_in(cache_dir() / "texts" if opts.use_cache else None)  # laid out once, for every process
    stopwatch = Stopwatch()
    animations = animations_dir(chapter_cls, opts.quality) if opts.use_cache else None
    config = manim_config(opts.quality, work / "media", opts.preview, opts.verbose, animations)
    scene = render_scene(chapter_cls, ctx, config, stopwatch)
    writer = scene.renderer.file_writer
    video, still = (None, Path(writer.image_file_path)) if opts.preview else (Path(writer.movie_file_path), None)
    timeline = scene.timeline()
    voice = ctx.narrator.voice
    # speech: the voice's wall seconds; scene: this thread's CPU less drawing and what the voice spent on it
    # loading: the CPU of a model loaded on a thread of its own while the scene was built
    stages = {"speech": voice.synth_seconds + voice.load_seconds, "loading": voice.load_cpu,
              "scene": time.thread_time() - cpu0 - stopwatch.drawing - voice.synth_cpu, **stopwatch.as_dict()}
    return ChapterResult(chapter_cls.number, timeline["title"], video, still, timeline,
                         seconds=time.perf_counter() - t0, stages=stages)
