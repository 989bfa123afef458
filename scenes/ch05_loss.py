"""Chapter 5: the distillation loss, part by part."""

from manim import DOWN, LEFT, Create, FadeIn, FadeOut, Indicate, SurroundingRectangle, VGroup, Write

from kdanim.lesson import Chapter
from kdanim.viz import KDLossFormula, layout, theme as T


class DistillationLoss(Chapter):
    number = 5
    key = "loss"
    reads = ()  # the formula is the same for every run; the run's α and τ are in the words

    def body(self):
        formula = KDLossFormula()
        layout.fit_in(formula, self.regions.body)
        self.beat("two_parts", Write(formula))
        box_h = SurroundingRectangle(formula.hard_term, color=T.HARD, buff=0.08)
        self.beat("hard", Create(box_h), Indicate(formula.hard_term, color=T.HARD))
        box_s = SurroundingRectangle(formula.soft_term, color=T.KL, buff=0.08)
        self.beat("soft", [FadeOut(box_h), Create(box_s)], Indicate(formula.soft_term, color=T.KL))

        meaning = VGroup(
            self.text("alpha0", color=T.HARD),
            self.text("alpha1", color=T.SOFT),
            self.text("this_run", color=T.TEXT),
        ).arrange(DOWN, buff=0.3, aligned_edge=LEFT)
        meaning.next_to(formula, DOWN, buff=0.8)
        layout.fit_in(VGroup(formula, box_s, meaning), self.regions.body)
        self.beat("alpha", FadeOut(box_s), FadeIn(meaning[0]), FadeIn(meaning[1]), FadeIn(meaning[2]))
        box_t = SurroundingRectangle(formula.tau_sq, color=T.SOFT, buff=0.06)
        self.beat("tau_sq", Create(box_t), Indicate(formula.tau_sq, color=T.SOFT))
        self.finish()
