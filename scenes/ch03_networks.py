"""Chapter 3: the teacher and the student as node diagrams, and a real forward pass."""

from manim import RIGHT, UP, AnimationGroup, Create, FadeIn, VGroup

from kdanim import facts
from kdanim.lesson import Chapter
from kdanim.narration import speech as say
from kdanim.viz import NetworkDiagram, layout, theme as T


class TeacherAndStudent(Chapter):
    number = 3
    title = "Teacher and student"
    reads = ("classes.names", "dataset.image_shape", "data.probe_images", "epochs", "networks.teacher", "networks.distilled", "probes.labels",
             "probes.teacher_probs", "summary.teacher.hidden", "summary.teacher.params",
             "summary.distilled.hidden", "summary.distilled.params")

    def _diagram(self, model, color, region):
        net = self.trace["networks"][model]
        s = self.summary[model]
        n = len(s["hidden"])
        caption = f"{n} hidden layer{'s' if n > 1 else ''} · {facts.fmt_int(s['params'])} params"
        # Each layer pair is scaled by its own strongest group weight, so structure shows in every layer.
        d = NetworkDiagram(net["layers"], net["weights"], None, color=color, caption=caption)
        return layout.fit_in(d, region)

    def body(self):
        s, names, k = self.summary, self.class_names, self.probe
        teacher = self._diagram("teacher", T.TEACHER, self.regions.left)
        student = self._diagram("distilled", T.DISTILLED, self.regions.right)
        t_name = T.text("Teacher", size=T.HEADING, color=T.TEACHER).next_to(teacher, UP, buff=0.15)
        s_name = T.text("Student", size=T.HEADING, color=T.DISTILLED).next_to(student, UP, buff=0.15)

        self.beat(
            f"The teacher is a multilayer perceptron with {say.widths(s['teacher']['hidden'])}: "
            f"{say.count(s['teacher']['params'])} parameters. "
            f"Wide layers are drawn with a few nodes and an ellipsis.",
            [FadeIn(t_name), Create(teacher, lag_ratio=0.02)],
        )
        ratio = s["teacher"]["params"] / s["distilled"]["params"]
        self.beat(
            f"The student has {say.widths(s['distilled']['hidden'])}: "
            f"{say.count(s['distilled']['params'])} parameters, {say.ratio(ratio)} smaller.",
            [FadeIn(s_name), Create(student, lag_ratio=0.02)],
        )
        self.beat(
            "Each line stands for the trained weights between two groups of units: "
            "the stronger the weights, the brighter the line, and its colour gives their sign.",
            [teacher.edges.animate.set_stroke(width=3), student.edges.animate.set_stroke(width=3)],
            [teacher.edges.animate.set_stroke(width=1.5), student.edges.animate.set_stroke(width=1.5)],
        )

        story = facts.probe_story(self.trace, k)
        t_acts = self.trace["networks"]["teacher"]["activations"][k]
        s_acts = self.trace["networks"]["distilled"]["activations"][k]
        tp, sp = story["teacher_pred"], story["student_pred"]
        verdict = VGroup(
            T.text(f"teacher → {names[tp]} ({facts.fmt_pct(story['teacher_probs'][tp])})", size=T.LABEL, color=T.TEACHER),
            T.text(f"student → {names[sp]} ({facts.fmt_pct(story['student_probs'][sp])})", size=T.LABEL, color=T.DISTILLED),
        ).arrange(RIGHT, buff=1.0)
        layout.fit_in(verdict, self.regions.footer)
        badge = self.probe_badge()
        self.beat(
            f"Now one {self.cname(k)} from the test set flows through both networks. "
            f"Each node lights up by its real activation. "
            f"The teacher says {self.cname(tp)}, with {say.percent(story['teacher_probs'][tp])}; "
            f"the distilled student says {self.cname(sp)}, with {say.percent(story['student_probs'][sp])}.",
            *([FadeIn(badge)] if badge else []),
            AnimationGroup(teacher.forward_pass_animation(t_acts), student.forward_pass_animation(s_acts)),
            FadeIn(verdict),
            weights=(1, 3, 1) if badge else (3, 1), max_step=None,  # the forward pass follows the whole sentence
        )
        self.finish()
