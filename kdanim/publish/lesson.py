"""The lesson folder: the rendered chapters joined into one video with its narration track, subtitles,
transcript, chapters, thumbnail, trace, page and manifest, published as a whole. `kdanim render` calls this.
"""

from __future__ import annotations

import hashlib
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import manim
import numpy

from kdanim import __version__
from kdanim import trace as tracemod
from kdanim.files import cache_dir
from kdanim.narration.script import LANGUAGES, load_cached
from kdanim.narration.subtitles import Cue, readable, write_chapters_txt, write_srt, write_transcript, write_vtt
from kdanim.render import ChapterResult, Event, RenderOptions, make_words, render_chapters

from . import contact, media, page
from .folder import publish, staging_for

__all__ = ["render_lesson", "versions", "parameters", "script_name", "lesson_credits", "media_tags", "Assembly"]


def versions() -> dict:
    """The versions every manifest records."""
    return {"kdanim": __version__, "manim": manim.__version__, "numpy": numpy.__version__}


def parameters(trace: dict, opts: RenderOptions, fmt: str) -> dict:
    """Every parameter of a render, as its manifest records it (and the page's reproduce line reads)."""
    return {
        "simulation": trace["config"],
        "render": {"quality": opts.quality, "format": fmt, "voice": opts.voice,
                   "voice_model": opts.voice_model, "probe_class": opts.probe_class,
                   "chapters": opts.chapters, "theme": opts.theme, "loudness": opts.loudness,
                   "sweep_axes": opts.sweep["axes"] if opts.sweep else None,
                   # the words: a shipped language, or the user's script (copied into the lesson folder)
                   "script": script_name(opts), "credits": opts.credits,
                   "language": load_cached(opts.script).language,
                   "script_sha256": hashlib.sha256(Path(load_cached(opts.script).path).read_bytes()).hexdigest()},
    }


def script_name(opts: RenderOptions) -> str:
    """The script as the manifest and the reproduce line name it: a shipped language ("en"), or the name of
    the user's script in the lesson folder ("my-lesson.md"; "script.md" if its own name is not a .md one)."""
    if opts.script in LANGUAGES:
        return opts.script
    name = Path(opts.script).name
    return name if name.endswith(".md") and name != "transcript.md" else "script.md"


def lesson_credits(opts: RenderOptions) -> dict:
    """The lesson's credits: the options given over the script's front matter (title, course, author, institution)."""
    return load_cached(opts.script).credits(opts.credits)


def lesson_heading(trace: dict, opts: RenderOptions, entry: str = "title") -> str:
    """The lesson's words about itself in its language, from the script's ``# page:`` section: its title
    ("Wissensdestillation, τ = 3, α = 0,5"), or ``entry`` ("transcript_note", ...)."""
    return make_words(trace, opts).show(f"page.{entry}")


def media_tags(trace: dict, opts: RenderOptions) -> tuple[str, dict]:
    """The video's title and its other tags: the credits' title (else the lesson's), the author as the
    artist, the course and the institution as the comment."""
    c = lesson_credits(opts)
    comment = " · ".join(x for x in (c["course"], c["institution"]) if x)
    return c["title"] or lesson_heading(trace, opts), {k: v for k, v in (("artist", c["author"]),
                                                                            ("comment", comment)) if v}


