"""The chapter cache: one folder per rendered chapter, keyed by the code, the trace parts it reads and the options."""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from kdanim.files import cache_dir, replace_dir

from .chapter import code_version, make_words
from .options import ChapterJob, ChapterResult

__all__ = ["code_version", "trace_part", "chapter_key", "cached_chapter", "file_chapter", "expected_beats",
           "chapters_dir"]


def chapters_dir() -> Path:
    """The chapter cache's folder (made if missing, so an unusable cache fails before any render)."""
    folder = cache_dir() / "chapters"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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


def chapter_key(job: ChapterJob) -> str:
    """Cache key of one rendered chapter: code, the trace parts it draws, the words it says and shows
    (filled for this run, so a fact no word of it reads changes nothing), quality, voice, probe, theme."""
    opts = job.opts
    parts = {p: trace_part({"sweep": opts.sweep} if p.startswith("sweep.") else job.trace, p)
             for p in job.chapter.reads}
    words = make_words(job.trace, opts)
    blob = json.dumps(
        {
            "code": job.code,
            "chapter": job.chapter.__name__,
            "trace": parts,
            "words": {**words.chapter(job.chapter.key), **words.chapter("lesson")},
            # the class names on its bars and the way it writes numbers follow the script's language
            "language": [words.language, words.script.terms],
            "quality": opts.quality,
            "voice": [opts.voice, opts.voice_model],
            "probe": opts.probe_class,
            "theme": opts.theme,
            "preview": opts.preview,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _entry(job: ChapterJob) -> tuple[Path, str]:
    return cache_dir() / "chapters" / chapter_key(job), "still.png" if job.opts.preview else "chapter.mp4"


def cached_chapter(job: ChapterJob) -> ChapterResult | None:
    """The cached render of ``job``, or None. A render filed with --no-check that had layout problems is
    not taken by a checked render: that one renders again (from the cached animations) and stops on them."""
    entry, name = _entry(job)
    meta = entry / "timeline.json"
    if job.opts.use_cache and meta.exists() and (entry / name).exists():
        path = entry / name
        preview = job.opts.preview
        timeline = json.loads(meta.read_text())
        if job.opts.check and timeline.get("layout_problems"):
            return None
        return ChapterResult(job.chapter.number, timeline["title"], None if preview else path,
                             path if preview else None, timeline, cached=True)
    return None


def file_chapter(job: ChapterJob, res: ChapterResult) -> ChapterResult:
    """File a fresh render ``res`` of ``job`` in the chapter cache; ``res`` then points into the cache.

    Two renders (other processes) may file the same key at the same moment: whoever comes
    second keeps the first one's complete entry (same key, same inputs) instead of failing;
    --no-cache swaps an existing entry for the new render.
    """
    entry, name = _entry(job)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=chapters_dir()))
    try:
        shutil.copy2(res.file, staging / name)
        (staging / "timeline.json").write_text(json.dumps(res.timeline, indent=1))
        def complete() -> bool:
            return (entry / "timeline.json").is_file() and (entry / name).is_file()

        if complete() and job.opts.use_cache:
            shutil.rmtree(staging, ignore_errors=True)
            res.timeline = json.loads((entry / "timeline.json").read_text())  # another process filed it first
        else:
            try:
                replace_dir(staging, entry)
            except OSError as e:
                # another process filed the same key between the look above and the rename (the rename of a
                # folder onto a full one fails): keep theirs, or (--no-cache) swap it for this render
                if e.errno not in (errno.ENOTEMPTY, errno.EEXIST) or not complete():
                    raise
                if job.opts.use_cache:
                    shutil.rmtree(staging, ignore_errors=True)
                    res.timeline = json.loads((entry / "timeline.json").read_text())
                else:
                    replace_dir(staging, entry)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # interrupted: leave no half-filed entry
        raise
    path = entry / name
    res.video, res.still = (None, path) if job.opts.preview else (path, None)
    return res


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
