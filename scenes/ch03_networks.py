"""Chapter 3: the teacher and the student as node diagrams, and a real forward pass."""

from manim import RIGHT, UP, AnimationGroup, Create, FadeIn, VGroup

from kdanim.lesson import Chapter
from kdanim.viz import NetworkDiagram, layout, theme as T


class TeacherAndStudent(Chapter):
    number = 3
    key = "networks"
    reads = ("dataset.image_shape", "data.probe_images", "networks.teacher", "networks.distilled")

    def _diagram(self, model, color, region, caption):
        net = self.trace["networks"][model]
        # Each layer pair is scaled by its own strongest group weight, so structure shows in every layer.
        d = NetworkDiagram(net["layers"], net["weights"], None, color=color, caption=caption)
        return layout.fit_in(d, region)

    def body(self):
        k = self.probe
        teacher = self._diagram("teacher", T.TEACHER, self.regions.left, self.words("teacher_caption"))
        student = self._diagram("distilled", T.DISTILLED, self.regions.right, self.words("student_caption"))
        t_name = self.text("teacher_name", size=T.HEADING, color=T.TEACHER).next_to(teacher, UP, buff=0.15)
        s_name = self.text("student_name", size=T.HEADING, color=T.DISTILLED).next_to(student, UP, buff=0.15)

        self.beat("teacher", [FadeIn(t_name), Create(teacher, lag_ratio=0.02)])
        self.beat("student", [FadeIn(s_name), Create(student, lag_ratio=0.02)])
        self.beat(
            "edges",
            [teacher.edges.animate.set_stroke(width=3), student.edges.animate.set_stroke(width=3)],
            [teacher.edges.animate.set_stroke(width=1.5), student.edges.animate.set_stroke(width=1.5)],
        )

        t_acts = self.trace["networks"]["teacher"]["activations"][k]
        s_acts = self.trace["networks"]["distilled"]["activations"][k]
        verdict = VGroup(
            self.text("teacher_says", size=T.LABEL, color=T.TEACHER),
            self.text("student_says", size=T.LABEL, color=T.DISTILLED),
        ).arrange(RIGHT, buff=1.0)
        layout.fit_in(verdict, self.regions.footer)
        badge = self.probe_badge()
        self.beat(
            "forward",
            *([FadeIn(badge)] if badge else []),
            AnimationGroup(teacher.forward_pass_animation(t_acts), student.forward_pass_animation(s_acts)),
            FadeIn(verdict),
            weights=(1, 3, 1) if badge else (3, 1), max_step=None,  # the forward pass follows the whole sentence
        )
        self.finish()
