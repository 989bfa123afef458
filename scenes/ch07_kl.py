"""Chapter 7: KL(teacher ‖ student) over the epochs, and the two distributions at start, middle and end."""

from manim import DOWN, RIGHT, UL, UP, FadeIn, ValueTracker, VGroup, linear

from kdanim import facts
from kdanim.lesson import Chapter
from kdanim.narration import speech as say
from kdanim.viz import ComparedBars, CurvePlot, layout, theme as T


class KLDivergence(Chapter):
    number = 7
    title = "KL divergence"
    reads = ("classes.names", "dataset.image_shape", "data.probe_images", "config.tau", "epochs", "probes.teacher_probs_tau")

    def body(self):
        cfg, names, k = self.config_, self.class_names, self.probe
        rows = self.trace["epochs"]
        n = len(rows)
        kl = [r["kl"] for r in rows]
        tau = facts.fmt_num(cfg["tau"])
        plot = CurvePlot(n, None, x_label="epoch", y_label=f"KL at τ = {tau}",
                         series={"KL(teacher ‖ student)": (kl, T.KL)}, width=6.2, height=3.6)
        goal = T.text("goal: KL → 0", size=T.LABEL, color=T.KL)
        left = VGroup(plot, goal).arrange(DOWN, buff=0.25)
        layout.fit_in(left, self.regions.left)
        plot.reveal(0)
        self.beat(
            f"How close is the student to the teacher? The KL divergence from teacher to student, "
            f"measured on the test set at tau {say.number(cfg['tau'])}, answers that. The goal is zero.",
            [FadeIn(plot), FadeIn(goal)],
        )
        e = ValueTracker(0.0)
        plot.add_updater(lambda m: m.reveal(e.get_value()))
        with self.narrated(
            f"It starts at {say.decimal(kl[0], places=3)} after the first epoch and falls to "
            f"{say.decimal(kl[-1], places=3)} after {n}."
        ) as timer:
            self.play(e.animate.set_value(n), run_time=timer.duration, rate_func=linear)
        plot.clear_updaters()

        target = self.trace["probes"]["teacher_probs_tau"][k]
        t_key, s_key = "teacher target", "student"
        bars = ComparedBars({t_key: target, s_key: rows[0]["probe_probs_tau"][k]}, names,
                            colors={t_key: T.TEACHER, s_key: T.DISTILLED}, title=f"a {self.cname(k)}, τ = {tau}",
                            width=6.0, max_height=3.0)
        layout.fit_in(bars, self.regions.right)
        stops = {}
        for epoch, words in ((1, "At the start"), ((n + 1) // 2, "Halfway"), (n, "At the end")):
            stops.setdefault(epoch, words)  # a short run has fewer distinct stops
        for i, (epoch, words) in enumerate(sorted(stops.items())):
            row = rows[epoch - 1]
            dot = plot.mark(epoch, "KL(teacher ‖ student)")
            # the first point sits high on the left, the last at the right edge
            side = RIGHT if epoch == 1 else UL if epoch == n else UP
            label = T.text(f"epoch {epoch}", size=T.SMALL, color=T.KL).next_to(dot, side, buff=0.1)
            label.allow_overlap = True  # an annotation on the curve, meant to sit inside the plot
            steps = [[FadeIn(dot), FadeIn(label)], bars.animate.set_values(s_key, row["probe_probs_tau"][k])]
            if i == 0:
                badge = self.probe_badge()
                steps.insert(0, [FadeIn(bars)] + ([FadeIn(badge)] if badge else []))
            p = row["probe_probs_tau"][k]
            self.beat(
                f"{words}, epoch {epoch}: the KL is {say.decimal(row['kl'], places=3)}, "
                f"and the student gives {self.cname(k)} {say.percent(p[k])} where the teacher gives {say.percent(target[k])}.",
                *steps,
            )
        self.finish()
