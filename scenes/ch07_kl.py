"""Chapter 7: KL(teacher ‖ student) over the epochs, and the two distributions at start, middle and end."""

from manim import DL, DOWN, DR, LEFT, RIGHT, UL, UP, UR, FadeIn, ValueTracker, VGroup, linear

from kdanim.lesson import Chapter
from kdanim.viz import ComparedBars, CurvePlot, layout, theme as T


def stops(n: int) -> dict[int, str]:
    """The epochs the chapter stops at, each with its beat ("start", "middle", "end"); a short run has
    fewer distinct stops (the same ones as the script's kl.stops)."""
    out: dict[int, str] = {}
    for name, epoch in (("start", 1), ("middle", (n + 1) // 2), ("end", n)):
        out.setdefault(epoch, name)
    return out


def _box(m):
    """(left, right, bottom, top) of a mobject."""
    return m.get_left()[0], m.get_right()[0], m.get_bottom()[1], m.get_top()[1]


def _place(label, dot, sides, taken, area, buff=0.1, gap=0.15):
    """Put ``label`` next to ``dot`` on the first of ``sides`` where it stays inside ``area`` and at least
    ``gap`` clear of every box in ``taken`` (else on the first side); then add its box to ``taken``."""
    others = [t for t in taken if t != _box(dot)]  # its own dot is meant to be near

    def fits(b):
        inside = b[0] >= area[0] and b[1] <= area[1] and b[2] >= area[2] and b[3] <= area[3]
        return inside and all(min(b[1], t[1]) + gap <= max(b[0], t[0]) or min(b[3], t[3]) + gap <= max(b[2], t[2])
                              for t in others)
    for side in sides:
        label.next_to(dot, side, buff=buff)
        if fits(_box(label)):
            break
    else:
        label.next_to(dot, sides[0], buff=buff)
    taken.append(_box(label))


class KLDivergence(Chapter):
    number = 7
    key = "kl"
    reads = ("classes.names", "dataset.image_shape", "data.probe_images", "epochs", "probes.teacher_probs_tau")

    def body(self):
        names, k = self.class_names, self.probe
        rows = self.trace["epochs"]
        n = len(rows)
        kl = [r["kl"] for r in rows]
        series = self.words("series")
        plot = CurvePlot(n, None, x_label=self.words("x"), y_label=self.words("y"),
                         series={series: (kl, T.KL)}, width=6.2, height=4.2)
        goal = self.text("goal", size=T.LABEL, color=T.KL)
        left = VGroup(plot, goal).arrange(DOWN, buff=0.25)
        layout.fit_in(left, self.regions.stage_left)  # no footer: the stage's full height
        plot.reveal(0)
        self.beat("intro", [FadeIn(plot), FadeIn(goal)])
        e = ValueTracker(0.0)
        curves = plot.detach_curves()  # updated on its own and last: the axes are drawn once (ch06_training)
        self.add(curves)
        curves.add_updater(lambda m: plot.reveal(e.get_value()))
        with self.narrated("curve") as timer:
            self.play(e.animate.set_value(n), run_time=timer.duration, rate_func=linear)
        curves.clear_updaters()

        target = self.trace["probes"]["teacher_probs_tau"][k]
        t_key, s_key = self.words("teacher_bars"), self.words("student_bars")
        bars = ComparedBars({t_key: target, s_key: rows[0]["probe_probs_tau"][k]}, names,
                            colors={t_key: T.TEACHER, s_key: T.DISTILLED}, title=self.words("bars_title"),
                            width=6.0, max_height=3.8)
        layout.fit_in(bars, self.regions.stage_right)
        marks = self.words("marks").split("\n")  # one label per stop, in order
        at = stops(n)
        dots = {epoch: plot.mark(epoch, series) for epoch in at}
        taken = [_box(d) for d in dots.values()]  # what a label must not cover: the dots, earlier labels
        fell = kl[-1] <= kl[0]
        for i, ((epoch, name), mark) in enumerate(zip(at.items(), marks)):
            row = rows[epoch - 1]
            dot = dots[epoch]
            # off the curve: the first point's label to its right, the last one's below it when the curve
            # came down to it (above when it rose), a one-epoch run's only point (at the right edge) left
            sides = ([LEFT, DL, DOWN] if n == 1 else
                     [DL, UL, LEFT, DOWN, UP] if epoch == n and fell else
                     [UL, DL, LEFT, UP, DOWN] if epoch == n else
                     [RIGHT, DR, UR, DOWN] if epoch == 1 else [UP, DOWN, UR, DR, UL, DL])
            label = T.text(mark, size=T.SMALL, color=T.KL)
            _place(label, dot, sides, taken, _box(plot.plot_area))
            label.allow_overlap = True  # an annotation on the curve, meant to sit inside the plot
            steps = [[FadeIn(dot), FadeIn(label)], bars.animate.set_values(s_key, row["probe_probs_tau"][k])]
            if i == 0:
                badge = self.probe_badge()
                steps.insert(0, [FadeIn(bars)] + ([FadeIn(badge)] if badge else []))
            self.beat(name, *steps)
        self.finish()
