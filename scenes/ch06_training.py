"""Chapter 6: training — the loss curves drawn epoch by epoch, the student moving toward the teacher."""

import math

import numpy as np

from manim import DOWN, FadeIn, ValueTracker, VGroup, linear

from kdanim.lesson import Chapter
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
    key = "training"
    reads = ("classes.names", "dataset.image_shape", "data.probe_images", "epochs", "probes.teacher_probs_tau")

    def body(self):
        names, k = self.class_names, self.probe
        rows = self.trace["epochs"]
        n = len(rows)
        series = {
            self.words("hard"): ([r["hard_loss"] for r in rows], T.HARD),
            self.words("soft"): ([r["soft_loss"] for r in rows], T.KL),  # a KL divergence: the KL colour
            self.words("combined"): ([r["combined_loss"] for r in rows], T.TEXT),
        }
        plot = CurvePlot(n, None, x_label=self.words("x"), y_label=self.words("y"), series=series,
                         width=6.2, height=4.0)
        counter = EpochCounter(n, label=self.words("counter"))
        left = VGroup(plot, counter).arrange(DOWN, buff=0.25)
        layout.fit_in(left, self.regions.stage_left)  # no footer: the stage's full height
        teacher_target = self.trace["probes"]["teacher_probs_tau"][k]
        t_key, s_key = self.words("teacher_bars"), self.words("student_bars")
        bars = ComparedBars({t_key: teacher_target, s_key: rows[0]["probe_probs_tau"][k]}, names,
                            colors={t_key: T.TEACHER, s_key: T.DISTILLED},
                            title=self.words("probe"), width=6.0, max_height=3.8)
        layout.fit_in(bars, self.regions.stage_right)
        plot.reveal(0)
        counter.set_epoch(0)

        badge = self.probe_badge()
        self.beat("intro", [FadeIn(plot), FadeIn(counter)], [FadeIn(bars)] + ([FadeIn(badge)] if badge else []))

        epoch = ValueTracker(0.0)
        # Only what changes carries an updater, and it goes last in the scene: Manim then draws the axes,
        # ticks, legends and names once per play and redraws the curves, the counter and the bars every frame.
        curves, moving = plot.detach_curves(), bars.detach_moving()
        self.add(curves, counter, moving)
        curves.add_updater(lambda m: plot.reveal(epoch.get_value()))
        counter.add_updater(lambda m: m.set_epoch(epoch.get_value()))
        moving.add_updater(lambda m: bars.set_values(
            s_key, at_epoch(rows, "probe_probs_tau", max(epoch.get_value(), 1.0))[k]))
        half = max(n // 2, 1)  # the epoch the script's training.first_half speaks of (training.half_epoch)
        with self.narrated("first_half") as timer:
            self.play(epoch.animate.set_value(half), run_time=timer.duration, rate_func=linear)
        with self.narrated("end") as timer:
            self.play(epoch.animate.set_value(n), run_time=max(timer.duration, 0.1) if n > half else 0.1,
                      rate_func=linear)
        for m in (curves, counter, moving):
            m.clear_updaters()
        self.finish()
