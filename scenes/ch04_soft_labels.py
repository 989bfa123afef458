"""Chapter 4: soft labels — the teacher's output softened by temperature τ."""

import numpy as np
from manim import DOWN, LEFT, RIGHT, FadeIn, FadeOut, Indicate, ValueTracker, VGroup, smooth

from kdanim.lesson import Chapter
from kdanim.sim.losses import softmax
from kdanim.viz import ComparedBars, ProbabilityBars, SoftmaxFormula, layout, theme as T

#: The temperature sweep goes from 1 up to this and back (the script's soft_labels.sweep says so).
SWEEP_MAX = 10.0


class SoftLabels(Chapter):
    number = 4
    key = "soft_labels"
    reads = ("classes.names", "dataset.image_shape", "data.probe_images", "config.tau", "probes.teacher_logits",
             "probes.teacher_probs", "probes.teacher_probs_tau")

    def body(self):
        names, k = self.class_names, self.probe
        tau = self.config_["tau"]
        probes = self.trace["probes"]
        p1, pt = probes["teacher_probs"][k], probes["teacher_probs_tau"][k]
        hard = [1.0 if i == k else 0.0 for i in range(len(names))]
        hard_key, tau1_key, tau_key = self.words("hard_key"), self.words("tau1_key"), self.words("tau_key")
        at_one = tau == 1  # the run's soft labels are the τ = 1 bars: no third group
        groups = {hard_key: hard, tau1_key: p1, **({} if at_one else {tau_key: pt})}
        colors = {hard_key: T.HARD, tau1_key: T.TEACHER, **({} if at_one else {tau_key: T.SOFT})}
        bars = ComparedBars(groups, names, colors=colors, width=11.0, max_height=3.4)
        layout.fit_in(bars, self.regions.body)
        for key in groups:
            if key != hard_key:
                bars.set_values(key, [0.0] * len(names))
        badge = self.probe_badge()
        self.beat("hard", [FadeIn(bars)] + ([FadeIn(badge)] if badge else []))
        self.beat("tau1", bars.animate.set_values(tau1_key, p1))
        self.beat("at_tau", Indicate(bars.bars[1], color=T.SOFT) if at_one else bars.animate.set_values(tau_key, pt))

        # The sweep: τ from 1 to SWEEP_MAX and back, bars from the simulator's softmax.
        logits = np.asarray(probes["teacher_logits"][k])
        formula = SoftmaxFormula()
        sweep = ProbabilityBars(softmax(logits, 1.0), names, width=8.0, max_height=2.4)
        label = self.text("readout", size=T.HEADING, color=T.SOFT)
        value = T.text(T.numeral(f"{1.0:.1f}"), size=T.HEADING, color=T.SOFT)
        readout = VGroup(label, value).arrange(RIGHT, buff=0.2)
        # laid out as if one bar were full, so a sharp τ (a bar near 1 and its value) never reaches the formula
        full = ProbabilityBars(hard, names, width=8.0, max_height=2.4)
        group = VGroup(formula, full, readout).arrange(DOWN, buff=0.4)
        layout.fit_in(group, self.regions.body)
        sweep.scale(full.baseline.width / sweep.baseline.width)
        sweep.shift(full.baseline.get_center() - sweep.baseline.get_center())
        group = VGroup(formula, sweep, readout)
        t = ValueTracker(1.0)

        def follow(b):
            b.set_values(softmax(logits, t.get_value()))

        def show_tau(r):
            s = T.numeral(f"{t.get_value():.1f}")
            if s != r.original_text:  # rebuild the Text only when the shown value changes
                r.become(T.digit_text(s, size=T.HEADING, color=T.SOFT).match_height(r).move_to(r, aligned_edge=LEFT))
                r.original_text = s

        self.beat("formula", FadeOut(bars), FadeIn(group))
        # Only what changes carries an updater, and it goes last in the scene: Manim then draws the formula,
        # the class names and the readout's label once per play and redraws the bars and τ every frame.
        moving = sweep.detach_moving()
        self.add(moving, value)
        moving.add_updater(lambda m: follow(sweep))
        value.add_updater(show_tau)
        with self.narrated("sweep") as timer:
            self.play(t.animate.set_value(SWEEP_MAX), run_time=timer.duration * 0.55, rate_func=smooth)
            self.play(t.animate.set_value(1.0), run_time=timer.duration * 0.45, rate_func=smooth)
        self.beat("this_run", t.animate.set_value(tau))
        moving.clear_updaters()
        value.clear_updaters()
        self.finish()
