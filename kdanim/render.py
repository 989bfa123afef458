"""Render chapters to video files and assemble the lesson folder; the CLI's `render` calls this."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kdanim import __version__
from kdanim.narration.voices import DEFAULT_VOICE
from kdanim.paths import cache_dir

__all__ = ["QUALITIES", "RenderOptions", "ChapterResult", "render_chapter", "render_lesson", "code_version"]

#: --quality name -> Manim's quality preset.
QUALITIES = {
    "low": "low_quality",  # 854x480 15 fps
    "medium": "medium_quality",  # 1280x720 30 fps
    "high": "high_quality",  # 1920x1080 60 fps
    "4k": "fourk_quality",  # 3840x2160 60 fps
}

ROOT = Path(__file__).resolve().parent.parent


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
    sweep: dict | None = None  # kdanim.sweep.chapter_view of --sweep: adds the sweep chapter
    scheduler: str | None = None  # render chapters on this Dask scheduler (None: local processes)


@dataclass
class ChapterResult:
    number: int
    title: str
    video: Path | None  # None in preview mode
    still: Path | None
    timeline: dict
    cached: bool = False
    seconds: float = 0.0


def code_version() -> str:
    """A hash of the code that draws (kdanim and scenes sources): part of every chapter cache key."""
    h = hashlib.sha256(__version__.encode())
    for folder in ("kdanim", "scenes"):
        for p in sorted((ROOT / folder).rglob("*.py")):
            h.update(p.relative_to(ROOT).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def trace_part(trace: dict, path: str):
    """The part of a trace named by a dotted path ("config.tau", "summary", or "*" for all).

    An optional part this trace does not have (e.g. "data.probe_images" without images) is None.
    """
    if path == "*":
        return trace
    node = trace
    for key in path.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return node


def chapter_key(chapter_cls, trace: dict, opts: RenderOptions, code: str) -> str:
    """Cache key of one rendered chapter: code, the trace parts it reads, quality, voice, probe."""
    parts = {p: trace_part({"sweep": opts.sweep} if p.startswith("sweep.") else trace, p)
             for p in chapter_cls.reads}
    blob = json.dumps(
        {
            "code": code,
            "chapter": chapter_cls.__name__,
            "trace": parts,
            "quality": opts.quality,
            "voice": [opts.voice, opts.voice_model],
            "probe": opts.probe_class,
            "theme": opts.theme,
            "preview": opts.preview,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _manim_config(quality: str, media_dir: Path, preview: bool, verbose: bool) -> dict:
    return {
        "quality": QUALITIES[quality],
        "media_dir": str(media_dir),
        "disable_caching": True,
        "verbosity": "INFO" if verbose else "ERROR",
        "progress_bar": "display" if verbose else "none",
        "write_to_movie": not preview,
        "save_last_frame": preview,
        "format": "mp4",
    }


def render_chapter(chapter_cls, trace: dict, opts: RenderOptions, work: Path,
                   on_beat: Callable[[int, float], None] | None = None) -> ChapterResult:
    """Render one chapter into ``work`` (a folder of its own); return its video and timeline.

    ``on_beat(beats_done, seconds_of_video)`` is called after every beat (live progress).
    """
    from kdanim.chapter import LessonContext, render_scene
    from kdanim.narration.voices import get_voice

    t0 = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    ctx = LessonContext(
        trace=trace,
        voice=get_voice(opts.voice, model_path=opts.voice_model),
        probe_class=opts.probe_class,
        sweep=opts.sweep,
        theme=opts.theme,
        add_sound=False,  # the narration track is assembled and muxed by kdanim.media
        preview=opts.preview,
        on_beat=on_beat,
    )
    scene = render_scene(chapter_cls, ctx, _manim_config(opts.quality, work / "media", opts.preview, opts.verbose))
    timeline = scene.timeline()
    writer = scene.renderer.file_writer
    video = still = None
    if opts.preview:
        still = Path(writer.image_file_path)
    else:
        video = Path(writer.movie_file_path)
    return ChapterResult(chapter_cls.number, chapter_cls.title, video, still, timeline,
                         seconds=time.perf_counter() - t0)


def _render_cached(args, on_beat=None) -> ChapterResult:
    """Render a chapter unless its cache entry exists (runs in a worker process with --jobs)."""
    chapter_cls, trace, opts, _ = args
    cached = cached_chapter(args)
    if cached is not None:
        return cached
    work = Path(tempfile.mkdtemp(prefix=f"kdanim-ch{chapter_cls.number:02d}-"))
    try:
        res = render_chapter(chapter_cls, trace, opts, work, on_beat)
        return file_chapter(args, res)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _entry(args) -> tuple[Path, str]:
    chapter_cls, trace, opts, code = args
    return (cache_dir() / "chapters" / chapter_key(chapter_cls, trace, opts, code),
            "still.png" if opts.preview else "chapter.mp4")


def cached_chapter(args) -> ChapterResult | None:
    """The cached render of a job ``(chapter_cls, trace, opts, code)``, or None."""
    chapter_cls, _, opts, _ = args
    entry, name = _entry(args)
    meta = entry / "timeline.json"
    if opts.use_cache and meta.exists() and (entry / name).exists():
        tl = json.loads(meta.read_text())
        path = entry / name
        return ChapterResult(chapter_cls.number, chapter_cls.title, None if opts.preview else path,
                             path if opts.preview else None, tl, cached=True)
    return None


def file_chapter(args, res: ChapterResult) -> ChapterResult:
    """File a fresh render ``res`` of a job in the chapter cache; ``res`` then points into the cache."""
    opts = args[2]
    entry, name = _entry(args)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=_ensure(entry.parent)))
    try:
        shutil.copy2(res.still if opts.preview else res.video, staging / name)
        (staging / "timeline.json").write_text(json.dumps(res.timeline, indent=1))
        if not _file_entry(staging, entry, name, replace=not opts.use_cache):
            res.timeline = json.loads((entry / "timeline.json").read_text())  # another process filed it first
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # interrupted: leave no half-filed entry
        raise
    path = entry / name
    res.video, res.still = (None, path) if opts.preview else (path, None)
    return res


def _file_entry(staging: Path, entry: Path, name: str, replace: bool) -> bool:
    """Rename the finished ``staging`` folder to the cache ``entry``; False if an equal entry won.

    Two renders (other processes) may file the same key at the same moment:
    the rename is atomic, and whoever comes second keeps the first one's
    complete entry (same key, same inputs) instead of failing. ``replace``
    (--no-cache) swaps an existing entry for the new render.
    """
    try:
        os.replace(staging, entry)  # fails (ENOTEMPTY/EEXIST) when the entry exists
        return True
    except OSError:
        if not entry.is_dir():
            raise
    complete = (entry / "timeline.json").is_file() and (entry / name).is_file()
    if complete and not replace:
        shutil.rmtree(staging, ignore_errors=True)
        return False
    old = Path(tempfile.mkdtemp(prefix=".old-", dir=entry.parent))
    os.replace(entry, old / "entry")
    os.replace(staging, entry)
    shutil.rmtree(old, ignore_errors=True)
    return True


def _ensure(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def render_chapters(trace: dict, opts: RenderOptions,
                    events: Callable[[tuple], None] | None = None) -> list[ChapterResult]:
    """Render the selected chapters (in parallel processes with ``opts.jobs`` > 1), in order.

    ``events`` receives progress as ``("start", n)``, ``("beat", n, beats, video_seconds)``
    and ``("done", n, seconds, cached)`` (see :class:`kdanim.progress.ChapterProgress`).
    """
    chosen = selected_chapters(opts)
    code = code_version()
    _ensure(cache_dir() / "chapters")  # an unusable cache fails now, not after the first chapter
    jobs = [(c, trace, opts, code) for c in chosen]
    send = events or (lambda e: None)
    results: list[ChapterResult] = []
    if opts.scheduler:
        from kdanim.cluster import render_on_cluster

        return render_on_cluster(jobs, opts.scheduler, send)
    if opts.jobs > 1 and len(jobs) > 1:
        import multiprocessing as mp
        import threading

        ctx = mp.get_context("spawn")
        queue = ctx.Queue()  # workers report beats through it; a thread hands them on
        relay = threading.Thread(target=_relay, args=(queue, send), daemon=True)
        relay.start()
        try:
            with ctx.Pool(min(opts.jobs, len(jobs)), initializer=_worker_init, initargs=(queue,)) as pool:
                for res in pool.imap(_render_in_worker, jobs):
                    results.append(res)
                pool.close()  # let the workers exit cleanly (leaves no semaphores behind)
                pool.join()
        finally:
            queue.put(None)
            relay.join(timeout=5)
    else:
        for j in jobs:
            results.append(_render_reporting(j, send))
    return results


def selected_chapters(opts: RenderOptions) -> list:
    """The chapter classes ``opts`` asks for, in lesson order."""
    from scenes import lesson_order

    return [c for c in lesson_order(opts.sweep is not None) if opts.chapters is None or c.number in opts.chapters]


def _render_reporting(job, send) -> ChapterResult:
    """Render (or fetch) one chapter, sending start, beat and done events."""
    n = job[0].number
    send(("start", n))
    res = _render_cached(job, lambda beats, video: send(("beat", n, beats, video)))
    send(("done", n, res.seconds, res.cached))
    return res


_WORKER_QUEUE = None


def _worker_init(queue) -> None:
    global _WORKER_QUEUE
    _WORKER_QUEUE = queue


def _render_in_worker(job) -> ChapterResult:
    return _render_reporting(job, _WORKER_QUEUE.put)


def _relay(queue, send) -> None:
    while (e := queue.get()) is not None:
        send(e)


def expected_beats() -> dict[int, int]:
    """How many beats each chapter had in its most recent cached render (for progress bars)."""
    found: dict[int, tuple[float, int]] = {}
    for meta in (cache_dir() / "chapters").glob("*/timeline.json"):
        try:
            tl = json.loads(meta.read_text())
            when = meta.stat().st_mtime
        except (OSError, ValueError):
            continue
        n = tl.get("chapter")
        if isinstance(n, int) and (n not in found or when > found[n][0]):
            found[n] = (when, len(tl.get("beats", [])))
    return {n: beats for n, (_, beats) in found.items() if beats}


# -- the lesson folder ---------------------------------------------------------


def render_lesson(trace: dict, opts: RenderOptions, out: Path, fmt: str = "mp4",
                  events: Callable[[tuple], None] | None = None,
                  message: Callable[[str], None] | None = None, webm: bool = False) -> dict:
    """Render the lesson into the folder ``out`` and return its manifest.

    ``webm`` also writes lesson.webm (VP9/Opus) beside an mp4, for browsers without H.264.

    The new folder is built beside ``out`` and swapped in as a whole
    (:func:`kdanim.publish.publish`): an interrupted render leaves the previous
    folder as it was, and afterwards ``out`` holds exactly the files its
    manifest lists, plus any files kdanim did not write.
    """
    from kdanim import media, page, trace as tracemod
    from kdanim.narration.subtitles import (Cue, write_chapters_txt, write_srt, write_transcript,
                                            write_vtt)
    from kdanim.publish import publish, staging_for

    say = message or (lambda s: None)
    results = render_chapters(trace, opts, events)
    with staging_for(out) as staging:
        if opts.preview:
            written = []
            for r in results:
                name = f"preview-{r.number:02d}.png"
                shutil.copy2(r.still, staging / name)
                written.append(name)
            return publish(staging, out, {**_versions(), "parameters": _parameters(trace, opts, "png"),
                                          "preview": written})

        say("assembling video, narration, subtitles and chapters")
        joined = staging / "joined.mp4"
        offsets = media.concat_videos([r.video for r in results], joined)
        total = media.probe(joined, rms=False)["video_duration"]
        placements, cues, transcript, chapters = [], [], [], []
        for r, off in zip(results, offsets):
            chapters.append((round(off, 3), f"{r.number}. {r.title}"))  # ms, as in the manifest
            transcript.append((f"{r.number}. {r.title}", r.timeline["beats"]))
            for line in r.timeline["lines"]:
                start = off + line["start"]
                cues.append(Cue(start, start + line["duration"], line["text"]))
                if line["path"]:
                    placements.append((start, Path(line["path"])))
        names = {"video": f"lesson.{fmt}"}
        title = (f"Knowledge distillation, τ = {trace['config']['tau']:g}, "
                 f"α = {trace['config']['alpha']:g}")
        wav = None
        if fmt == "gif":
            media.to_gif(joined, staging / names["video"])
        else:
            if placements:
                wav = media.build_audio_track(placements, total, staging / "narration.wav")
            media.mux(joined, wav, staging / names["video"], chapters=chapters, fmt=fmt, title=title)
            if webm and fmt == "mp4":
                media.mux(joined, wav, staging / "lesson.webm", chapters=chapters, fmt="webm", title=title)
        write_srt(cues, staging / "lesson.srt")
        write_vtt(cues, staging / "lesson.vtt")
        header = (f"# {title}\n\nNarration of the lesson rendered by kdanim {__version__} "
                  f"from trace `{tracemod.content_hash(trace)[:16]}`.")
        write_transcript(transcript, staging / "transcript.md", header=header,
                         chapter_times=[c[0] for c in chapters])
        write_chapters_txt(chapters, staging / "chapters.txt")
        # The thumbnail: the first chapter at the end of its first beat (the title card in chapter 1).
        thumb_t = offsets[0] + max(results[0].timeline["beat_spans"][0][1] - 0.1, 0.0)
        media.grab_frame(joined, thumb_t, staging / "thumbnail.png")
        tracemod.save(trace, staging / "trace.json")
        (staging / "joined.mp4").unlink()
        if wav is not None:
            wav.unlink()
        manifest = _manifest(trace, opts, fmt, staging, results, offsets, total)
        if fmt != "gif":  # the page plays a video with sound; a gif is just the file
            page.write_page(staging, manifest, trace)
        return publish(staging, out, manifest)


def _versions() -> dict:
    import manim
    import numpy

    return {"kdanim": __version__, "manim": manim.__version__, "numpy": numpy.__version__}


def _parameters(trace, opts, fmt) -> dict:
    return {
        "simulation": trace["config"],
        "render": {"quality": opts.quality, "format": fmt, "voice": opts.voice,
                   "voice_model": opts.voice_model, "probe_class": opts.probe_class,
                   "chapters": opts.chapters, "theme": opts.theme,
                   "sweep_axes": opts.sweep["axes"] if opts.sweep else None},
    }


def _manifest(trace, opts, fmt, staging, results, offsets, total) -> dict:
    """The lesson's manifest, but for "files", which :func:`kdanim.publish.publish` adds."""
    from kdanim import trace as tracemod

    return {
        **_versions(),
        "parameters": _parameters(trace, opts, fmt),
        "trace_sha256": hashlib.sha256((staging / "trace.json").read_bytes()).hexdigest(),
        "trace_content_hash": tracemod.content_hash(trace),
        "duration": round(total, 3),
        "chapters": [
            {"number": r.number, "title": r.title, "start": round(off, 3),
             "length": round((offsets[i + 1] if i + 1 < len(offsets) else total) - off, 3)}
            for i, (r, off) in enumerate(zip(results, offsets))
        ],
    }
