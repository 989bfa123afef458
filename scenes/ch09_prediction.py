"""Chapter 9: one prediction walked through — true class, both predictions, both distributions, their KL."""

from manim import DOWN, LEFT, RIGHT, FadeIn, Indicate, VGroup

from kdanim import facts
from kdanim.lesson import Chapter
from kdanim.viz import ComparedBars, layout, theme as T


class APrediction(Chapter):
    number = 9
    key = "prediction"
    reads = ("classes.names", "dataset.image_shape", "data.probe_images", "epochs", "probes.labels",
             "probes.teacher_probs")

    def body(self):
        names, k = self.class_names, self.probe
        story = facts.probe_story(self.trace, k)
        p_t, p_s = story["teacher_probs"], story["student_probs"]

        truth = self.text("truth", size=T.HEADING, color=T.CLASS_COLORS[story["label"]])
        t_line = self.text("teacher_line", color=T.TEACHER)
        s_line = self.text("student_line", color=T.DISTILLED)
        kl_text = self.text("kl_text", color=T.KL)
        note = self.text("note", size=T.LABEL, color=T.MUTED)
        pic = self.probe_picture(side=1.3)
        if pic is not None:  # the input itself, beside its true class
            truth = VGroup(pic, truth).arrange(RIGHT, buff=0.35)
        info = VGroup(truth, t_line, s_line, kl_text, note).arrange(DOWN, buff=0.35, aligned_edge=LEFT)
        layout.fit_in(info, self.regions.stage_left)  # no footer: the stage's full height
        self.beat("intro", FadeIn(truth))

        teacher, student = self.words("teacher_bars"), self.words("student_bars")
        bars = ComparedBars({teacher: p_t, student: [0.0] * len(names)}, names,
                            colors={teacher: T.TEACHER, student: T.DISTILLED}, title=self.words("bars_title"),
                            width=6.0, max_height=3.8)
        layout.fit_in(bars, self.regions.stage_right)
        self.beat("teacher", [FadeIn(t_line), FadeIn(bars)])
        self.beat("student", FadeIn(s_line), bars.animate.set_values(student, p_s))
        self.beat("kl", [FadeIn(kl_text), FadeIn(note)], Indicate(kl_text, color=T.KL))
        self.finish()
