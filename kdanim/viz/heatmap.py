"""A heatmap of a grid of values with the value written in every cell, and a band plot of means with ranges."""

from __future__ import annotations

import math

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, DashedLine, ManimColor, Polygon, Rectangle, VGroup, VMobject, interpolate_color

from . import theme as T
from .curves import format_tick, nice_step, text_axes

__all__ = ["Heatmap", "BandPlot"]


class Heatmap(VGroup):
    """Coloured cells for a rows × columns grid of numbers, each with its value as text.

    Parameters
    ----------
    values
        ``values[i][j]`` for row ``i`` and column ``j`` (finite numbers).
    row_labels, col_labels
        Text beside each row and under each column.
    fmt
        Turns a value into its cell's text (default: 3 significant figures).
    low, high
        Colours of the smallest and largest values (linear in between).
    row_title, col_title
        Axis names, e.g. "α" and "τ".

    Examples
    --------
    >>> h = Heatmap([[0.1, 0.5], [0.7, 0.9]], ["a", "b"], ["x", "y"], fmt=lambda v: f"{v:.0%}")
    >>> [t.original_text for t in h.value_labels]
    ['10%', '50%', '70%', '90%']
    >>> bool(h.outline(1, 1).get_center()[1] < h.outline(0, 1).get_center()[1])
    True
    """

    def __init__(self, values, row_labels, col_labels, *, fmt=lambda v: f"{v:.3g}", low=None,
                 high=None, row_title: str = "", col_title: str = "", cell_width: float = 1.4,
                 cell_height: float = 0.75, size: float = T.LABEL, **kwargs):
        super().__init__(**kwargs)
        v = np.asarray(values, dtype=float)
        if v.ndim != 2 or v.size == 0 or not np.all(np.isfinite(v)):
            raise ValueError(f"values: expected a non-empty 2-D grid of finite numbers, got shape {v.shape}")
        if v.shape != (len(row_labels), len(col_labels)):
            raise ValueError(f"values has shape {v.shape} but there are {len(row_labels)} row and "
                             f"{len(col_labels)} column labels")
        # colours are read from the theme at draw time (low: the lifted panel shade, high: the distilled student's)
        self.fmt, self.size = fmt, size
        self.low, self.high = ManimColor(low or T.PANEL), ManimColor(high or T.DISTILLED)
        self.cells = self._grid(*v.shape, cell_width, cell_height)
        self.plot_area = self.cells
        self.value_labels = VGroup()
        self._axis_labels(row_labels, col_labels, row_title, col_title)
        self.set_values(v)

    @staticmethod
    def _grid(rows: int, cols: int, width: float, height: float) -> VGroup:
        cells = VGroup()
        for i in range(rows):
            for j in range(cols):
                r = Rectangle(width=width, height=height, stroke_color=T.BACKGROUND, stroke_width=3, fill_opacity=1.0)
                cells.add(r.move_to([j * width, -i * height, 0]))
        return cells

    def _axis_labels(self, row_labels, col_labels, row_title: str, col_title: str) -> None:
        """Row labels on the left, column labels below, and the axis titles beyond them."""
        size, cols = self.size, len(col_labels)
        self.row_labels = VGroup(*[T.text(s, size=size, color=T.TEXT) for s in row_labels])
        for i, lab in enumerate(self.row_labels):
            lab.next_to(self.cells[i * cols], LEFT, buff=0.2)
        self.col_labels = VGroup(*[T.text(s, size=size, color=T.TEXT) for s in col_labels])
        for j, lab in enumerate(self.col_labels):
            lab.next_to(self.cells[(len(row_labels) - 1) * cols + j], DOWN, buff=0.15)
        self.add(self.cells, self.value_labels, self.row_labels, self.col_labels)
        self.row_title = T.text(row_title, size=size, color=T.SOFT) if row_title else VGroup()
        if row_title:
            self.add(self.row_title.next_to(self.row_labels, LEFT, buff=0.3))
        self.col_title = T.text(col_title, size=size, color=T.SOFT) if col_title else VGroup()
        if col_title:
            self.add(self.col_title.next_to(self.col_labels, DOWN, buff=0.15))

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape

    def cell(self, i: int, j: int) -> Rectangle:
        return self.cells[i * self.shape[1] + j]

    def color_of(self, x: float):
        lo, hi = float(self.values.min()), float(self.values.max())
        t = 0.5 if hi - lo < 1e-12 else (x - lo) / (hi - lo)
        return interpolate_color(self.low, self.high, float(np.clip(t, 0, 1)))

    def set_values(self, values):
        """Recolour the cells and rewrite their values; returns self."""
        v = np.asarray(values, dtype=float)
        if v.shape != (len(self.row_labels), len(self.col_labels)):
            raise ValueError(f"values: expected shape {(len(self.row_labels), len(self.col_labels))}, got {v.shape}")
        self.values = v
        labels = VGroup()
        for k, (cell, x) in enumerate(zip(self.cells, v.ravel())):
            color = self.color_of(x)
            ink = _most_distinct(color, (T.TEXT, T.BACKGROUND))
            color = _readable_under(color, ink)
            cell.set_fill(color, opacity=1.0)
            lab = T.text(self.fmt(x), size=self.size, color=ink)
            lab.scale_to_fit_width(min(lab.width, cell.width * 0.85)).move_to(cell)
            lab.background = color  # what it is read against (the layout check's contrast)
            labels.add(lab)
        self.value_labels.become(labels)
        self.value_labels.submobjects = list(labels.submobjects)
        return self

    def outline(self, i: int, j: int, color=None) -> Rectangle:
        """A frame around cell (i, j) (not added to the heatmap: add it in the scene)."""
        cell = self.cell(i, j)
        return Rectangle(width=cell.width, height=cell.height, stroke_color=color or T.TEXT, stroke_width=6,
                         fill_opacity=0).move_to(cell)


