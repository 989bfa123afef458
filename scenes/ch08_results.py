"""Chapter 8: compression results — the table and accuracy against parameter count."""

from manim import Create, FadeIn, FadeOut, Indicate

from kdanim import facts
from kdanim.lesson import Chapter
from kdanim.narration import speech as say
from kdanim.viz import AccuracyParamsPlot, ResultsTable, layout, theme as T

MODELS = (("teacher", "Teacher"), ("scratch", "Student, from scratch"), ("distilled", "Student, distilled"))
SHORT = {"teacher": "teacher", "scratch": "scratch", "distilled": "distilled"}


class CompressionResults(Chapter):
    number = 8
    title = "Compression results"
    reads = ("summary",)

    def body(self):
        s = self.summary
        colors = {"teacher": T.TEACHER, "scratch": T.SCRATCH, "distilled": T.DISTILLED}
        rows = [{
            "model": SHORT[m],
            "params": facts.fmt_int(s[m]["params"]),
            "layers": str(s[m]["layers"]),
            "acc": facts.fmt_pct(s[m]["test_accuracy"]),
            "agree": facts.fmt_pct(s[m]["agreement"]),
            "latency": f"{s[m]['latency_us']:.2f} µs",
        } for m, label in MODELS]
        table = ResultsTable(rows, [("model", "model"), ("params", "params"), ("layers", "layers"),
                                    ("acc", "accuracy"), ("agree", "agreement"),
                                    ("latency", "time / input")],
                             row_colors=[colors[m] for m, _ in MODELS], size=T.BODY, header_size=T.LABEL)
        layout.fit_in(table, self.regions.body)
        t, sc, d = s["teacher"], s["scratch"], s["distilled"]
        gain = d["test_accuracy"] - sc["test_accuracy"]
        self.beat(
            f"Here is what the run measured. The teacher: {say.count(t['params'])} parameters, "
            f"{say.percent(t['test_accuracy'], 1)} test accuracy. The student trained from scratch: "
            f"{say.percent(sc['test_accuracy'], 1)}.",
            FadeIn(table),
        )
        self.beat(
            f"The distilled student, the very same network, "
            f"reaches {say.percent(d['test_accuracy'], 1)}: {say.points(gain)} "
            f"{'above' if gain >= 0 else 'below'} the student from scratch.",
            table.animate.highlight_row(2),
        )
        smaller = f"And it is small: {say.ratio(t['params'] / d['params'])} fewer parameters than the teacher"
        if d["latency_us"] > 0 and t["latency_us"] > 0:
            smaller += (f", and {say.ratio(t['latency_us'] / d['latency_us'])} faster per example on this machine, "
                        f"{say.micros(d['latency_us'])} against {say.micros(t['latency_us'])}.")
        else:
            smaller += "."
        self.beat(smaller, Indicate(table.cells[2][1], color=T.DISTILLED),
                  Indicate(table.cells[2][5], color=T.DISTILLED))

        pts = [(label, s[m]["params"], s[m]["test_accuracy"], colors[m]) for m, label in MODELS]
        plot = AccuracyParamsPlot(pts, width=9.0, height=4.2)
        layout.fit_in(plot, self.regions.body)
        rec = facts.gap_recovered(self.summary)
        self.beat(
            f"Against model size, the picture is clear: distillation closes "
            + (f"{say.percent(rec)} of the gap between the student from scratch and the teacher"
               if rec < 1 else "the whole gap between the student from scratch and the teacher, and ends "
               f"{say.points_vs(d['test_accuracy'] - t['test_accuracy'], level='level with')} the teacher")
            + ", without adding a single parameter.",
            FadeOut(table),
            Create(plot),
        )
        self.finish()
