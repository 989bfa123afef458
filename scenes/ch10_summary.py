"""Chapter 10: what this run showed, in its own numbers, and how to reproduce it."""

from manim import DOWN, LEFT, RIGHT, FadeIn, LaggedStart, Text, VGroup

from kdanim.lesson import Chapter
from kdanim.sim.config import cli_args
from kdanim.viz import layout, theme as T


class Summary(Chapter):
    number = 10
    key = "summary"
    reads = ("config",)  # the reproduce command; its words (with the trace's hash) are keyed by the script

    def body(self):
        colors = (T.TEACHER, T.SCRATCH, T.DISTILLED, T.TEXT)
        points = VGroup(*[T.text(line, size=T.BODY, color=c) for line, c in
                          zip(self.words("points").split("\n"), colors)]).arrange(DOWN, buff=0.4, aligned_edge=LEFT)
        points.move_to(self.regions.stage.center)  # no footer: the stage's full height
        self.beat("sum_up", LaggedStart(*[FadeIn(p) for p in points], lag_ratio=0.6))
        lang = self.ctx.words.language  # the lesson's language is not in the trace: say it when not English
        cmd = command_lines(["kdanim", "render", *cli_args(self.config_), *(["--lang", lang] if lang != "en" else [])])
        lines = [Text(line.strip(), font=T.MONO_FONT, font_size=T.LABEL, color=T.TEXT) for line in cmd]
        repro = VGroup(
            self.text("reproduce_label", size=T.LABEL, color=T.MUTED),
            *lines,
            Text(self.words("hash"), font=T.MONO_FONT, font_size=T.SMALL, color=T.MUTED),
        ).arrange(DOWN, buff=0.15, aligned_edge=LEFT)
        for line in lines[1:]:  # continuation lines, indented by two characters of the monospace font
            line.shift(RIGHT * 2 * lines[0].width / len(cmd[0].strip()))
        layout.fit_in(VGroup(points, repro).arrange(DOWN, buff=0.9, aligned_edge=LEFT), self.regions.stage)
        self.beat("reproduce", FadeIn(repro))


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
