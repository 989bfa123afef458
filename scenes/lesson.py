"""The whole lesson as one Manim scene, one section per chapter (for plain `manim render`)."""

from kdanim.scenes import SCENES_IN_ORDER


class Lesson(*SCENES_IN_ORDER):
    """All chapters in order; `manim render --save_sections scenes/lesson.py Lesson` splits them."""

    number = 0
    key = "lesson"

    def construct(self):
        for chapter in SCENES_IN_ORDER:
            self.next_section(f"{chapter.number:02d} {chapter.key}")
            self.number, self.key = chapter.number, chapter.key
            self.body = chapter.body.__get__(self)
            self.play_chapter()
            self.remove(*self.mobjects)
