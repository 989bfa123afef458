"""The context of plain `manim render scenes/chNN_….py Scene`, read from KDANIM_* environment variables.

Manim constructs a scene itself, so the chapter base finds :func:`from_environment` through the
``kdanim.context`` entry point (pyproject.toml) instead of importing the renderer.
"""

from __future__ import annotations

import os
from pathlib import Path

from kdanim import sweep as sweepmod
from kdanim import trace as tracemod
from kdanim.facts import probe_index, sweep_view
from kdanim.lesson import LessonContext
from kdanim.narration import locale
from kdanim.sim.config import SimConfig
from kdanim.viz import theme as T

from .chapter import make_context
from .options import RenderOptions

__all__ = ["from_environment"]


def from_environment() -> LessonContext:
    """KDANIM_TRACE (else the default run, cached), KDANIM_VOICE, KDANIM_VOICE_MODEL,
    KDANIM_PROBE_CLASS, KDANIM_SWEEP, KDANIM_THEME and KDANIM_LANG; Manim plays the speech itself."""
    trace_path = os.environ.get("KDANIM_TRACE")
    tr = tracemod.load(Path(trace_path)) if trace_path else tracemod.cached_trace(SimConfig())
    try:
        probe_class = probe_index(os.environ.get("KDANIM_PROBE_CLASS"), tr["classes"]["names"])
    except ValueError as e:
        raise ValueError(f"KDANIM_PROBE_CLASS: {e}") from None
    sweep = os.environ.get("KDANIM_SWEEP")
    theme = os.environ.get("KDANIM_THEME", "dark")
    if theme not in T.THEMES:
        raise ValueError(f"KDANIM_THEME={theme!r} is not a theme: choose one of {', '.join(T.THEMES)}")
    lang = os.environ.get("KDANIM_LANG", "en")
    try:
        locale.language(lang)
    except ValueError as e:
        raise ValueError(f"KDANIM_LANG: {e}") from None
    opts = RenderOptions(voice=os.environ.get("KDANIM_VOICE") or locale.default_voice(lang), script=lang,
                         voice_model=os.environ.get("KDANIM_VOICE_MODEL") or None, probe_class=probe_class,
                         theme=theme, sweep=sweep_view(sweepmod.load(sweep)) if sweep else None)
    return make_context(tr, opts)
