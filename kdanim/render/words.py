"""A lesson's script checked in full before anything is rendered: the command line calls these first, so a
mistake in a user's script is one line naming the file and the line, and no output folder is touched.

    check_script("my-lesson.md")               # parse, compile, beat ids, facts' and formatters' names
    warnings = check_words(trace, opts)        # every entry of the chosen chapters filled, numbers fact-checked
"""

from __future__ import annotations

from kdanim.narration import authoring
from kdanim.narration.script import LANGUAGES, Script, ScriptError, load_cached

from kdanim.scenes import lesson_order

from .chapter import make_words
from .options import RenderOptions
from .workers import selected_chapters

__all__ = ["check_script", "check_words", "facts_listing"]


def check_script(source: str) -> Script:
    """The script ``source`` (a language or a path), checked without a run; ScriptError ``file:line: ...``."""
    script = load_cached(source)
    shipped = script.fallback or load_cached(script.language if script.language in LANGUAGES else "en")
    authoring.check(script, shipped)
    return script


def check_words(trace: dict, opts: RenderOptions, strict: bool = False) -> list[str]:
    """Fill every entry of the chapters ``opts`` renders with this run's facts (ScriptError on the first that
    cannot be), and fact-check the numbers written in them: one warning line each (``strict``: an error)."""
    words = make_words(trace, opts)
    chapters = {c.key for c in lesson_order(with_sweep=True)}  # the other sections (lesson, page) are always used
    keys = [k for k in words.script.titles if k not in chapters] + [c.key for c in selected_chapters(opts)]
    authoring.check_filled(words, keys)
    warnings = authoring.number_warnings(words, keys)
    if strict and warnings:
        raise ScriptError(f"{warnings[0]} (--strict)")
    return warnings


def facts_listing(trace: dict, opts: RenderOptions) -> str:
    """`kdanim script --facts`: every fact of this run (credits included) with its value and meaning."""
    words = make_words(trace, opts)
    return authoring.listing(words.facts, words.script.env.filters)
