"""A results table drawn with Text and rules, with a colour swatch per row."""

from __future__ import annotations

import numpy as np
from manim import LEFT, RIGHT, UP, Circle, Line, Rectangle, VGroup

from . import theme as T

__all__ = ["ResultsTable", "format_cell"]


def format_cell(value) -> str:
    """Text for one cell: strings as given, ints with thousands separators, floats to 3 figures.

    >>> format_cell(120448), format_cell(0.8734), format_cell("3 × 228")
    ('120,448', '0.873', '3 × 228')
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return T.numeral(f"{int(value):,}")
    if isinstance(value, (float, np.floating)):
        return T.numeral(f"{float(value):.3g}")
    return str(value)


class ResultsTable(VGroup):
    """Rows of results under a header, booktabs style (rules above, below the header, below).

    Parameters
    ----------
    rows
        One dict per row; values are strings (shown as is) or numbers (see :func:`format_cell`).
        Format numbers in the scene when units matter (``"87.3 %"``, ``"12 µs"``).
    columns
        ``[(key, header), ...]``; the first column is left-aligned, the others right-aligned.
    row_colors
        One colour per row for a swatch in front of it (e.g. teacher / scratch / distilled).

    Examples
    --------
    >>> t = ResultsTable([{"m": "teacher", "p": 120448}, {"m": "student", "p": 8000}],
    ...                  [("m", "model"), ("p", "params")], row_colors=[T.TEACHER, T.DISTILLED])
    >>> t.cells[0][1].original_text
    '120,448'
    >>> _ = t.highlight_row(1)
    """

    def __init__(
        self,
        rows: list,
        columns: list,
        *,
        row_colors=None,
        size: float = T.LABEL,
        header_size: float | None = None,
        col_gap: float = 0.55,
        row_height: float | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not columns:
            raise ValueError("columns must not be empty")
        for r, row in enumerate(rows):
            missing = [k for k, _ in columns if k not in row]
            if missing:
                raise ValueError(f"rows[{r}]: missing key(s) {missing}")
        if row_colors is not None and len(row_colors) != len(rows):
            raise ValueError(f"row_colors: expected {len(rows)}, got {len(row_colors)}")
        self.columns = list(columns)
        self.row_colors = list(row_colors) if row_colors is not None else None
        header_size = header_size or size
        # each line shares one baseline, whatever its ascenders and descenders
        self.header = VGroup(*T.text_row([h for _, h in columns], size=header_size, color=T.MUTED))
        self.cells = [T.text_row([format_cell(row[k]) for k, _ in columns], size=size) for row in rows]
        self.row_height = row_height or T.text("Hg", size=size).height * 1.9
        self._layout(col_gap)
        self.add(self.backgrounds, self.rules, self.swatches, self.header,
                 *[VGroup(*r) for r in self.cells])
        self.center()
        self.highlighted = None

    def _layout(self, col_gap):
        n_cols = len(self.columns)
        widths = [max([self.header[c].width] + [row[c].width for row in self.cells]) for c in range(n_cols)]
        swatch_w = 0.35 if self.row_colors else 0.0
        xs, x = [], swatch_w
        for w in widths:
            xs.append(x)
            x += w + col_gap
        total = x - col_gap
        rh = self.row_height
        for r, line in enumerate([self.header] + self.cells):
            y = -r * rh - (0.12 if r > 0 else 0.0)  # a little air under the header rule
            for c, cell in enumerate(line):  # text_row put the line's centre at y = 0
                if c == 0:
                    cell.set_x(xs[c], direction=LEFT)
                else:
                    cell.set_x(xs[c] + widths[c], direction=RIGHT)
                cell.shift(UP * y)
        top = rh * 0.55
        under_header = -rh * 0.5
        bottom = -(len(self.cells)) * rh - 0.12 - rh * 0.55
        left, right = -0.1, total + 0.1
        self.rules = VGroup(*[
            Line([left, y, 0], [right, y, 0], stroke_color=T.MUTED, stroke_width=w)
            for y, w in ((top, 2.5), (under_header, 1.5), (bottom, 2.5))
        ])
        self.swatches = VGroup()
        self.backgrounds = VGroup()
        for r, row in enumerate(self.cells):
            y = -(r + 1) * self.row_height - 0.12
            if self.row_colors:
                self.swatches.add(Circle(radius=0.1, stroke_width=0, fill_color=self.row_colors[r],
                                         fill_opacity=1.0).move_to([0.12, y, 0]))
            color = self.row_colors[r] if self.row_colors else T.TEXT
            self.backgrounds.add(Rectangle(width=right - left, height=rh * 0.96, stroke_width=0,
                                           fill_color=color, fill_opacity=0.0).move_to([(left + right) / 2, y, 0]))

    def highlight_row(self, i: int | None, opacity: float = 0.18):
        """Tint row ``i`` with its colour (None clears); returns self."""
        if i is not None and not 0 <= i < len(self.cells):
            raise ValueError(f"row {i} out of range 0..{len(self.cells) - 1}")
        for r, bg in enumerate(self.backgrounds):
            bg.set_fill(opacity=opacity if r == i else 0.0)
        self.highlighted = i
        return self
