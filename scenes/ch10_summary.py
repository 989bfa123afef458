"""Chapter 10: what this run showed, in its own numbers, and how to reproduce it."""

from manim import DOWN, LEFT, FadeIn, LaggedStart, Text, VGroup

from kdanim import facts
from kdanim.chapter import Chapter
from kdanim.narration import speech as say
from kdanim.trace import content_hash
from kdanim.viz import layout, theme as T


class Summary(Chapter):
    number = 10
    title = "Summary"
    reads = ("*",)  # it shows the hash of the whole trace

    def body(self):
        s, cfg = self.summary, self.config_
        t, sc, d = s["teacher"], s["scratch"], s["distilled"]
        rec = facts.gap_recovered(self.trace)
        gain = d["test_accuracy"] - sc["test_accuracy"]
        points = VGroup(
            T.text(f"Teacher: {facts.fmt_pct(t['test_accuracy'])} with {facts.fmt_int(t['params'])} params",
                   size=T.BODY, color=T.TEACHER),
            T.text(f"Student from scratch: {facts.fmt_pct(sc['test_accuracy'])}", size=T.BODY, color=T.SCRATCH),
            T.text(f"Distilled student: {facts.fmt_pct(d['test_accuracy'])}  ({100 * gain:+.1f} points)",
                   size=T.BODY, color=T.DISTILLED),
            T.text(f"{facts.fmt_pct(rec, 0)} of the gap closed with {t['params'] / d['params']:.0f}× fewer params",
                   size=T.BODY, color=T.TEXT),
        ).arrange(DOWN, buff=0.3, aligned_edge=LEFT)
        points.move_to(self.regions.body.center)
        self.beat(
            f"To sum up. The teacher reached {say.percent(t['test_accuracy'])}. The same small student "
            f"reached {say.percent(sc['test_accuracy'])} on its own and {say.percent(d['test_accuracy'])} "
            f"with the teacher's soft labels, closing {say.percent(rec) + ' of' if rec < 1 else 'all of'} the gap with "
            f"{say.ratio(t['params'] / d['params'])} fewer parameters.",
            LaggedStart(*[FadeIn(p) for p in points], lag_ratio=0.6),
        )
        cmd = (f"kdanim render --tau {facts.fmt_num(cfg['tau'])} --alpha {facts.fmt_num(cfg['alpha'])}"
               f" --epochs {cfg['epochs']} --seed {cfg['seed']}")
        repro = VGroup(
            T.text("reproduce:", size=T.LABEL, color=T.MUTED),
            Text(cmd, font=T.MONO_FONT, font_size=T.LABEL, color=T.TEXT),
            Text(f"trace sha256 {content_hash(self.trace)[:16]}…", font=T.MONO_FONT, font_size=T.SMALL, color=T.MUTED),
        ).arrange(DOWN, buff=0.15, aligned_edge=LEFT)
        layout.fit_in(VGroup(points, repro).arrange(DOWN, buff=0.6, aligned_edge=LEFT), self.regions.body)
        self.beat(
            f"Every number in this video came from one simulation, seed {cfg['seed']}. "
            f"The command and the trace's hash on screen reproduce it exactly.",
            FadeIn(repro),
        )
