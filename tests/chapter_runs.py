"""Chapter runs for the tests: a chapter's construct played with its animations skipped (no frames drawn),
with the layout checked after every beat and every value read from the trace recorded.

    ctx, scene = run_chapter(Summary, trace, tmp_path)          # in this process
    summary = run_default(("rings", "Summary"))                 # the default run of a dataset (picklable)

The chapter tests (test_scenes.py) need one run of every chapter on each dataset; conftest.py
starts those in a worker process as soon as the tests are collected, so they run on the
second core while the other tests run here (:class:`Background`).
"""

from __future__ import annotations

import functools
import tempfile
import traceback
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

FAST = {"quality": "low_quality", "pixel_width": 320, "pixel_height": 180, "save_last_frame": True,
        "write_to_movie": False, "disable_caching": True, "verbosity": "ERROR", "progress_bar": "none"}
#: The probe class of each dataset's runs (the digits: a digit other than the first, 3).
PROBE = {"rings": 0, "digits": 3}


class Tracked(dict):
    """A trace that records the dotted path of every value read from it: by ``[]``, ``get``, ``in``,
    iteration, ``keys``, ``values`` and ``items`` (a loop over a part reads all of it).

    Asking whether a part is there (``in``, ``get``) records "?path": it is covered by a read
    of that part, of a part around it or of a part inside it (whose cache key says whether it is there).
    """

    def __init__(self, data, log, prefix=()):
        super().__init__(data)
        self._log, self._prefix = log, prefix

    def _path(self, key):
        return ".".join(self._prefix + (str(key),))

    def _wrap(self, key, value):
        path = self._prefix + (key,)
        if isinstance(value, dict):
            return Tracked(value, self._log, path)
        self._log.add(self._path(key))
        if isinstance(value, list):  # its length and order are read; the objects in it record their own reads
            return [Tracked(v, self._log, path) if isinstance(v, dict) else v for v in value]
        return value

    def _whole(self):
        """Its key set was read: the part itself (its path), or every top-level part of the trace."""
        if self._prefix:
            self._log.add(".".join(self._prefix))
        else:
            self._log.update(super().keys())

    def __getitem__(self, key):
        return self._wrap(key, super().__getitem__(key))

    def get(self, key, default=None):
        return self[key] if key in self else default

    def __contains__(self, key):
        self._log.add("?" + self._path(key))
        return super().__contains__(key)

    def __iter__(self):
        self._whole()
        return super().__iter__()

    def __len__(self):
        self._whole()
        return super().__len__()

    def keys(self):
        self._whole()
        return super().keys()

    def values(self):
        return [self[k] for k in super().keys()]

    def items(self):
        return [(k, self[k]) for k in super().keys()]


def uncovered(used, reads) -> list[str]:
    """The recorded reads that ``reads`` (a chapter's declared trace parts) does not cover."""
    def ok(u):
        if u.startswith("?"):  # whether a part is there
            u = u[1:]
            return any(r == "*" or u == r or u.startswith(r + ".") or r.startswith(u + ".") for r in reads)
        return any(r == "*" or u == r or u.startswith(r + ".") for r in reads)

    return sorted(u for u in used if not ok(u))


def context(trace, probe_class=0, preview=False):
    """The context a render draws ``trace`` from (silent voice), with the tests' layout checks on."""
    from kdanim.render import RenderOptions, make_context

    opts = RenderOptions(voice="none", probe_class=probe_class, preview=preview)
    return make_context(trace, opts, add_sound=False, check_layout=True)


def run_chapter(chapter_cls, trace, tmp_path, probe_class=0, drawn_from=None, preview=False):
    """Run a chapter's construct with animations skipped; return its context and scene.

    ``drawn_from``: the trace the chapter draws from, when it is not ``trace`` itself (a recording
    wrapper: the words are filled from ``trace`` as a render fills them, apart from the drawing).
    """
    from kdanim.render import render_scene

    ctx = context(trace, probe_class, preview)
    if drawn_from is not None:
        ctx.trace = drawn_from
    return ctx, render_scene(chapter_cls, ctx, {**FAST, "media_dir": str(Path(tmp_path) / "media")})


def summary(ctx, scene, used) -> dict:
    """What the tests read of a run, as plain data."""
    from kdanim.viz import PixelImage

    pictures = [[c.get_fill_opacity() for c in m.cells] for top in scene.mobjects for m in top.get_family()
                if isinstance(m, PixelImage)]
    return {"title": scene.title, "beats": list(scene.beats), "timeline": scene.timeline(),
            "layout_problems": list(ctx.layout_problems), "seen_text": list(ctx.seen_text),
            "used": sorted(used), "pictures": pictures}


@functools.lru_cache(maxsize=None)
def default_trace(dataset: str) -> dict:
    """The default run of ``dataset`` (as conftest.py's ``rings_trace`` and ``digits_trace``)."""
    from kdanim.sim.config import SimConfig
    from kdanim.trace import simulate_trace

    return simulate_trace(SimConfig(dataset=dataset), measure_latency=False)


def run_default(job: tuple[str, str], trace: dict | None = None) -> dict:
    """The summary of chapter ``job[1]`` (a class name) run on the default run of dataset ``job[0]``,
    with that dataset's probe class (the digits as a preview: the last beat stays on screen).
    A failure comes back as {"error": its traceback}."""
    from kdanim import scenes
    from kdanim.trace import content_hash

    dataset, name = job
    try:
        trace = trace if trace is not None else default_trace(dataset)
        used: set[str] = set()
        with tempfile.TemporaryDirectory(prefix="kdanim-chapter-run-") as tmp:
            ctx, scene = run_chapter(getattr(scenes, name), trace, tmp, probe_class=PROBE[dataset],
                                     drawn_from=Tracked(trace, used), preview=dataset == "digits")
        return {**summary(ctx, scene, used), "trace_hash": content_hash(trace)}
    except Exception:
        return {"error": traceback.format_exc()}


class Background:
    """Chapter runs in one worker process, started now and collected when a test needs them."""

    def __init__(self, jobs):
        self.pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
        self.futures = {job: self.pool.submit(run_default, job) for job in jobs}

    def result(self, job):
        future = self.futures.get(job)
        return None if future is None else future.result()

    def close(self):
        self.pool.shutdown(wait=False, cancel_futures=True)