class BandPlot(VGroup):
    """Lines of means over numeric x values, each with a shaded min–max band, and horizontal reference lines.

    Parameters
    ----------
    x
        The x values (sorted, distinct), shared by every series.
    series
        ``{name: (means, lows, highs, colour)}``, each a list as long as ``x``.
    references
        ``{name: (value, colour)}``: dashed horizontal lines, labelled at the right end.
    end_labels
        Label each series at the right end, after its marker (instead of a legend above the plot).
        Each series has its own marker (theme.MARKERS) at its means, so that series of one colour's
        shades, or colours a colour-blind viewer confuses, are still told apart.
    percent
        Values are fractions, shown as percentages on the y axis.

    Examples
    --------
    >>> p = BandPlot([1, 3, 8], {"α = 0.5": ([0.8, 0.9, 0.85], [0.7, 0.85, 0.8], [0.9, 0.95, 0.9], T.DISTILLED)},
    ...              references={"teacher": (0.95, T.TEACHER)})
    >>> len(p.lines), len(p.bands), len(p.reference_lines)
    (1, 1, 1)
    """

    def __init__(self, x, series, *, references=None, x_label: str = "", y_label: str = "", percent: bool = True,
                 width: float = 7.0, height: float = 3.6, end_labels: bool = True, **kwargs):
        super().__init__(**kwargs)
        xs = [float(a) for a in x]
        if not xs or sorted(set(xs)) != xs:
            raise ValueError("x: expected sorted, distinct values")
        references = references or {}
        scale = 100.0 if percent else 1.0
        data = [scale * float(v) for m, lo, hi, _ in series.values() for v in (*m, *lo, *hi)]
        data += [scale * float(v) for v, _ in references.values()]
        if not data or not all(math.isfinite(d) for d in data):
            raise ValueError("series: need finite values")
        for name, (m, lo, hi, _) in series.items():
            if not len(m) == len(lo) == len(hi) == len(xs):
                raise ValueError(f"series {name!r}: expected {len(xs)} means, lows and highs")
        span = max(max(data) - min(data), 1e-6)
        step = nice_step(span, 4)
        y_lo = math.floor(min(data) / step - 0.25) * step
        y_hi = math.ceil(max(data) / step + 0.25) * step
        if percent:
            y_lo, y_hi = max(0.0, y_lo), min(100.0, y_hi) if max(data) <= 100 else y_hi
        x_lo, x_hi = (xs[0] - 0.5, xs[0] + 0.5) if len(xs) == 1 else (xs[0], xs[-1])
        pad = 0.06 * (x_hi - x_lo)
        x_lo, x_hi = x_lo - pad, x_hi + pad
        y_ticks = [(t, format_tick(t, step)) for t in np.arange(y_lo, y_hi + step * 1e-6, step)]
        self.axes, self.tick_labels, self.grid = text_axes((x_lo, x_hi), (y_lo, y_hi), width, height,
                                                           _spaced_ticks(xs, x_lo, x_hi, width), y_ticks)
        self.plot_area = self.axes
        c2p = self.axes.c2p
        self.bands, self.lines = VGroup(), VGroup()
        for name, (m, lo, hi, color) in series.items():
            top = [c2p(a, scale * float(h)) for a, h in zip(xs, hi)]
            bottom = [c2p(a, scale * float(l)) for a, l in zip(xs, lo)]
            band = Polygon(*top, *reversed(bottom), stroke_width=0, fill_color=color, fill_opacity=0.18)
            if len(xs) == 1:  # a single x: a short bar
                band = Rectangle(width=0.25, height=max(top[0][1] - bottom[0][1], 0.02), stroke_width=0,
                                 fill_color=color, fill_opacity=0.3).move_to((top[0] + bottom[0]) / 2)
            line = VMobject(stroke_color=color, stroke_width=4)
            pts = [c2p(a, scale * float(v)) for a, v in zip(xs, m)]
            line.set_points_as_corners(np.array(pts if len(pts) > 1 else pts * 2))
            self.bands.add(band)
            self.lines.add(line)
        self.markers, self.end_labels, self.series_styles = VGroup(), VGroup(), []
        for i, (name, (m, _, _, color)) in enumerate(series.items()):
            shape = T.MARKERS[i % len(T.MARKERS)]
            self.series_styles.append((name, color, shape))  # the layout check reads them (theme.MIN_SERIES_DELTA_E)
            self.markers.add(*[T.marker(shape, color, 0.08).move_to(c2p(a, scale * float(v))) for a, v in zip(xs, m)])
            if end_labels:
                label = VGroup(T.marker(shape, color, 0.07), T.text(name, size=T.SMALL, color=color)).arrange(RIGHT, buff=0.1)
                label.next_to(c2p(x_hi, scale * float(m[-1])), RIGHT, buff=0.12)
                self.end_labels.add(label)
        self.reference_lines, self.reference_labels = VGroup(), VGroup()
        for name, (value, color) in references.items():
            y = scale * float(value)
            ln = DashedLine(c2p(x_lo, y), c2p(x_hi, y), stroke_color=color, stroke_width=2.5, dash_length=0.12)
            self.reference_lines.add(ln)
            lab = T.text(name, size=T.SMALL, color=color)
            lab.next_to(ln.get_end(), RIGHT, buff=0.12)
            self.reference_labels.add(lab)
        _spread([*self.reference_labels, *self.end_labels], gap=0.05)
        self.add(self.grid, self.axes, self.tick_labels, self.bands, self.reference_lines, self.lines, self.markers,
                 self.reference_labels, self.end_labels)
        self.x_label = T.text(x_label, size=T.SMALL, color=T.MUTED) if x_label else VGroup()
        if x_label:
            self.x_label.next_to(self.tick_labels, DOWN, buff=0.1).align_to(self.plot_area, RIGHT)
            self.add(self.x_label)
        self.y_label = T.text(y_label, size=T.LABEL) if y_label else VGroup()
        if y_label:
            self.y_label.next_to(self.plot_area, UP, buff=0.2).align_to(self.tick_labels, LEFT)
            self.add(self.y_label)
        self.legend = VGroup()
        if not end_labels:  # the key above the plot instead
            self.legend = T.legend([(n, c) for n, (*_, c) in series.items()], kind="line", size=T.SMALL, gap=0.35)
            self.legend.next_to(self.plot_area, UP, buff=0.2).align_to(self.plot_area, RIGHT)
            if y_label and self.legend.get_left()[0] < self.y_label.get_right()[0] + 0.3:
                self.legend.next_to(self.y_label, UP, buff=0.15).align_to(self.plot_area, RIGHT)
            self.add(self.legend)