@dataclass
class Assembly:
    """The rendered chapters laid end to end: where each starts, and what is said when."""

    offsets: list[float]
    total: float
    chapters: list[tuple[float, str]] = field(default_factory=list)  # (start, "N. Title")
    transcript: list[tuple[str, list[str]]] = field(default_factory=list)  # ("N. Title", beats)
    cues: list[Cue] = field(default_factory=list)
    placements: list[tuple[float, Path]] = field(default_factory=list)  # (start, voice clip)

    @classmethod
    def of(cls, results: list[ChapterResult], offsets: list[float], total: float, fps: float = 15) -> "Assembly":
        """The chapters at ``offsets``; the cues shown as the caption rules allow at ``fps`` (subtitles.readable)."""
        a = cls(offsets, total)
        for r, off in zip(results, offsets):
            a.chapters.append((round(off, 3), f"{r.number}. {r.title}"))  # ms, as in the manifest
            a.transcript.append((f"{r.number}. {r.title}", r.timeline["beats"]))
            for line in r.timeline["lines"]:
                start = off + line["start"]
                a.cues.append(Cue(start, start + line["duration"], line["text"]))
                if line["path"]:
                    a.placements.append((start, Path(line["path"])))
        a.cues = readable(a.cues, fps)
        return a


def render_lesson(trace: dict, opts: RenderOptions, out: Path, fmt: str = "mp4",
                  events: Callable[[Event], None] | None = None,
                  message: Callable[[str], None] | None = None, webm: bool = False,
                  results: list[ChapterResult] | None = None) -> dict:
    """Render the lesson into the folder ``out`` and return its manifest.

    ``webm`` also writes lesson.webm (VP9/Opus) beside an mp4, for browsers without H.264.
    ``results``: its chapters, rendered already (the explorer's pool); else they are rendered here.

    The new folder is built beside ``out`` and swapped in as a whole
    (:func:`kdanim.publish.publish`): an interrupted render leaves the previous
    folder as it was, and afterwards ``out`` holds exactly the files its
    manifest lists, plus any files kdanim did not write.
    """
    results = render_chapters(trace, opts, events) if results is None else results
    with staging_for(out) as staging:
        if opts.preview:
            return _publish_stills(results, trace, opts, staging, out)
        (message or (lambda s: None))("assembling video, narration, subtitles and chapters")
        # where each chapter starts: one pass over their packets; the published file is written from the
        # chapters themselves (their packets read and written once)
        join = media.plan_join([r.video for r in results])
        offsets = list(join.offsets)
        lesson = Assembly.of(results, offsets, join.duration, join.fps)
        cache = cache_dir() / "narration" if opts.use_cache else None
        title, tags = media_tags(trace, opts)
        language = load_cached(opts.script).language

        # the video, its narration and their measurement (FFmpeg's filters, encoders and decoders let go of
        # the GIL) on a thread of their own, while the other files are written
        with ThreadPoolExecutor(1) as pool:
            audio = pool.submit(_write_media, join, lesson, staging, fmt, webm, title, tags, loudness=opts.loudness,
                                language=language, cache=cache)
            if opts.script not in LANGUAGES:  # the user's script beside the video: the reproduce line names it
                shutil.copy2(opts.script, staging / script_name(opts))
            _write_texts(lesson, trace, opts, staging)
            # The thumbnail: the first chapter at the end of its first beat (the title card in chapter 1).
            thumb_t = max(results[0].timeline["beat_spans"][0][1] - 0.1, 0.0)
            media.grab_frame(results[0].video, thumb_t, staging / "thumbnail.png")
            contact.write_contact_sheet(results, staging / contact.CONTACT_SHEET,  # every beat's picture, labelled
                                        cache=cache_dir() / "pictures" if opts.use_cache else None)
            tracemod.save(trace, staging / "trace.json")
            manifest = _manifest(trace, opts, fmt, staging, results, lesson)
            audio = audio.result()
        if audio:
            manifest["audio"] = audio  # the narration as published: loudness and true peak, measured
        if fmt != "gif":  # the page plays a video with sound; a gif is just the file
            page.write_page(staging, manifest, trace, lesson.cues)
        return publish(staging, out, manifest)


def _publish_stills(results, trace, opts, staging: Path, out: Path) -> dict:
    written = []
    for r in results:
        name = f"preview-{r.number:02d}.png"
        shutil.copy2(r.still, staging / name)
        written.append(name)
    if opts.script not in LANGUAGES:
        shutil.copy2(opts.script, staging / script_name(opts))
    return publish(staging, out, {**versions(), "parameters": parameters(trace, opts, "png"),
                                  "credits": lesson_credits(opts), "preview": written})


