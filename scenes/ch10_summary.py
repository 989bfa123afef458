"""Chapter 10: what this run showed, in its own numbers, and how to reproduce it."""

from manim import DOWN, LEFT, RIGHT, FadeIn, LaggedStart, Text, VGroup

from kdanim import facts
from kdanim.lesson import Chapter
from kdanim.narration import speech as say
from kdanim.sim.config import cli_args
from kdanim.trace import content_hash
from kdanim.viz import layout, theme as T


class Summary(Chapter):
    number = 10
    title = "Summary"
    reads = ("*",)  # it shows the hash of the whole trace

    def body(self):
        s, cfg = self.summary, self.config_
        t, sc, d = s["teacher"], s["scratch"], s["distilled"]
        rec = facts.gap_recovered(self.summary)
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
        cmd = command_lines(["kdanim", "render", *cli_args(cfg)])
        lines = [Text(line.strip(), font=T.MONO_FONT, font_size=T.LABEL, color=T.TEXT) for line in cmd]
        repro = VGroup(
            T.text("reproduce:", size=T.LABEL, color=T.MUTED),
            *lines,
            Text(f"trace sha256 {content_hash(self.trace)[:16]}…", font=T.MONO_FONT, font_size=T.SMALL, color=T.MUTED),
        ).arrange(DOWN, buff=0.15, aligned_edge=LEFT)
        for line in lines[1:]:  # continuation lines, indented by two characters of the monospace font
            line.shift(RIGHT * 2 * lines[0].width / len(cmd[0].strip()))
        layout.fit_in(VGroup(points, repro).arrange(DOWN, buff=0.6, aligned_edge=LEFT), self.regions.body)
        self.beat(
            f"Every number in this video came from one simulation, seed {cfg['seed']}. "
            f"The command on screen runs it again: everything but the measured latency comes out the same, "
            f"and the trace's hash checks it.",
            FadeIn(repro),
        )


def command_lines(words: list[str], width: int = 52) -> list[str]:
    """A shell command broken before an option so no line passes ``width`` characters (`\\` continues it)."""
    parts, i = [], 0
    while i < len(words):  # keep each option with its value
        take = 2 if words[i].startswith("--") and i + 1 < len(words) and not words[i + 1].startswith("--") else 1
        parts.append(" ".join(words[i:i + take]))
        i += take
    lines = [parts[0]]
    for part in parts[1:]:
        if len(lines[-1]) + 1 + len(part) + 2 > width:
            lines[-1] += " \\"
            lines.append("  " + part)
        else:
            lines[-1] += " " + part
    return lines
