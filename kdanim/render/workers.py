"""Where chapters render: one pool of chapter renders for one lesson or many (the explorer's variants),
run here one after another, in local processes, or on a Dask cluster.

    with ChapterPool(scheduler=None, jobs=2) as pool:
        plan = pool.plan([chapter_jobs(trace, opts) for trace in traces])
        for i, results in pool.run(plan):   # each lesson as soon as its chapters are in
            ...

A chapter that several lessons share (the same cache key: it reads neither τ nor α, or it is the
sweep chapter) is one task. In parallel the tasks start longest first, the length estimated by the
words the chapter speaks (a beat lasts as long as its speech), so the last task to start is a short
one and no core waits long for the slowest. Every path files its renders in the chapter cache, which
is the record of what is done: after an interruption, a new run renders only what is missing.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import shutil
import signal
import tempfile
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

from kdanim.cluster import TaskFailed, client, run_tasks
from kdanim.files import atomic_write
from kdanim.narration.script import Words, load_cached
from kdanim.narration.voices import default_cache_dir, one_thread_per_process
from kdanim.scenes import lesson_order

from .cache import cached_chapter, chapter_key, chapters_dir, code_version, file_chapter
from .chapter import make_words, render_chapter, said
from .options import BeatDone, ChapterJob, ChapterResult, Event, Finished, RenderOptions, Started

__all__ = ["render_chapters", "selected_chapters", "chapter_jobs", "chapter_titles", "spoken_words",
           "ChapterPool", "Plan", "Task", "spoken_length"]

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
    return [(c.number, words.title(c.key), said(words, c)) for c in selected_chapters(opts)]


def spoken_length(words: Words, chapter) -> int:
    """How many words ``chapter`` says: the pool's estimate of how long it takes to render."""
    return sum(len(text.split()) for _, text in said(words, chapter))


def chapter_jobs(trace: dict, opts: RenderOptions) -> list[ChapterJob]:
    """One job per selected chapter."""
    code = code_version()
    return [ChapterJob(c, trace, opts, code) for c in selected_chapters(opts)]


def render_chapters(trace: dict, opts: RenderOptions, events: Send | None = None) -> list[ChapterResult]:
    """Render the selected chapters (in parallel processes with ``opts.jobs`` > 1, or on
    ``opts.scheduler``), in lesson order; ``events`` receives :data:`Event` values."""
    with ChapterPool(opts.scheduler, opts.jobs) as pool:
        # run to its end, not only to the lesson's results: the pool's processes are let go cleanly
        (_, results), = pool.run(pool.plan([chapter_jobs(trace, opts)]), events)
        return results


# -- the pool ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Task:
    """One distinct chapter of a pool: its cache key, its job, and the words it speaks (its length, estimated)."""

    key: str
    job: ChapterJob
    words: int


@dataclass
class Plan:
    """What a pool renders for a list of lessons (each a list of :class:`ChapterJob`).

    ``keys``: each lesson's chapters' cache keys; ``tasks``: one per distinct key not in the cache,
    in the order they start; ``cached``: the keys in the cache.
    """

    lessons: list[list[ChapterJob]]
    keys: list[list[str]]
    tasks: list[Task]
    cached: set[str] = field(default_factory=set)

    @property
    def chapters(self) -> int:
        """Distinct chapters over all lessons (a shared one counted once)."""
        return len({k for ks in self.keys for k in ks})

    @property
    def shared(self) -> dict[str, list[int]]:
        """The chapters more than one lesson uses: key -> the numbers of those lessons."""
        users: dict[str, list[int]] = {}
        for i, ks in enumerate(self.keys):
            for k in ks:
                users.setdefault(k, []).append(i)
        return {k: v for k, v in users.items() if len(v) > 1}

    def describe(self) -> str:
        """One line: how the work divides."""
        n = sum(len(ks) for ks in self.keys)
        shared = len(self.shared)
        return (f"{len(self.lessons)} lesson{'s' if len(self.lessons) != 1 else ''}, {n} chapters: "
                f"{self.chapters} distinct ({shared} shared), {len(self.cached)} cached, {len(self.tasks)} to render")


