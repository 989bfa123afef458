"""Chapter 11 (played after chapter 8, with --sweep): choosing τ and α from a sweep of runs."""

from manim import DOWN, LEFT, Create, FadeIn, FadeOut, VGroup

from kdanim import facts
from kdanim.lesson import Chapter
from kdanim.viz import BandPlot, Heatmap, layout, theme as T


def alpha_colors(n):
    """The α lines are all the distilled student's accuracy: shades of its colour, from a blend with the
    text colour (small α) to the pure colour (large α), so each reads on the theme's background. Shades
    of one hue are close (three: ΔE ≥ 20 in normal vision, 9–15 in simulated deuteranopia, under
    theme.MIN_SERIES_DELTA_E): the plot's markers and end labels tell them apart."""
    from manim import ManimColor, interpolate_color

    if n == 1:
        return [T.DISTILLED]
    return [interpolate_color(ManimColor(T.TEXT), ManimColor(T.DISTILLED), 0.15 + 0.85 * i / (n - 1)).to_hex()
            for i in range(n)]


class ChoosingTauAlpha(Chapter):
    number = 11
    key = "choosing"
    reads = ("sweep.axes", "sweep.epochs", "sweep.runs")
    #: Played right after this chapter number when a sweep is given.
    after = 8

    def body(self):
        view = self.ctx.sweep
        if view is None:  # this chapter needs a sweep (the CLI says so in words before it gets here)
            raise ValueError("--sweep=sweep.json, KDANIM_SWEEP=sweep.json")
        axes = view["axes"]
        taus, alphas = axes["tau"], axes["alpha"]
        cs = facts.sweep_cells(view)
        said = facts.sweep_facts(view)  # what the script says: the cells outlined are the ones it names

        grid = self.word_lines("grid_card", (T.TEXT, T.SOFT, T.SOFT, T.MUTED), size=T.BODY, buff=0.3)
        layout.fit_in(grid, self.regions.body)
        self.beat("grid", FadeIn(grid))

        gap = {(c["tau"], c["alpha"]): c["gap_mean"] for c in cs}
        heat = Heatmap([[gap[(t, a)] for t in taus] for a in reversed(alphas)],
                       [self.written("num", a) for a in reversed(alphas)], [self.written("num", t) for t in taus],
                       fmt=lambda v: self.written("pct", v, 0), row_title=self.words("alpha_axis"),
                       col_title=self.words("tau_axis"))
        caption = self.text("heat_caption", size=T.LABEL, color=T.MUTED)
        panel = VGroup(caption, heat).arrange(DOWN, buff=0.35)
        layout.fit_in(panel, self.regions.body)
        self.beat("heatmap", FadeOut(grid), FadeIn(panel))

        def at(s):
            return len(alphas) - 1 - alphas.index(s["alpha"]), taus.index(s["tau"])

        if said["ranked"]:
            marks = self.word_lines("marks", (T.DISTILLED, T.MUTED), size=T.LABEL, buff=0.15)
            layout.fit_in(VGroup(panel, marks).arrange(DOWN, buff=0.3), self.regions.body)
            self.beat("extremes",
                      [Create(heat.outline(*at(said["best"]), color=T.TEXT)), FadeIn(marks[0])],
                      [Create(heat.outline(*at(said["worst"]), color=T.MUTED)), FadeIn(marks[1])])
        else:
            self.beat("extremes")  # said over the heatmap (or nothing to say: skipped)

        by_alpha = {}
        for c in cs:
            by_alpha.setdefault(c["alpha"], {})[c["tau"]] = c
        names = self.words("series").split("\n")
        series = {name: ([by_alpha[a][t]["acc_mean"] for t in taus], [by_alpha[a][t]["acc_min"] for t in taus],
                         [by_alpha[a][t]["acc_max"] for t in taus], color)
                  for name, a, color in zip(names, alphas, alpha_colors(len(alphas)))}
        plot = BandPlot(taus, series, references={self.words("teacher_ref"): (said["teacher"], T.TEACHER),
                                                  self.words("scratch_ref"): (said["scratch"], T.SCRATCH)},
                        x_label=self.words("x"), y_label=self.words("y"), width=8.0, height=3.2)
        one_seed = said["n_seeds"] == 1
        notes = self.word_lines("seed_notes", (T.MUTED,) if one_seed else (T.TEXT, T.TEXT, T.SOFT), size=T.LABEL,
                           buff=0.12)
        verdict = self.word_lines("verdict_note", (T.DISTILLED if said["choice_matters"] and said.get("best_helps")
                                              else T.TEXT,), size=T.LABEL)
        below = VGroup(*notes, *verdict).arrange(DOWN, buff=0.12, aligned_edge=LEFT)
        layout.fit_in(VGroup(plot, below).arrange(DOWN, buff=0.3), self.regions.stage)  # no footer
        self.beat("plot", self.clear_body(), Create(plot))
        self.beat("seed", FadeIn(notes) if len(notes) else None)
        self.beat("verdict", FadeIn(verdict) if len(verdict) else None)
        self.finish()

    def word_lines(self, name, colors, size=T.LABEL, buff=0.15) -> VGroup:
        """The on-screen words ``name``, one Text per line, coloured in turn by ``colors`` (the last one
        repeats); an empty VGroup when the script shows nothing."""
        lines = [line for line in self.words(name).split("\n") if line.strip()]
        return VGroup(*[T.text(line, size=size, color=colors[min(i, len(colors) - 1)])
                        for i, line in enumerate(lines)]).arrange(DOWN, buff=buff, aligned_edge=LEFT)
