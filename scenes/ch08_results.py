"""Chapter 8: compression results — the table and accuracy against parameter count."""

from manim import Create, FadeIn, FadeOut, Indicate

from kdanim.lesson import Chapter
from kdanim.viz import AccuracyParamsPlot, ResultsTable, layout, theme as T

MODELS = ("teacher", "scratch", "distilled")
COLUMNS = ("model", "params", "layers", "accuracy", "agreement", "latency")


class CompressionResults(Chapter):
    number = 8
    key = "results"
    reads = ("summary",)

    def body(self):
        s = self.summary
        colors = {"teacher": T.TEACHER, "scratch": T.SCRATCH, "distilled": T.DISTILLED}
        rows = [{
            "model": self.words(f"{m}_row"),
            "params": self.written("thousands", s[m]["params"]),
            "layers": str(s[m]["layers"]),
            "accuracy": self.written("pct", s[m]["test_accuracy"]),
            "agreement": self.written("pct", s[m]["agreement"]),
            "latency": f"{self.written('num', s[m]['latency_us'], 2)} µs",
        } for m in MODELS]
        table = ResultsTable(rows, [(c, self.words(c)) for c in COLUMNS],
                             row_colors=[colors[m] for m in MODELS], size=T.BODY, header_size=T.LABEL)
        layout.fit_in(table, self.regions.body)
        self.beat("table", FadeIn(table))
        self.beat("gain", table.animate.highlight_row(2))
        self.beat("why")
        self.beat("size", Indicate(table.cells[2][1], color=T.DISTILLED), Indicate(table.cells[2][5], color=T.DISTILLED))
        pts = [(self.words(f"{m}_point"), s[m]["params"], s[m]["test_accuracy"], colors[m]) for m in MODELS]
        plot = AccuracyParamsPlot(pts, width=9.0, height=4.2, x_label=self.words("x"), y_label=self.words("y"))
        layout.fit_in(plot, self.regions.body)
        self.beat("plot", FadeOut(table), Create(plot))
        self.finish()
