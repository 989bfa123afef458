"""Chapter 1: the title card and the one-sentence idea of distillation."""

from manim import DOWN, RIGHT, UP, Arrow, FadeIn, FadeOut, LaggedStart, VGroup, Write

from kdanim.lesson import Chapter
from kdanim.viz import ProbabilityBars, layout, theme as T


class TitleAndIdea(Chapter):
    number = 1
    key = "idea"
    reads = ("classes.names", "dataset.image_shape", "data.probe_images", "probes.teacher_probs_tau")

    def body(self):
        block = self.title_card()
        scene_b = self.the_idea(block)
        self.dark_knowledge(scene_b)
        self.finish()

    def title_card(self):
        """Beat 1: the title card with this run's parameters."""
        name = self.text("name", size=T.TITLE, weight="BOLD")
        sub = self.text("subtitle", color=T.MUTED)
        card = VGroup(*[T.text(line, size=T.BODY, color=color) for line, color in
                        zip(self.words("card").split("\n"), (T.TEACHER, T.DISTILLED, T.SOFT))]).arrange(DOWN, buff=0.3)
        # the lesson's credits (course; author · institution), when it has any
        credits = VGroup(*[T.text(line, size=T.BODY, color=T.TEXT) for line in self.words("credits").split("\n")
                           if line.strip()]).arrange(DOWN, buff=0.2)
        block = VGroup(name, sub, *([credits] if len(credits) else []), card).arrange(DOWN, buff=0.45)
        layout.fit_in(block, self.regions.body)
        self.beat("welcome", [Write(name), FadeIn(sub), *([FadeIn(credits)] if len(credits) else [])],
                  LaggedStart(*[FadeIn(c, shift=0.2 * UP) for c in card], lag_ratio=0.4))
        return block

    def the_idea(self, block):
        """Beat 2: the idea, teacher -> student."""
        teacher = self.text("teacher", size=T.HEADING, color=T.TEACHER)
        student = self.text("student", size=T.HEADING, color=T.DISTILLED)
        pair = VGroup(teacher, student).arrange(RIGHT, buff=4.0)
        arrow = Arrow(teacher.get_right(), student.get_left(), color=T.SOFT, buff=0.3)
        label = self.text("arrow", size=T.LABEL, color=T.SOFT).next_to(arrow, UP, buff=0.15)
        idea = self.text("idea", color=T.TEXT)
        scene_b = VGroup(VGroup(pair, arrow, label), idea).arrange(DOWN, buff=0.8)
        layout.fit_in(scene_b, self.regions.body)
        self.beat("imitate", FadeOut(block), [FadeIn(teacher), FadeIn(student)], [FadeIn(arrow), FadeIn(label)],
                  FadeIn(idea))
        return scene_b

    def dark_knowledge(self, scene_b):
        """Beat 3: dark knowledge, with the teacher's real probabilities for one probe."""
        k, names = self.probe, self.class_names
        probs = self.trace["probes"]["teacher_probs_tau"][k]
        hard = [1.0 if i == k else 0.0 for i in range(len(names))]
        left = ProbabilityBars(hard, names, bar_color=T.HARD, title=self.words("hard_title"), title_color=T.HARD)
        right = ProbabilityBars(probs, names, bar_color=T.SOFT, title=self.words("soft_title"), title_color=T.SOFT)
        layout.fit_in(left, self.regions.left)
        layout.fit_in(right, self.regions.right)
        right.align_to(left, DOWN)
        note = self.text("note", size=T.LABEL, color=T.TEXT)
        layout.fit_in(note, self.regions.footer)
        badge = self.probe_badge()
        self.beat("dark_knowledge", FadeOut(scene_b), [FadeIn(left)] + ([FadeIn(badge)] if badge else []),
                  FadeIn(right), FadeIn(note))
