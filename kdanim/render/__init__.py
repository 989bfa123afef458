"""Rendering: one chapter with Manim, the chapter cache, and the workers that render a lesson's chapters
(serial, a pool of processes, or Dask), with live progress. The lesson folder is `kdanim.publish`'s.
"""

from .cache import cached_chapter, chapter_key, code_version, expected_beats, file_chapter
from .chapter import make_context, make_voice, make_words, render_chapter, render_scene
from .options import (QUALITIES, BeatDone, ChapterJob, ChapterResult, Event, Finished, RenderOptions, Started,
                      default_jobs)
from .workers import ChapterPool, Plan, chapter_jobs, chapter_titles, render_chapters, selected_chapters, spoken_words
from .words import check_script, check_words, facts_listing

__all__ = ["QUALITIES", "RenderOptions", "ChapterJob", "ChapterResult", "Event", "Started", "BeatDone", "Finished",
           "default_jobs", "render_chapter", "render_scene", "make_context", "make_voice", "make_words", "render_chapters", "selected_chapters",
           "chapter_jobs", "chapter_titles", "spoken_words", "ChapterPool", "Plan", "cached_chapter", "file_chapter", "chapter_key", "code_version", "expected_beats",
           "check_script", "check_words", "facts_listing"]
