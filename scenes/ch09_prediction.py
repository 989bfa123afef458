"""Chapter 9: one prediction walked through — true class, both predictions, both distributions, their KL."""

from manim import DOWN, LEFT, RIGHT, FadeIn, Indicate, VGroup

from kdanim import facts
from kdanim.lesson import Chapter
from kdanim.narration import speech as say
from kdanim.viz import ComparedBars, layout, theme as T


class APrediction(Chapter):
    number = 9
    title = "A prediction"
    reads = ("classes.names", "dataset.image_shape", "data.probe_images", "config.tau", "epochs", "probes.labels", "probes.teacher_probs",
             "summary.distilled.probe_kl")

    def body(self):
        names, k = self.class_names, self.probe
        story = facts.probe_story(self.trace, k)
        tp, sp = story["teacher_pred"], story["student_pred"]
        p_t, p_s = story["teacher_probs"], story["student_probs"]
        kl = self.summary["distilled"]["probe_kl"][k]
        tau = facts.fmt_num(self.config_["tau"])

        truth = T.text(f"true class: {names[story['label']]}", size=T.HEADING, color=T.CLASS_COLORS[story["label"]])
        t_line = T.text(f"Teacher → {names[tp]}  ({facts.fmt_pct(p_t[tp])})", size=T.BODY, color=T.TEACHER)
        s_line = T.text(f"Student → {names[sp]}  ({facts.fmt_pct(p_s[sp])})", size=T.BODY, color=T.DISTILLED)
        kl_text = T.text(f"KL(teacher ‖ student) at τ = {tau}:\n{kl:.4f}", size=T.BODY, color=T.KL)
        note = T.text("lower = closer to the teacher\ngoal: KL → 0", size=T.LABEL, color=T.MUTED)
        pic = self.probe_picture(side=1.3)
        if pic is not None:  # the input itself, beside its true class
            truth = VGroup(pic, truth).arrange(RIGHT, buff=0.35)
        info = VGroup(truth, t_line, s_line, kl_text, note).arrange(DOWN, buff=0.35, aligned_edge=LEFT)
        layout.fit_in(info, self.regions.left)
        self.beat(
            f"Finally, one prediction. Here is a test example whose true class is {self.cname(story['label'])}.",
            FadeIn(truth),
        )
        bars = ComparedBars({"teacher": p_t, "student": [0.0] * len(names)}, names,
                            colors={"teacher": T.TEACHER, "student": T.DISTILLED}, title="probabilities at τ = 1",
                            width=6.0, max_height=3.0)
        layout.fit_in(bars, self.regions.right)
        right = "correctly" if tp == story["label"] else "wrongly"
        self.beat(
            f"The teacher {right} predicts {self.cname(tp)}, with {say.percent(p_t[tp])}.",
            [FadeIn(t_line), FadeIn(bars)],
        )
        right = "also right" if sp == story["label"] else "wrong here"
        self.beat(
            f"The distilled student predicts {self.cname(sp)}, with {say.percent(p_s[sp])}: {right}. "
            f"Its whole distribution follows the teacher's, small probabilities included.",
            FadeIn(s_line),
            bars.animate.set_values("student", p_s),
        )
        self.beat(
            f"For this example the KL divergence between them, at tau {say.number(self.config_['tau'])}, "
            f"is {say.decimal(kl, places=4)}. Lower means closer; zero would be a perfect copy.",
            [FadeIn(kl_text), FadeIn(note)],
            Indicate(kl_text, color=T.KL),
        )
        self.finish()
