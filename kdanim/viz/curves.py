"""Curves revealed epoch by epoch on Text-labelled axes, and an "Epoch k / N" counter."""

from __future__ import annotations

import math

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Axes, Dot, Line, VGroup, VMobject

from . import theme as T

__all__ = ["CurvePlot", "EpochCounter", "nice_step", "nice_ceil", "format_tick"]


def nice_step(span: float, target: int = 5) -> float:
    """A step of 1, 2 or 5 × 10ⁿ that cuts ``span`` into about ``target`` intervals (the closest count;
    a tie takes the larger step). Its multiples print exactly (no 2.5 that prints as "8" at 7.5).

    >>> nice_step(10), nice_step(2.3), nice_step(0.7), nice_step(10, 4)
    (2.0, 0.5, 0.2, 2.0)
    """
    if not span > 0:
        return 1.0
    mag = 10.0 ** math.floor(math.log10(span / target))
    steps = [m * mag * 10.0 ** k for k in (-1, 0, 1) for m in (1, 2, 5)]
    return float(min(steps, key=lambda st: (abs(span / st - target), -st)))


def nice_ceil(x: float, target: int = 5) -> float:
    """``x`` rounded up to a multiple of its nice step (a good axis maximum).

    >>> nice_ceil(2.31), nice_ceil(0.87), nice_ceil(30)
    (2.5, 1.0, 30.0)
    """
    if not x > 0:
        return 1.0
    step = nice_step(x, target)
    return float(round(math.ceil(x / step - 1e-9) * step, 10))


def format_tick(v: float, step: float) -> str:
    """A tick label with as many decimals as ``step`` needs to print every multiple exactly.

    >>> format_tick(7.5, 2.5), format_tick(0.3, 0.1), format_tick(40, 20)
    ('7.5', '0.3', '40')
    """
    decimals = next((d for d in range(7) if abs(round(step, d) - step) <= 1e-9 * max(1.0, abs(step))), 6)
    return f"{v:.{decimals}f}"


def text_axes(x_range, y_range, width, height, x_ticks, y_ticks, *, grid=True, tick_size=T.SMALL,
              x_log=False, y_log=False):
    """Axes without MathTex: plain lines plus Text tick labels at ``(value, label)`` pairs.

    ``x_log``/``y_log``: that axis is log10 (a tick at coordinate e stands for 10**e).
    Returns ``(axes, tick_labels, grid_lines)``. Labels are numbers, written in the lesson's numerals
    (:func:`theme.numeral`: "0,1" in German).
    """
    axes = Axes(
        x_range=[x_range[0], x_range[1], x_range[1] - x_range[0]],
        y_range=[y_range[0], y_range[1], y_range[1] - y_range[0]],
        x_length=width, y_length=height, tips=False,
        axis_config={"include_numbers": False, "include_ticks": False,
                     "stroke_color": T.MUTED, "stroke_width": 2},
    )
    labels, lines = VGroup(), VGroup()
    labels.ticks, labels.numerals = [], T.numerals()  # (value, label): the layout check reads them back
    for v, s in x_ticks:
        p = axes.c2p(v, y_range[0])
        lab = T.text(T.numeral(s), size=tick_size, color=T.MUTED)
        lab.next_to(p, DOWN, buff=0.14)
        labels.add(lab)
        labels.ticks.append((10.0 ** v if x_log else float(v), lab))
        lines.add(Line(p, p + DOWN * 0.07, stroke_color=T.MUTED, stroke_width=2))
    for v, s in y_ticks:
        p = axes.c2p(x_range[0], v)
        lab = T.text(T.numeral(s), size=tick_size, color=T.MUTED)
        lab.next_to(p, LEFT, buff=0.14)
        labels.add(lab)
        labels.ticks.append((10.0 ** v if y_log else float(v), lab))
        lines.add(Line(p, p + LEFT * 0.07, stroke_color=T.MUTED, stroke_width=2))
        if grid and abs(v - y_range[0]) > 1e-9:
            lines.add(Line(p, axes.c2p(x_range[1], v), stroke_color=T.GRID, stroke_width=1.5))
    return axes, labels, lines


