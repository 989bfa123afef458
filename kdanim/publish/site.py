"""The explorer site: a lesson for every (τ, α) under variants/, and the explorer page over them."""

from __future__ import annotations

import contextlib
from pathlib import Path

from kdanim.render import ChapterPool, chapter_jobs
from kdanim.sim.config import SimConfig
from kdanim.trace import cached_trace

from .lesson import render_lesson
from .page import variant_name, write_explorer

__all__ = ["render_site", "simulated_traces"]


def render_site(traces, opts, site, webm: bool = False, events=None, message=None,
                pool: ChapterPool | None = None) -> list[Path]:
    """Render a lesson for every trace into ``site/variants/...`` and write the explorer page over them.

    The chapters of all variants are one pool of renders (``pool``, entered already; default: the
    pool of ``opts.scheduler`` and ``opts.jobs``): a chapter that does not read τ or α is rendered
    once for all, and each variant is assembled and published here as soon as its chapters are in.
    The page is written last, over the variants this call published. ``events``: see
    :meth:`ChapterPool.run` (chapter numbers repeat across variants).
    """
    site = Path(site)
    say = message or (lambda s: None)
    dirs = [site / variant_name(tr["config"]["tau"], tr["config"]["alpha"]) for tr in traces]
    published = []
    with contextlib.ExitStack() as stack:
        pool = pool or stack.enter_context(ChapterPool(opts.scheduler, opts.jobs))
        plan = pool.plan([chapter_jobs(tr, opts) for tr in traces])
        say(f"{plan.describe()}, {pool.where}")
        for n, (i, results) in enumerate(pool.run(plan, events), 1):
            cfg = traces[i]["config"]
            say(f"variant {n}/{len(traces)}: τ = {cfg['tau']:g}, α = {cfg['alpha']:g}")
            render_lesson(traces[i], opts, dirs[i], webm=webm, message=message, results=results)
            published.append(dirs[i])
    write_explorer(site, published)
    return dirs


def simulated_traces(taus, alphas, epochs: int, seed: int, on_simulate=None) -> list[dict]:
    """The trace of every (τ, α) of a grid, simulated (or from the trace cache) with the other defaults."""
    return [cached_trace(SimConfig(tau=t, alpha=a, epochs=epochs, seed=seed), on_simulate=on_simulate)
            for t in taus for a in alphas]
