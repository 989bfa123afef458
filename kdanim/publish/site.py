"""The explorer site: a lesson for every (τ, α) under variants/, and the explorer page over them."""

from __future__ import annotations

from pathlib import Path

from kdanim.sim.config import SimConfig
from kdanim.trace import cached_trace

from .lesson import render_lesson
from .page import variant_name, write_explorer

__all__ = ["render_site", "simulated_traces"]


def render_site(traces, opts, site, webm: bool = False, events=None, message=None) -> list[Path]:
    """Render a lesson for every trace into ``site/variants/...`` and write the explorer page over them.

    Chapters that do not read τ or α are rendered once and reused from the
    chapter cache by every other variant.
    """
    site = Path(site)
    say = message or (lambda s: None)
    dirs = []
    for i, trace in enumerate(traces, 1):
        cfg = trace["config"]
        d = site / variant_name(cfg["tau"], cfg["alpha"])
        say(f"variant {i}/{len(traces)}: τ = {cfg['tau']:g}, α = {cfg['alpha']:g}")
        render_lesson(trace, opts, d, webm=webm, events=events, message=message)
        dirs.append(d)
    write_explorer(site, dirs)
    return dirs


def simulated_traces(taus, alphas, epochs: int, seed: int, on_simulate=None) -> list[dict]:
    """The trace of every (τ, α) of a grid, simulated (or from the trace cache) with the other defaults."""
    return [cached_trace(SimConfig(tau=t, alpha=a, epochs=epochs, seed=seed), on_simulate=on_simulate)
            for t in taus for a in alphas]