class CurvePlot(VGroup):
    """Line plots over epochs, revealed up to any (fractional) epoch.

    Parameters
    ----------
    x_max
        Last epoch on the x axis; ``values[i]`` of a series is plotted at epoch ``i + 1``.
    y_max
        Top of the y axis; None picks a rounded maximum from the data.
    series
        ``{name: (values, colour)}``.
    log_y
        Plot the values on a log10 axis (ticks at powers of ten).
    legend
        A legend row above the plot.
    revealed
        Epoch shown at construction (default: everything); see :meth:`reveal`.

    Examples
    --------
    >>> plot = CurvePlot(10, None, y_label="loss",
    ...                  series={"hard": ([1.5, 1.0, 0.8, 0.7, 0.6, 0.55, 0.5, 0.48, 0.46, 0.45], T.HARD)})
    >>> _ = plot.reveal(3.5)
    >>> plot.revealed_points["hard"]
    4
    """

    def __init__(
        self,
        x_max: int,
        y_max: float | None = None,
        *,
        x_label: str = "epoch",
        y_label: str = "",
        series: dict | None = None,
        width: float = 6.0,
        height: float = 3.2,
        legend: bool = True,
        log_y: bool = False,
        y_min: float | None = None,
        revealed: float | None = None,
        stroke_width: float = 4.0,
        show_heads: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(x_max) < 1:
            raise ValueError(f"x_max must be at least 1, got {x_max}")
        self.x_max = int(x_max)
        self.log_y = log_y
        self.series = {}
        for name, (values, color) in (series or {}).items():
            v = np.asarray(values, dtype=float)
            if v.ndim != 1 or len(v) < 1 or not np.all(np.isfinite(v)):
                raise ValueError(f"series {name!r}: need a non-empty list of finite numbers")
            if len(v) > self.x_max:
                raise ValueError(f"series {name!r}: {len(v)} values but x_max is {self.x_max}")
            self.series[name] = (v, color)
        self._build_axes(y_max, y_min, width, height)
        self.curves, self.heads = {}, {}
        self.curve_group, self.head_group = VGroup(), VGroup()
        # each series' head (and its legend swatch) has its own marker: colours a colour-blind viewer
        # confuses (the light theme's hard-loss red and KL green) are still told apart; the layout check reads them
        self.series_styles = [(name, color, T.MARKERS[i % len(T.MARKERS)])
                              for i, (name, (_, color)) in enumerate(self.series.items())]
        for (name, (v, color)), (_, _, shape) in zip(self.series.items(), self.series_styles):
            c = VMobject(stroke_color=color, stroke_width=stroke_width)
            h = T.marker(shape, color, 0.07)
            self.curves[name], self.heads[name] = c, h
            self.curve_group.add(c)
            self.head_group.add(h)
        self.show_heads = show_heads
        self._detached = None  # the curves taken out of the plot (detach_curves)
        self.add(self.grid, self.axes, self.tick_labels, self.curve_group, self.head_group)
        self._build_labels(x_label, y_label, legend)
        self.revealed_points: dict[str, int] = {}
        self._epoch_points = None  # (where the axes are, {series: its points at epochs 1..n})
        self.reveal(self.x_max if revealed is None else revealed)

    # ------------------------------------------------------------------ building
    def _y_transform(self, v):
        if self.log_y:
            return np.log10(np.maximum(v, 10.0 ** self.y_range[0]))
        return v

    def _build_axes(self, y_max, y_min, width, height):
        x_step = nice_step(self.x_max, 5)
        x_ticks = [(x, f"{x:g}") for x in np.arange(0, self.x_max + 1e-9, max(1.0, x_step)) if x > 0]
        data = np.concatenate([v for v, _ in self.series.values()]) if self.series else np.array([1.0])
        if self.log_y:
            pos = data[data > 0]
            lo = math.floor(math.log10(pos.min())) if len(pos) else -2
            hi = math.ceil(math.log10(y_max if y_max else (pos.max() if len(pos) else 1.0)))
            if y_min is not None:
                lo = math.floor(math.log10(y_min))
            hi = max(hi, lo + 1)
            self.y_range = (lo, hi)
            y_ticks = [(e, f"{10.0 ** e:g}") for e in range(lo, hi + 1)]
        else:
            top = float(y_max) if y_max is not None else nice_ceil(max(float(data.max()), 1e-9))
            bottom = float(y_min) if y_min is not None else min(0.0, float(data.min()))
            step = nice_step(top - bottom, 4)
            self.y_range = (bottom, top)
            ticks = np.arange(math.ceil(bottom / step - 1e-9) * step, top + step * 1e-6, step)
            y_ticks = [(t, format_tick(t, step)) for t in ticks]
        self.axes, self.tick_labels, self.grid = text_axes(
            (0, self.x_max), self.y_range, width, height, x_ticks, y_ticks, y_log=self.log_y)
        self.plot_area = self.axes  # the data area: no foreign text may cover it

    def _build_labels(self, x_label, y_label, legend):
        self.x_label = T.text(x_label, size=T.SMALL, color=T.MUTED) if x_label else VGroup()
        if x_label:
            below = self.tick_labels.get_bottom()[1]
            self.x_label.move_to([self.plot_area.get_right()[0], below - 0.08 - self.x_label.height / 2, 0],
                                 aligned_edge=RIGHT)
            self.add(self.x_label)
        top = self.plot_area.get_top()[1]
        row_y = top + 0.22
        self.y_label = VGroup()
        if y_label:
            self.y_label = T.text(y_label, size=T.LABEL, color=T.TEXT)
            self.y_label.move_to([self.tick_labels.get_left()[0], row_y + self.y_label.height / 2, 0],
                                 aligned_edge=LEFT)
            self.add(self.y_label)
        self.legend = VGroup()
        if legend and self.series:
            self.legend = T.legend([(n, c) for n, (_, c) in self.series.items()], kind="line", size=T.SMALL,
                                   gap=0.35)
            for entry, (_, color, shape) in zip(self.legend, self.series_styles):
                entry.add(T.marker(shape, color, 0.07).move_to(entry[0]))  # the head's marker on the swatch
            self._wrap_legend(self.plot_area.width + (self.plot_area.get_left()[0] - self.tick_labels.get_left()[0]))
            self.legend.move_to([self.plot_area.get_right()[0], row_y + self.legend.height / 2, 0],
                                aligned_edge=RIGHT)
            if y_label and self.legend.get_left()[0] < self.y_label.get_right()[0] + 0.3:
                # no room beside the y label: the legend gets its own row above it
                self.legend.next_to(self.y_label, UP, buff=0.15).align_to(self.plot_area, RIGHT)
            self.add(self.legend)

    def _wrap_legend(self, width: float, gap: float = 0.35) -> None:
        """A legend row wider than the plot (long names: "weicher Verlust (KL)") breaks into rows, each
        right-aligned, the first on top, so that it does not widen the plot (and shrink all of it)."""
        entries = list(self.legend)
        if self.legend.width <= width or len(entries) < 2:
            return
        rows, row = [], []
        for e in entries:
            if row and sum(x.width for x in row) + gap * len(row) + e.width > width:
                rows.append(row)
                row = []
            row.append(e)
        rows.append(row)
        pitch = 1.35 * max(e.height for e in entries)
        right, top = self.legend.get_right()[0], self.legend.get_top()[1]
        for r, row in enumerate(rows):
            x = right
            for e in reversed(row):
                e.shift([x - e.get_right()[0], top - r * pitch - e.get_top()[1], 0])
                x = e.get_left()[0] - gap

    # ------------------------------------------------------------------ data -> looks
    def point(self, epoch: float, name: str) -> np.ndarray:
        """Scene coordinates of series ``name`` at a (possibly fractional) ``epoch``."""
        return self.points_at([epoch], name)[0]

    def points_at(self, epochs, name: str) -> np.ndarray:
        """Scene coordinates (n, 3) of series ``name`` at each of ``epochs``: one call to the axes for all
        (a reveal redraws every curve every frame)."""
        v, _ = self.series[name]
        e = np.clip(np.asarray(epochs, dtype=float), 1, len(v))
        y = self._y_transform(np.interp(e, np.arange(1, len(v) + 1), v))
        return np.asarray(self.axes.c2p(np.column_stack([e, y]))).reshape(-1, 3)

    def reveal(self, k: float):
        """Draw every series from epoch 1 up to epoch ``k`` (fractional ``k`` interpolates); returns self."""
        self.k = float(k)
        where = np.concatenate([self.axes.x_axis.points, self.axes.y_axis.points]).tobytes()
        if self._epoch_points is None or self._epoch_points[0] != where:
            # each series at every whole epoch, the same every frame while the plot stays where it is
            self._epoch_points = (where, {name: self.points_at(range(1, len(v) + 1), name)
                                          for name, (v, _) in self.series.items()})
        ends = {}  # series -> its point at fractional epoch k, all series in one call to the axes
        for name, (v, _) in self.series.items():
            kk = min(self.k, len(v))
            whole = int(math.floor(kk + 1e-9))
            if kk - whole > 1e-6 and whole >= 1:
                ends[name] = (kk, self._y_transform(np.interp(kk, np.arange(1, len(v) + 1), v)))
        if ends:
            at = np.asarray(self.axes.c2p(np.array(list(ends.values()), dtype=float))).reshape(-1, 3)
            ends = dict(zip(ends, at))
        for name, (v, _) in self.series.items():
            kk = min(self.k, len(v))
            whole = int(math.floor(kk + 1e-9))
            pts = self._epoch_points[1][name][:max(whole, 1)]
            if name in ends:
                pts = np.vstack([pts, ends[name]])
            shown = self.revealed_points[name] = max(whole, 0) + (name in ends)
            curve, head = self.curves[name], self.heads[name]
            if len(pts) == 1:
                pts = np.repeat(pts, 2, axis=0)
            curve.set_points_as_corners(pts)
            curve.set_stroke(opacity=1.0 if shown >= 2 else 0.0)
            head.move_to(pts[-1])
            head.set_opacity(1.0 if (shown and self.show_heads) else 0.0)
        return self

    def detach_curves(self) -> VGroup:
        """Take the curves and their heads out of the plot and return them as one group, for a scene to
        add last and put the reveal's updater on (``curves.add_updater(lambda m: plot.reveal(e))``).

        Manim's Cairo renderer draws once per ``play()`` what does not change, and every frame what may:
        a mobject with an updater or an animation, its parents, and everything after the first of them
        in the scene. An updater on the whole plot redraws its axes, ticks, labels and legend every
        frame; on the curves apart, only they are. They stay the plot's :attr:`curves` and :attr:`heads`
        (:meth:`reveal` moves them). Drawn last they look the same: they cover only the grid and axes,
        which were drawn before them anyway.
        """
        if self._detached is None:
            self.remove(self.curve_group, self.head_group)
            self._detached = VGroup(self.curve_group, self.head_group)
        return self._detached

    def mark(self, epoch: float, name: str, color=None, radius: float = 0.09) -> Dot:
        """A Dot on series ``name`` at ``epoch`` (not added to the plot; add it in the scene)."""
        return Dot(self.point(epoch, name), radius=radius, color=color or self.series[name][1])


class EpochCounter(VGroup):
    """The text "Epoch k / N", with a fixed width so it does not wobble as k changes.

    Examples
    --------
    >>> c = EpochCounter(30)
    >>> c.set_epoch(7.6).k
    7
    """

    def __init__(self, n_epochs: int, *, label: str = "Epoch", size: float = T.BODY,
                 color=None, k: float = 0, **kwargs):
        super().__init__(**kwargs)
        if int(n_epochs) < 1:
            raise ValueError(f"n_epochs must be at least 1, got {n_epochs}")
        self.n_epochs, self.label, self.size, self.color_ = int(n_epochs), label, size, color or T.TEXT
        self.k = None
        self.text = self._make(0)
        self._natural_width = self.text.width
        self.add(self.text)
        self.set_epoch(k)

    def _make(self, k: int):
        digits = len(str(self.n_epochs))
        num = str(k).rjust(digits, "\u2007")  # figure spaces keep the width constant
        # composed from cached digit glyphs: a new Text per epoch would be laid out and parsed every time
        return T.digit_text(f"{self.label} {num} / {self.n_epochs}", size=self.size, color=self.color_)

    def set_epoch(self, k: float):
        """Show epoch ``floor(k)`` clipped to 0..N; returns self."""
        k = int(np.clip(math.floor(float(k) + 1e-9), 0, self.n_epochs))
        if k != self.k:
            new = self._make(k)
            new.scale(self.text.width / self._natural_width)  # keep any scaling applied since
            new.move_to(self.text.get_left(), aligned_edge=LEFT)
            self.text.become(new)
            self.text.original_text = new.original_text
            self.k = k
        return self