class ChapterPool:
    """Where chapters render: on the Dask scheduler at ``scheduler`` (its client connected on entry, so an
    unreachable scheduler fails at once), in ``jobs`` local processes (spawned when there is work for
    more than one), or here, one chapter after another."""

    def __init__(self, scheduler: str | None = None, jobs: int = 1):
        self.scheduler, self.jobs = scheduler, max(1, jobs)
        self._stack = contextlib.ExitStack()
        self._client = None

    def __enter__(self) -> "ChapterPool":
        chapters_dir()  # an unusable cache fails now, not after the first chapter
        if self.scheduler:
            self._client = self._stack.enter_context(client(self.scheduler))
        return self

    def __exit__(self, *exc):
        return self._stack.__exit__(*exc)  # closes a run still going (Ctrl-C), then the client

    @property
    def parallel(self) -> bool:
        return bool(self.scheduler) or self.jobs > 1

    @property
    def where(self) -> str:
        if self.scheduler:
            return f"on the Dask scheduler at {self.scheduler}"
        return f"in {self.jobs} processes" if self.jobs > 1 else "in this process"

    def plan(self, lessons: list[list[ChapterJob]]) -> Plan:
        """The distinct chapters of ``lessons`` and the order they start: longest first in parallel (ties in
        lesson order), lesson by lesson in one process (where the order costs no time, and each lesson is
        done as early as it can be)."""
        keys, tasks = [], {}
        for lesson in lessons:
            words = make_words(lesson[0].trace, lesson[0].opts) if lesson else None
            keys.append([chapter_key(job) for job in lesson])
            for k, job in zip(keys[-1], lesson):
                if k not in tasks:
                    tasks[k] = Task(k, job, spoken_length(words, job.chapter))
        cached = {k for k, t in tasks.items() if cached_chapter(t.job) is not None}
        order = list(tasks.values())  # lesson order: the first lesson's chapters, then the next one's new ones, ...
        if self.parallel:
            order.sort(key=lambda t: -t.words)  # stable: ties stay in lesson order
        return Plan(lessons, keys, [t for t in order if t.key not in cached], cached)

    def run(self, plan: Plan, events: Send | None = None) -> Iterator[tuple[int, list[ChapterResult]]]:
        """Render ``plan``; yield (lesson index, its chapters' results in lesson order) as each lesson
        completes. ``events`` receives :data:`Event` values (chapter numbers: meant for one lesson)."""
        run = self._run(plan, events or (lambda e: None))
        self._stack.callback(run.close)  # stopped early (Ctrl-C, an error in the caller): end the renders
        return run

    def _run(self, plan: Plan, send: Send) -> Iterator[tuple[int, list[ChapterResult]]]:
        done: dict[str, ChapterResult] = {}
        waiting = list(range(len(plan.lessons)))

        def complete():
            for i in [i for i in waiting if all(k in done for k in plan.keys[i])]:
                waiting.remove(i)
                yield i, [replace(done[k]) for k in plan.keys[i]]  # a copy each: a shared chapter is one render

        if not self.parallel:  # lesson by lesson, each chapter looked up or rendered in turn
            for keys, lesson in zip(plan.keys, plan.lessons):
                for k, job in zip(keys, lesson):
                    if k not in done:
                        done[k] = _render_reporting(job, send)
                yield from complete()
            return
        for k, job in {k: j for ks, lesson in zip(plan.keys, plan.lessons) for k, j in zip(ks, lesson)}.items():
            hit = cached_chapter(job) if k in plan.cached else None
            if hit is not None:
                send(Started(hit.number))
                send(Finished(hit.number, 0.0, True))
                done[k] = hit
        todo = [t for t in plan.tasks if t.key not in done]
        yield from complete()
        if not todo:
            return
        if self.scheduler:
            renders = _on_cluster(self._client, todo, send)
        elif self.jobs > 1 and len(todo) > 1:
            renders = _in_processes(todo, self.jobs, send)
        else:
            renders = ((t.key, _render_reporting(t.job, send)) for t in todo)
        with contextlib.closing(renders):
            for k, res in renders:
                done[k] = res
                yield from complete()


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
    one_thread_per_process()  # a process per core: Piper's second thread would only compete
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it ends the pool


