"""Chapter 11 (played after chapter 8, with --sweep): choosing τ and α from a sweep of runs."""

from manim import DOWN, LEFT, Create, FadeIn, FadeOut, VGroup

from kdanim import facts
from kdanim.lesson import Chapter
from kdanim.narration import speech as say
from kdanim.facts import sweep_findings as findings
from kdanim.viz import BandPlot, Heatmap, layout, theme as T

def alpha_colors(n):
    """The α lines are all the distilled student's accuracy: shades of its colour, from a blend with the
    text colour (small α) to the pure colour (large α), so each reads on the theme's background."""
    from manim import ManimColor, interpolate_color

    if n == 1:
        return [T.DISTILLED]
    return [interpolate_color(ManimColor(T.TEXT), ManimColor(T.DISTILLED), 0.4 + 0.6 * i / (n - 1)).to_hex()
            for i in range(n)]


def _setting(c) -> str:
    return f"τ = {c['tau']:g}, α = {c['alpha']:g}"


def _said(c) -> str:
    return f"tau {say.number(c['tau'])} with alpha {say.number(c['alpha'])}"


def _taus(taus) -> str:
    words = [say.number(t) for t in taus]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" and {words[-1]}"


class ChoosingTauAlpha(Chapter):
    number = 11
    title = "Choosing τ and α"
    reads = ("sweep.axes", "sweep.epochs", "sweep.runs")
    #: Played right after this chapter number when a sweep is given.
    after = 8

    def body(self):
        view = self.ctx.sweep
        if view is None:
            raise ValueError("this chapter needs a sweep: kdanim render --sweep sweep.json (or KDANIM_SWEEP)")
        axes, f = view["axes"], findings(view)
        taus, alphas, seeds = axes["tau"], axes["alpha"], axes["seed"]
        n_runs, n_seeds = len(view["runs"]), len(seeds)
        best, worst, cs = f["best"], f["worst"], f["cells"]

        grid = VGroup(
            T.text(f"{n_runs} runs, {view['epochs']} epochs each", size=T.BODY),
            T.text("τ: " + ", ".join(f"{t:g}" for t in taus), size=T.BODY, color=T.SOFT),
            T.text("α: " + ", ".join(f"{a:g}" for a in alphas), size=T.BODY, color=T.SOFT),
            T.text(f"{n_seeds} seed{'s' if n_seeds != 1 else ''} each", size=T.BODY, color=T.MUTED),
        ).arrange(DOWN, buff=0.3, aligned_edge=LEFT)
        layout.fit_in(grid, self.regions.body)
        self.beat(
            f"One run shows one choice. To choose tau and alpha, we ran a whole grid: "
            f"{say.small(len(taus))} temperatures and {say.small(len(alphas))} values of alpha, "
            f"with {say.small(n_seeds)} seed{'s' if n_seeds != 1 else ''} each: {say.count(n_runs)} runs "
            f"of {view['epochs']} epochs.",
            FadeIn(grid),
        )

        gap = {(c["tau"], c["alpha"]): c["gap_mean"] for c in cs}
        heat = Heatmap([[gap[(t, a)] for t in taus] for a in reversed(alphas)],
                       [f"{a:g}" for a in reversed(alphas)], [f"{t:g}" for t in taus],
                       fmt=lambda v: facts.fmt_pct(v, 0), row_title="α", col_title="τ")
        caption = T.text(f"share of the teacher–scratch gap recovered, mean of {n_seeds} seed"
                         f"{'s' if n_seeds != 1 else ''}", size=T.LABEL, color=T.MUTED)
        panel = VGroup(caption, heat).arrange(DOWN, buff=0.35)
        layout.fit_in(panel, self.regions.body)
        self.beat(
            f"Each cell is the share of the gap between the student from scratch and the teacher that "
            f"the distilled student recovered, averaged over the seeds.",
            FadeOut(grid), FadeIn(panel),
        )

        def at(c):
            return len(alphas) - 1 - alphas.index(c["alpha"]), taus.index(c["tau"])

        if len(cs) > 1:
            marks = VGroup(
                T.text(f"best: {_setting(best)}, {facts.fmt_pct(best['gap_mean'], 0)}", size=T.LABEL, color=T.DISTILLED),
                T.text(f"worst: {_setting(worst)}, {facts.fmt_pct(worst['gap_mean'], 0)}", size=T.LABEL, color=T.MUTED),
            ).arrange(DOWN, buff=0.15, aligned_edge=LEFT)
            layout.fit_in(VGroup(panel, marks).arrange(DOWN, buff=0.3), self.regions.body)
            self.beat(
                f"On average the best setting is {_said(best)}: {say.percent(best['gap_mean'])} of the gap. "
                f"The worst is {_said(worst)}: {say.percent(worst['gap_mean'])}.",
                [Create(heat.outline(*at(best), color=T.TEXT)), FadeIn(marks[0])],
                [Create(heat.outline(*at(worst), color=T.MUTED)), FadeIn(marks[1])],
            )

        by_alpha = {}
        for c in cs:
            by_alpha.setdefault(c["alpha"], {})[c["tau"]] = c
        series = {f"α = {a:g}": ([by_alpha[a][t]["acc_mean"] for t in taus], [by_alpha[a][t]["acc_min"] for t in taus],
                                 [by_alpha[a][t]["acc_max"] for t in taus], color)
                  for a, color in zip(alphas, alpha_colors(len(alphas)))}
        teacher, scratch = cs[0]["teacher"], cs[0]["scratch"]
        plot = BandPlot(taus, series, references={f"teacher {facts.fmt_pct(teacher)}": (teacher, T.TEACHER),
                                                  f"scratch {facts.fmt_pct(scratch)}": (scratch, T.SCRATCH)},
                        x_label="temperature τ", y_label="distilled test accuracy (%)", width=8.0, height=3.6)
        seed_said, seed_lines, verdict = self._seed_story(f, n_seeds, len(cs) > 1)
        notes = VGroup(*[T.text(s, size=T.LABEL, color=c) for s, c in seed_lines]).arrange(DOWN, buff=0.12,
                                                                                            aligned_edge=LEFT)
        layout.fit_in(VGroup(plot, notes).arrange(DOWN, buff=0.3), self.regions.body)
        band = "the band spans the seeds, from the worst to the best" if n_seeds > 1 else "one seed per point"
        self.beat(
            f"Here is the distilled student's test accuracy against tau, one line per alpha; {band}. "
            f"The dashed lines are the teacher, at {say.percent(teacher, 1)} on average, and the student from "
            f"scratch, at {say.percent(scratch, 1)}.",
            FadeOut(*self.mobjects_except_header()), Create(plot),
        )
        self.beat(seed_said, FadeIn(notes[:-1] if verdict else notes))
        if verdict:
            self.beat(verdict, FadeIn(notes[-1]))
        self.finish()

    @staticmethod
    def _seed_story(f, n_seeds, several_settings):
        """(what is said about the seed, the lines on screen with their colours, the verdict or None)."""
        if n_seeds == 1:
            return ("With a single seed we cannot tell how much of this is luck.",
                    [("one seed: its effect is not measured", T.MUTED)], None)
        by_seed = f["best_tau_by_seed"]
        best_taus = sorted(set(by_seed.values()))
        said = (f"And the seed? For the same setting, the accuracy moves by up to "
                f"{say.points(f['seed_spread_max'])} from one seed to another, "
                f"{say.points(f['seed_spread_mean'])} on average, while the settings' means lie within "
                f"{say.points(f['setting_range'])} of each other. ")
        if len(best_taus) == 1:
            said += f"Every seed's best run has tau {say.number(best_taus[0])}."
        else:
            counts = {t: sum(1 for v in by_seed.values() if v == t) for t in best_taus}
            said += ("The best tau changes from seed to seed: "
                     + ", ".join(f"tau {say.number(t)} for {say.small(n)} seed{'s' if n != 1 else ''}"
                                 for t, n in counts.items()) + ".")
        lines = [(f"the seed moves a setting by up to {100 * f['seed_spread_max']:.1f} points "
                  f"(mean {100 * f['seed_spread_mean']:.1f})", T.TEXT),
                 (f"the settings' means span {100 * f['setting_range']:.1f} points", T.TEXT),
                 ("best τ for each seed: " + ", ".join(f"{t:g}" for t in by_seed.values()), T.SOFT)]
        if not several_settings:
            return said, lines, None
        best = f["best"]
        if f["setting_range"] > f["seed_spread_mean"]:
            verdict = (f"So in these runs the choice matters more than the seed: {_said(best)} "
                       f"is the setting to start from, for this task and this student.")
            lines.append((f"start from {_setting(best)}", T.DISTILLED))
        else:
            verdict = ("So in these runs the seed moves the result about as much as the choice does: "
                       "no setting is clearly best, and a single run would not tell you which.")
            lines.append(("no setting is clearly best here", T.TEXT))
        return said, lines, verdict

    def mobjects_except_header(self):
        return [m for m in self.mobjects if m is not self.header]
