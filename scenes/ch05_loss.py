"""Chapter 5: the distillation loss, part by part."""

from manim import DOWN, FadeIn, Indicate, SurroundingRectangle, Create, FadeOut, VGroup, Write, LEFT

from kdanim import facts
from kdanim.lesson import Chapter
from kdanim.narration import speech as say
from kdanim.viz import KDLossFormula, layout, theme as T


class DistillationLoss(Chapter):
    number = 5
    title = "The distillation loss"
    reads = ("config.tau", "config.alpha")

    def body(self):
        cfg = self.config_
        tau, alpha = cfg["tau"], cfg["alpha"]
        formula = KDLossFormula()
        layout.fit_in(formula, self.regions.body)
        self.beat(
            "The student is trained on one loss with two parts.",
            Write(formula),
        )
        box_h = SurroundingRectangle(formula.hard_term, color=T.HARD, buff=0.08)
        self.beat(
            "The hard part is the cross-entropy between the true label and the student's prediction, "
            "weighted by one minus alpha.",
            Create(box_h),
            Indicate(formula.hard_term, color=T.HARD),
        )
        box_s = SurroundingRectangle(formula.soft_term, color=T.KL, buff=0.08)
        self.beat(
            "The soft part is the KL divergence from the teacher's softened distribution "
            "to the student's, both at temperature tau, weighted by alpha.",
            [FadeOut(box_h), Create(box_s)],
            Indicate(formula.soft_term, color=T.KL),
        )

        meaning = VGroup(
            T.text("α = 0 : hard labels only", size=T.BODY, color=T.HARD),
            T.text("α = 1 : soft labels only", size=T.BODY, color=T.SOFT),
            T.text(f"this run: α = {facts.fmt_num(alpha)},  τ = {facts.fmt_num(tau)},  "
                   f"τ² = {facts.fmt_num(tau * tau)}", size=T.BODY, color=T.TEXT),
        ).arrange(DOWN, buff=0.3, aligned_edge=LEFT)
        meaning.next_to(formula, DOWN, buff=0.8)
        layout.fit_in(VGroup(formula, box_s, meaning), self.regions.body)
        self.beat(
            f"With alpha equal to zero the student learns from the hard labels alone; with alpha equal to one, "
            f"from the teacher alone. This run uses alpha {say.number(alpha)}.",
            FadeOut(box_s),
            FadeIn(meaning[0]),
            FadeIn(meaning[1]),
            FadeIn(meaning[2]),
        )
        box_t = SurroundingRectangle(formula.tau_sq, color=T.SOFT, buff=0.06)
        self.beat(
            f"Why tau squared? Softening by tau shrinks the soft part's gradients by about one over tau squared. "
            f"Multiplying by tau squared, here {say.number(tau * tau)}, keeps both parts comparable "
            f"at any temperature, as Hinton and colleagues proposed in 2015.",
            Create(box_t),
            Indicate(formula.tau_sq, color=T.SOFT),
        )
        self.finish()
