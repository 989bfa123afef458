"""The lesson: the chapter base (narrated beats timed to speech) that every file in scenes/ builds on.

The chapters themselves are `kdanim.scenes` (the top-level scenes/ folder), in the order
`kdanim.scenes.lesson_order()` plays them.
"""

from .chapter import Chapter, LessonContext, Line, Narrator, Spoken, plain_context

__all__ = ["Chapter", "LessonContext", "Line", "Narrator", "Spoken", "plain_context"]