def _write_media(join: media.Join, lesson: Assembly, staging: Path, fmt: str, webm: bool, title: str,
                 tags: dict | None = None, loudness: float = media.LOUDNESS,
                 language: str | None = None, cache: Path | None = None) -> dict | None:
    """lesson.FMT (and lesson.webm): the chapters ``join`` plans joined, with the narration track (normalised
    to ``loudness`` LUFS chapter by chapter, tagged with the script's ``language``) and chapter markers;
    returns the published track's loudness, measured (None without a track). ``cache``: the
    folder where each chapter's normalised and encoded narration is kept, so that a render where one
    chapter's words changed normalises and encodes only that chapter's."""
    video = staging / f"lesson.{fmt}"
    joined = staging / "joined.mp4"  # a gif, and a webm (re-encoded), are made from the chapters joined first
    if fmt != "mp4" or webm:
        media.concat_videos(join.paths, joined)
    if fmt == "gif":
        media.to_gif(joined, video)
        joined.unlink()
        return None
    track = None
    if lesson.placements:
        track = media.narration_track(lesson.placements, lesson.total, loudness=loudness, chapters=lesson.offsets,
                                      cache=cache)
    source = join if fmt == "mp4" else joined
    media.mux(source, track, video, chapters=lesson.chapters, fmt=fmt, title=title, metadata=tags, language=language,
              splits=lesson.offsets[1:], cache=cache)
    if webm and fmt == "mp4":
        media.mux(joined, track, staging / "lesson.webm", chapters=lesson.chapters, fmt="webm", title=title,
                  metadata=tags, language=language)
    joined.unlink(missing_ok=True)
    if track is None:
        return None
    return {"target_lufs": loudness, **media.loudness(video, cache).as_dict(),  # as it was muxed, for an mp4
            "codec": "aac-lc" if fmt == "mp4" else "opus", "sample_rate": media.AUDIO_RATE,
            "bit_rate": media.AUDIO_BIT_RATE}


def _write_texts(lesson: Assembly, trace: dict, opts: RenderOptions, staging: Path) -> None:
    """Subtitles, the transcript and chapters.txt, in the script's language (chapter titles are the script's).

    WebVTT has no header for the language (the spec leaves it to the container or the page): the page's
    ``<track srclang>`` and ``<html lang>`` say it, and the manifest's parameters.render.language."""
    write_srt(lesson.cues, staging / "lesson.srt")
    write_vtt(lesson.cues, staging / "lesson.vtt")
    title = lesson_credits(opts)["title"] or lesson_heading(trace, opts)
    header = f"# {title}\n\n{lesson_heading(trace, opts, 'transcript_note')} (kdanim {__version__})."
    write_transcript(lesson.transcript, staging / "transcript.md", header=header,
                     chapter_times=[c[0] for c in lesson.chapters])
    write_chapters_txt(lesson.chapters, staging / "chapters.txt")


def _manifest(trace, opts, fmt, staging: Path, results, lesson: Assembly) -> dict:
    """The lesson's manifest, but for "files", which :func:`kdanim.publish.publish` adds."""
    offsets, total = lesson.offsets, lesson.total
    return {
        **versions(),
        "parameters": parameters(trace, opts, fmt),
        "credits": lesson_credits(opts),
        "trace_sha256": hashlib.sha256((staging / "trace.json").read_bytes()).hexdigest(),
        "trace_content_hash": tracemod.content_hash(trace),
        "duration": round(total, 3),
        "chapters": [
            {"number": r.number, "title": r.title, "start": round(off, 3),
             "length": round((offsets[i + 1] if i + 1 < len(offsets) else total) - off, 3)}
            for i, (r, off) in enumerate(zip(results, offsets))
        ],
    }
