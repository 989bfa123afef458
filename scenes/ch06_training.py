"""Chapter 6: training — the loss curves drawn epoch by epoch, the student moving toward the teacher."""

import math

import numpy as np

from manim import DOWN, FadeIn, ValueTracker, VGroup, linear

from kdanim import facts
from kdanim.lesson import Chapter
from kdanim.narration import speech as say
from kdanim.viz import ComparedBars, CurvePlot, EpochCounter, layout, theme as T


def at_epoch(rows, key, e):
    """Value of per-epoch ``key`` at (fractional) epoch ``e`` (1-based), linearly interpolated."""
    e = min(max(e, 1.0), float(len(rows)))
    i = int(math.floor(e)) - 1
    j = min(i + 1, len(rows) - 1)
    f = e - (i + 1)
    a, b = np.asarray(rows[i][key]), np.asarray(rows[j][key])
    return a + f * (b - a)


class Training(Chapter):
    number = 6
    title = "Training"
    reads = ("classes.names", "dataset.image_shape", "data.probe_images", "config.tau", "epochs", "probes.teacher_probs_tau")

    def body(self):
        cfg, names, k = self.config_, self.class_names, self.probe
        rows = self.trace["epochs"]
        n = len(rows)
        series = {
            "hard loss (CE)": ([r["hard_loss"] for r in rows], T.HARD),
            "soft loss (KL)": ([r["soft_loss"] for r in rows], T.KL),  # a KL divergence: the KL colour
            "combined": ([r["combined_loss"] for r in rows], T.TEXT),
        }
        plot = CurvePlot(n, None, x_label="epoch", y_label="loss", series=series, width=6.2, height=3.6)
        counter = EpochCounter(n)
        left = VGroup(plot, counter).arrange(DOWN, buff=0.25)
        layout.fit_in(left, self.regions.left)
        teacher_target = self.trace["probes"]["teacher_probs_tau"][k]
        tau = facts.fmt_num(cfg["tau"])
        bars = ComparedBars(
            {f"teacher (τ = {tau})": teacher_target, f"student (τ = {tau})": rows[0]["probe_probs_tau"][k]},
            names,
            colors={f"teacher (τ = {tau})": T.TEACHER, f"student (τ = {tau})": T.DISTILLED},
            title=f"a {self.cname(k)}", width=6.0, max_height=3.0,
        )
        layout.fit_in(bars, self.regions.right)
        plot.reveal(0)
        counter.set_epoch(0)

        first, last = rows[0], rows[-1]
        badge = self.probe_badge()
        self.beat(
            f"Now the student trains for {n} epochs. On the left: its hard loss, its soft loss, "
            f"and the combined loss it actually minimises. On the right: its softened prediction "
            f"for our {self.cname(k)}, next to the teacher's.",
            [FadeIn(plot), FadeIn(counter)],
            [FadeIn(bars)] + ([FadeIn(badge)] if badge else []),
        )

        epoch = ValueTracker(0.0)
        student_key = f"student (τ = {tau})"
        plot.add_updater(lambda m: m.reveal(epoch.get_value()))
        counter.add_updater(lambda m: m.set_epoch(epoch.get_value()))
        bars.add_updater(lambda m: m.set_values(student_key, at_epoch(rows, "probe_probs_tau", max(epoch.get_value(), 1.0))[k]))
        half = n // 2
        mid = rows[half - 1]
        with self.narrated(
            f"In the first epoch the combined loss averages {say.decimal(first['combined_loss'])}. "
            f"By epoch {half} it is down to {say.decimal(mid['combined_loss'])}, "
            f"and the student's bars are already taking the teacher's shape."
        ) as timer:
            self.play(epoch.animate.set_value(half), run_time=timer.duration, rate_func=linear)
        with self.narrated(
            f"After {n} epochs the hard loss is {say.decimal(last['hard_loss'])}, the soft loss "
            f"{say.decimal(last['soft_loss'], places=3)}, and the combined loss {say.decimal(last['combined_loss'])}. "
            f"The student now reaches {say.percent(last['test_accuracy'])} on the test set."
        ) as timer:
            self.play(epoch.animate.set_value(n), run_time=timer.duration, rate_func=linear)
        for m in (plot, counter, bars):
            m.clear_updaters()
        self.finish()
