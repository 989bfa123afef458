"""Where chapters render: one after another, in a pool of local processes, or on a Dask cluster.

All three take the same :class:`ChapterJob` list and report the same progress events, and every
path files its renders in the chapter cache, which is the record of what is done.
"""

from __future__ import annotations

import multiprocessing as mp
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Callable

from kdanim.cluster import TaskFailed, client, run_tasks
from kdanim.files import atomic_write
from kdanim.narration.script import load_cached
from kdanim.narration.voices import default_cache_dir
from kdanim.scenes import lesson_order

from .cache import cached_chapter, chapters_dir, code_version, file_chapter
from .chapter import make_words, render_chapter
from .options import BeatDone, ChapterJob, ChapterResult, Event, Finished, RenderOptions, Started

__all__ = ["render_chapters", "selected_chapters", "chapter_jobs", "chapter_titles", "spoken_words"]

Send = Callable[[Event], None]


def selected_chapters(opts: RenderOptions) -> list:
    """The chapter classes ``opts`` asks for, in lesson order."""
    return [c for c in lesson_order(opts.sweep is not None) if opts.chapters is None or c.number in opts.chapters]


def chapter_titles(opts: RenderOptions) -> dict[int, str]:
    """The selected chapters' titles, by number, as the script of ``opts`` gives them."""
    titles = load_cached(opts.script).titles
    return {c.number: titles.get(c.key, c.key) for c in selected_chapters(opts)}


def spoken_words(trace: dict, opts: RenderOptions) -> list[tuple[int, str, list[tuple[str, str]]]]:
    """What the lesson says, without rendering: (number, title, [(beat id, text), ...]) per selected chapter.

    Every spoken beat of the chapter's script section, in script order (the order chapters speak
    them), filled for this run; beats whose chosen variant is empty are silent and left out.
    """
    words = make_words(trace, opts)
    out = []
    for c in selected_chapters(opts):
        said = [(i, words.say(i)) for i in words.script.chapter_ids(c.key) if words.script.entries[i].kind == "say"]
        out.append((c.number, words.title(c.key), [(i, t) for i, t in said if t]))
    return out


def chapter_jobs(trace: dict, opts: RenderOptions) -> list[ChapterJob]:
    """One job per selected chapter."""
    code = code_version()
    return [ChapterJob(c, trace, opts, code) for c in selected_chapters(opts)]


def render_chapters(trace: dict, opts: RenderOptions, events: Send | None = None) -> list[ChapterResult]:
    """Render the selected chapters (in parallel processes with ``opts.jobs`` > 1, or on
    ``opts.scheduler``), in lesson order; ``events`` receives :data:`Event` values."""
    jobs = chapter_jobs(trace, opts)
    chapters_dir()  # an unusable cache fails now, not after the first chapter
    send = events or (lambda e: None)
    if opts.scheduler:
        return _on_cluster(jobs, opts.scheduler, send)
    if opts.jobs > 1 and len(jobs) > 1:
        return _in_processes(jobs, opts.jobs, send)
    return [_render_reporting(j, send) for j in jobs]


def _render_cached(job: ChapterJob, on_beat=None) -> ChapterResult:
    """Render a chapter unless its cache entry exists."""
    cached = cached_chapter(job)
    if cached is not None:
        return cached
    work = Path(tempfile.mkdtemp(prefix=f"kdanim-ch{job.number:02d}-"))
    try:
        return file_chapter(job, render_chapter(job.chapter, job.trace, job.opts, work, on_beat))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _render_reporting(job: ChapterJob, send: Send) -> ChapterResult:
    """Render (or fetch) one chapter, sending start, beat and done events."""
    n = job.number
    send(Started(n))
    res = _render_cached(job, lambda beats, video: send(BeatDone(n, beats, video)))
    send(Finished(n, res.seconds, res.cached))
    return res


# -- local processes -----------------------------------------------------------------

_WORKER_QUEUE = None


def _worker_init(queue) -> None:
    global _WORKER_QUEUE
    _WORKER_QUEUE = queue


def _render_in_worker(job: ChapterJob) -> ChapterResult:
    return _render_reporting(job, _WORKER_QUEUE.put)


def _relay(queue, send: Send) -> None:
    while (e := queue.get()) is not None:
        send(e)


def _in_processes(jobs: list[ChapterJob], n: int, send: Send) -> list[ChapterResult]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()  # workers report beats through it; a thread hands them on
    relay = threading.Thread(target=_relay, args=(queue, send), daemon=True)
    relay.start()
    try:
        with ctx.Pool(min(n, len(jobs)), initializer=_worker_init, initargs=(queue,)) as pool:
            results = list(pool.imap(_render_in_worker, jobs))
            pool.close()  # let the workers exit cleanly (leaves no semaphores behind)
            pool.join()
    finally:
        queue.put(None)
        relay.join(timeout=5)
    return results


# -- a Dask cluster ------------------------------------------------------------------

def _render_on_worker(job: ChapterJob) -> dict:
    """On a Dask worker: render one chapter in a temporary folder and return its files as bytes.

    No shared filesystem is assumed: the chapter's video (or still) and the voice clips its
    timeline refers to travel back in the result.
    """
    work = Path(tempfile.mkdtemp(prefix=f"kdanim-ch{job.number:02d}-"))
    try:
        res = render_chapter(job.chapter, job.trace, job.opts, work)
        clips = {}
        for line in res.timeline["lines"]:
            if line["path"]:
                p = Path(line["path"])
                clips[f"{p.parent.name}/{p.name}"] = p.read_bytes()
        return {"file": res.file.read_bytes(), "timeline": res.timeline, "clips": clips, "seconds": res.seconds}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _file_remote(job: ChapterJob, out: dict) -> ChapterResult:
    """File a chapter that came back from a worker in the local voice and chapter caches."""
    voice_dir = default_cache_dir()
    for rel, data in out["clips"].items():
        if not (voice_dir / rel).exists():
            atomic_write(voice_dir / rel, data)
    for line in out["timeline"]["lines"]:
        if line["path"]:
            p = Path(line["path"])
            line["path"] = str(voice_dir / p.parent.name / p.name)
    preview = job.opts.preview
    with tempfile.TemporaryDirectory(prefix="kdanim-remote-") as tmpdir:
        got = Path(tmpdir) / ("still.png" if preview else "chapter.mp4")
        got.write_bytes(out["file"])
        res = ChapterResult(job.number, out["timeline"]["title"], None if preview else got, got if preview else None,
                            out["timeline"], seconds=out["seconds"])
        return file_chapter(job, res)


def _on_cluster(jobs: list[ChapterJob], scheduler: str, send: Send) -> list[ChapterResult]:
    """Render the jobs on the Dask ``scheduler``; chapters in the local cache are not sent.

    Each result is filed in the local caches as it arrives, so an interrupted render keeps
    the chapters already back.
    """
    results, todo = {}, []
    for job in jobs:
        hit = cached_chapter(job)
        if hit is None:
            todo.append(job)
        else:
            send(Started(hit.number))
            send(Finished(hit.number, 0.0, True))
            results[hit.number] = hit
    if todo:
        with client(scheduler) as c:
            for job in todo:
                send(Started(job.number))
            try:
                for job, out in run_tasks(c, _render_on_worker, todo, name=lambda j: f"kdanim-ch{j.number:02d}"):
                    res = results[job.number] = _file_remote(job, out)
                    send(Finished(res.number, res.seconds, False))
            except TaskFailed as e:
                raise e.error from None
    return [results[job.number] for job in jobs]
