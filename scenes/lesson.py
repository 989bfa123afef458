"""The whole lesson as one Manim scene, one section per chapter (for plain `manim render`)."""

from kdanim.scenes import SCENES_IN_ORDER


class Lesson(*SCENES_IN_ORDER):
    """All chapters in order; `manim render --save_sections scenes/lesson.py Lesson` splits them."""

    number = 0
    title = "Knowledge distillation"

    def construct(self):
        for chapter in SCENES_IN_ORDER:
            self.next_section(f"{chapter.number:02d} {chapter.title}")
            self.number, self.title = chapter.number, chapter.title
            self.body = chapter.body.__get__(self)
            self.play_chapter()
            self.remove(*self.mobjects)