def _spaced_ticks(xs, x_lo, x_hi, width, char: float = 0.13, gap: float = 0.2):
    """``(x, label)`` ticks at the data's x values, leaving out any that would touch the previous label."""
    ticks, last = [], -math.inf
    for a in xs:
        s = f"{a:g}"
        pos = (a - x_lo) / (x_hi - x_lo) * width
        half = len(s) * char / 2
        if pos - half >= last + gap or not ticks:
            ticks.append((a, s))
            last = pos + half
    return ticks


def _spread(labels, gap: float) -> None:
    """Move labels stacked at the same height apart vertically, keeping their order."""
    order = sorted(labels, key=lambda m: m.get_y())
    for a, b in zip(order, order[1:]):
        need = a.get_top()[1] + gap - b.get_bottom()[1]
        if need > 0:
            b.shift(UP * need)


def _readable_under(color, ink, need: float = 4.5):
    """``color`` moved just far enough away from ``ink`` (toward the theme's other extreme) that ``ink`` reads
    on it at WCAG's ``need``: mid-ramp cells, where neither the text colour nor the background reaches it."""
    away = ManimColor(T.BACKGROUND if ManimColor(ink) == ManimColor(T.TEXT) else T.TEXT)
    for t in np.linspace(0.0, 1.0, 41):
        c = interpolate_color(ManimColor(color), away, float(t))
        if T.contrast_ratio(ink, c) >= need:
            return c
    return away


def _most_distinct(color, candidates):
    """The candidate colour of the highest WCAG contrast on ``color``: a cell label that reads."""
    return max(candidates, key=lambda c: T.contrast_ratio(c, color))
