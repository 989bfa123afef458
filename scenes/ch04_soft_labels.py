"""Chapter 4: soft labels — the teacher's output softened by temperature τ."""

import numpy as np
from manim import DOWN, FadeIn, FadeOut, ValueTracker, VGroup, smooth

from kdanim import facts
from kdanim.lesson import Chapter
from kdanim.narration import speech as say
from kdanim.sim.losses import softmax
from kdanim.viz import ComparedBars, ProbabilityBars, SoftmaxFormula, layout, theme as T

#: The temperature sweep goes from 1 up to this and back.
SWEEP_MAX = 10.0


class SoftLabels(Chapter):
    number = 4
    title = "Soft labels and temperature"
    reads = ("classes.names", "dataset.image_shape", "data.probe_images", "config.tau", "probes.teacher_logits", "probes.teacher_probs",
             "probes.teacher_probs_tau")

    def body(self):
        cfg, names, k = self.config_, self.class_names, self.probe
        tau = cfg["tau"]
        probes = self.trace["probes"]
        p1, pt = probes["teacher_probs"][k], probes["teacher_probs_tau"][k]
        hard = [1.0 if i == k else 0.0 for i in range(len(names))]
        second = facts.top2(p1)[1]
        tau_label = f"τ = {facts.fmt_num(tau)}"

        bars = ComparedBars(
            {"hard label": hard, "τ = 1": p1, tau_label: pt},
            names,
            colors={"hard label": T.HARD, "τ = 1": T.TEACHER, tau_label: T.SOFT},
            width=11.0, max_height=3.4,
        )
        layout.fit_in(bars, self.regions.body)
        bars.set_values("τ = 1", [0.0] * len(names))
        bars.set_values(tau_label, [0.0] * len(names))
        badge = self.probe_badge()
        self.beat(
            f"Take one {self.cname(k)} from the test set. "
            f"Its hard label puts all the probability on {self.cname(k)}.",
            [FadeIn(bars)] + ([FadeIn(badge)] if badge else []),
        )
        self.beat(
            f"The trained teacher, at temperature one, gives {self.cname(k)} {say.percent(p1[k])} "
            f"and {self.cname(second)} {say.percent(p1[second])}.",
            bars.animate.set_values("τ = 1", p1),
        )
        self.beat(
            f"At temperature {say.number(tau)}, the same logits give a softer distribution: "
            f"{self.cname(k)} drops to {say.percent(pt[k])} and {self.cname(second)} rises to "
            f"{say.percent(pt[second])}. "
            f"The similarity between {self.cname(k)} and {self.cname(second)} is now plain to see.",
            bars.animate.set_values(tau_label, pt),
        )

        # The sweep: τ from 1 to SWEEP_MAX and back, bars from the simulator's softmax.
        logits = np.asarray(probes["teacher_logits"][k])
        formula = SoftmaxFormula()
        sweep = ProbabilityBars(softmax(logits, 1.0), names, width=8.0, max_height=2.4)
        readout = T.text("τ = 1.0", size=T.HEADING, color=T.SOFT)
        group = VGroup(formula, sweep, readout).arrange(DOWN, buff=0.4)
        layout.fit_in(group, self.regions.body)
        t = ValueTracker(1.0)

        def follow(b):
            b.set_values(softmax(logits, t.get_value()))

        def show_tau(r):
            s = f"τ = {t.get_value():.1f}"
            if s != r.original_text:  # rebuild the Text only when the shown value changes
                r.become(T.text(s, size=T.HEADING, color=T.SOFT).move_to(r))
                r.original_text = s

        self.beat(
            "Temperature divides the logits before the softmax. That one division is all there is to it.",
            FadeOut(bars),
            FadeIn(group),
        )
        sweep.add_updater(follow)
        readout.add_updater(show_tau)
        with self.narrated(
            f"Watch what happens as tau climbs from one to {say.number(SWEEP_MAX)}: the bars flatten toward "
            f"uniform, and the small classes, the dark knowledge, light up. "
            f"As tau falls back to one, the distribution sharpens again."
        ) as timer:
            self.play(t.animate.set_value(SWEEP_MAX), run_time=timer.duration * 0.55, rate_func=smooth)
            self.play(t.animate.set_value(1.0), run_time=timer.duration * 0.45, rate_func=smooth)
        self.beat(
            f"This run distils at tau equals {say.number(tau)}: soft enough to show which classes "
            f"resemble each other, sharp enough to keep the right answer on top.",
            t.animate.set_value(tau),
        )
        sweep.clear_updaters()
        readout.clear_updaters()
        self.finish()
