"""Chapter 1: the title card and the one-sentence idea of distillation."""

from manim import DOWN, RIGHT, UP, Arrow, FadeIn, FadeOut, LaggedStart, VGroup, Write

from kdanim import facts
from kdanim.lesson import Chapter
from kdanim.narration import speech as say
from kdanim.viz import ProbabilityBars, layout, theme as T


class TitleAndIdea(Chapter):
    number = 1
    title = "The idea"
    reads = ("classes.names", "dataset.image_shape", "data.probe_images", "config.tau", "config.alpha", "config.epochs", "config.seed",
             "probes.teacher_probs_tau", "summary.teacher.hidden", "summary.teacher.params",
             "summary.distilled.hidden", "summary.distilled.params")

    def body(self):
        cfg, s = self.config_, self.summary
        t, st = s["teacher"], s["distilled"]

        # Beat 1: the title card with this run's parameters.
        name = T.text("Knowledge Distillation", size=T.TITLE, weight="BOLD")
        sub = T.text("a small network learns from a big one's soft predictions", size=T.BODY, color=T.MUTED)
        card = VGroup(
            T.text(f"Teacher  {len(t['hidden'])} hidden layers · {facts.fmt_int(t['params'])} params",
                   size=T.BODY, color=T.TEACHER),
            T.text(f"Student  {len(st['hidden'])} hidden layer{'s' if len(st['hidden']) > 1 else ''}"
                   f" · {facts.fmt_int(st['params'])} params", size=T.BODY, color=T.DISTILLED),
            T.text(f"τ = {facts.fmt_num(cfg['tau'])}   ·   α = {facts.fmt_num(cfg['alpha'])}"
                   f"   ·   {cfg['epochs']} epochs   ·   seed {cfg['seed']}", size=T.BODY, color=T.SOFT),
        ).arrange(DOWN, buff=0.3)
        block = VGroup(name, sub, card).arrange(DOWN, buff=0.45)
        layout.fit_in(block, self.regions.body)
        self.beat(
            f"This lesson is built from a real experiment in knowledge distillation. "
            f"A teacher network with {say.count(t['params'])} parameters teaches a student "
            f"with {say.count(st['params'])}, at temperature {say.number(cfg['tau'])} "
            f"and alpha {say.number(cfg['alpha'])}.",
            [Write(name), FadeIn(sub)],
            LaggedStart(*[FadeIn(c, shift=0.2 * UP) for c in card], lag_ratio=0.4),
        )

        # Beat 2: the idea, teacher -> student.
        teacher = T.text("Teacher", size=T.HEADING, color=T.TEACHER)
        student = T.text("Student", size=T.HEADING, color=T.DISTILLED)
        pair = VGroup(teacher, student).arrange(RIGHT, buff=4.0)
        arrow = Arrow(teacher.get_right(), student.get_left(), color=T.SOFT, buff=0.3)
        label = T.text("soft predictions", size=T.LABEL, color=T.SOFT).next_to(arrow, UP, buff=0.15)
        idea = T.text("Match the teacher's whole output distribution,\nnot just the correct label.",
                      size=T.BODY, color=T.TEXT)
        scene_b = VGroup(VGroup(pair, arrow, label), idea).arrange(DOWN, buff=0.8)
        layout.fit_in(scene_b, self.regions.body)
        self.beat(
            "The idea is simple. Instead of learning only from the right answers, "
            "the student learns to imitate the teacher's full output probabilities.",
            FadeOut(block),
            [FadeIn(teacher), FadeIn(student)],
            [FadeIn(arrow), FadeIn(label)],
            FadeIn(idea),
        )

        # Beat 3: dark knowledge, with the teacher's real probabilities for one probe.
        k = self.probe
        names = self.class_names
        tau = cfg["tau"]
        probs = self.trace["probes"]["teacher_probs_tau"][k]
        second = facts.top2(probs)[1]
        hard = [1.0 if i == k else 0.0 for i in range(len(names))]
        left = ProbabilityBars(hard, names, bar_color=T.HARD, title=f"hard label for a {self.cname(k)}",
                               title_color=T.HARD)
        right = ProbabilityBars(probs, names, bar_color=T.SOFT,
                                title=f"the teacher's soft label, τ = {facts.fmt_num(tau)}", title_color=T.SOFT)
        layout.fit_in(left, self.regions.left)
        layout.fit_in(right, self.regions.right)
        right.align_to(left, DOWN)
        note = T.text("dark knowledge: how much each wrong class resembles the right one",
                      size=T.LABEL, color=T.TEXT)
        layout.fit_in(note, self.regions.footer)
        badge = self.probe_badge()
        self.beat(
            f"For a {self.cname(k)}, the hard label is all or nothing. The teacher's softened prediction instead "
            f"says {say.percent(probs[k])} {self.cname(k)}, and gives most of the rest to {self.cname(second)}. "
            f"Those small probabilities on the wrong classes are the teacher's dark knowledge: "
            f"they tell the student which classes look alike.",
            FadeOut(scene_b),
            [FadeIn(left)] + ([FadeIn(badge)] if badge else []),
            FadeIn(right),
            FadeIn(note),
        )
        self.finish()