def _worker_stop(signum, frame) -> None:
    """The pool is ending: the render in progress unwinds (its finally blocks remove its temporary files)."""
    raise KeyboardInterrupt


def _render_in_worker(task: Task) -> tuple[str, ChapterResult]:
    # The pool ends its processes with SIGTERM. While a chapter renders, it unwinds; between chapters the
    # signal's default ends the process at once. A handler there would run only once the main thread runs
    # Python again, and a worker waiting for its next task waits in a semaphore the signal, taken by one of
    # the native libraries' threads, does not interrupt: the pool then waited for that process for ever.
    signal.signal(signal.SIGTERM, _worker_stop)
    try:
        return task.key, _render_reporting(task.job, _WORKER_QUEUE.put)
    except KeyboardInterrupt:
        os._exit(1)  # stopped by the pool, already cleaned up: no traceback
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _relay(queue, send: Send) -> None:
    while (e := queue.get()) is not None:
        send(e)


def _in_processes(todo: list[Task], n: int, send: Send) -> Iterator[tuple[str, ChapterResult]]:
    """Render ``todo`` in ``n`` spawned processes, handed out in order; yield (key, result) as each finishes."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()  # workers report beats through it; a thread hands them on
    relay = threading.Thread(target=_relay, args=(queue, send), daemon=True)
    relay.start()
    try:
        with ctx.Pool(min(n, len(todo)), initializer=_worker_init, initargs=(queue,)) as pool:
            yield from pool.imap_unordered(_render_in_worker, todo)  # chunks of one: taken in order
            pool.close()  # let the workers exit cleanly (leaves no semaphores behind)
            pool.join()
    finally:
        queue.put(None)
        relay.join(timeout=5)


# -- a Dask cluster ------------------------------------------------------------------

def _render_on_worker(task: Task) -> dict:
    """On a Dask worker: render one chapter in a temporary folder and return its files as bytes.

    No shared filesystem is assumed: the chapter's video (or still) and the voice clips its
    timeline refers to travel back in the result.
    """
    job = task.job
    one_thread_per_process()  # a worker thread per core, as `dask worker` starts by default
    work = Path(tempfile.mkdtemp(prefix=f"kdanim-ch{job.number:02d}-"))
    try:
        res = render_chapter(job.chapter, job.trace, job.opts, work)
        clips = {}
        for line in res.timeline["lines"]:
            if line["path"]:
                p = Path(line["path"])
                clips[f"{p.parent.name}/{p.name}"] = p.read_bytes()
        return {"file": res.file.read_bytes(), "timeline": res.timeline, "clips": clips, "seconds": res.seconds,
                "stages": getattr(res, "stages", {})}
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
        if out.get("stages"):
            res.stages = out["stages"]
        return file_chapter(job, res)


def _on_cluster(c, todo: list[Task], send: Send) -> Iterator[tuple[str, ChapterResult]]:
    """Render ``todo`` on the Dask client ``c``'s workers, started in the order of the list; yield (key,
    result) as each comes back, filed in the local caches (an interrupted publish keeps the chapters already
    back). A chapter whose worker died, or that failed, is tried again on another worker (run_tasks)."""
    for t in todo:
        send(Started(t.job.number))
    renders = run_tasks(c, _render_on_worker, todo, name=lambda t: f"kdanim-ch{t.job.number:02d}-{t.key[:8]}",
                        in_order=True)
    with contextlib.closing(renders):
        try:
            for t, out in renders:
                res = _file_remote(t.job, out)
                send(Finished(res.number, res.seconds, False))
                yield t.key, res
        except TaskFailed as e:
            raise e.error from None
