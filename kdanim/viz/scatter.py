"""Scatter plots: accuracy versus parameter count (log x), and the 2-D picture of the data."""

from __future__ import annotations

import math

import numpy as np
from manim import DL, DOWN, DR, LEFT, RIGHT, UL, UP, UR, Dot, Rectangle, VGroup

from . import theme as T
from .curves import nice_step, text_axes

__all__ = ["AccuracyParamsPlot", "DataScatter", "format_count"]


def format_count(n: float) -> str:
    """Short count for a tick label.

    >>> format_count(100), format_count(1000), format_count(2.5e4), format_count(1e6)
    ('100', '1k', '25k', '1M')
    """
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:g}{suffix}"
    return f"{n:g}"


def _bbox(m):
    return (m.get_left()[0], m.get_right()[0], m.get_bottom()[1], m.get_top()[1])


def _hits(a, b, pad=0.04) -> bool:
    return a[0] < b[1] + pad and b[0] < a[1] + pad and a[2] < b[3] + pad and b[2] < a[3] + pad


class AccuracyParamsPlot(VGroup):
    """Test accuracy (%) against parameter count on a log10 x axis, one labelled dot per model.

    Parameters
    ----------
    points
        ``[(name, params, accuracy, colour), ...]`` with ``accuracy`` a fraction in [0, 1].

    Examples
    --------
    >>> plot = AccuracyParamsPlot([("teacher", 120448, 0.91, T.TEACHER), ("student", 7979, 0.86, T.DISTILLED)])
    >>> [lab.original_text for lab in plot.point_labels]
    ['teacher', 'student']
    """

    def __init__(
        self,
        points,
        *,
        width: float = 6.0,
        height: float = 3.2,
        x_label: str = "parameters (log scale)",
        y_label: str = "test accuracy (%)",
        label_size: float = T.LABEL,
        dot_radius: float = 0.1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not points:
            raise ValueError("points must not be empty")
        self.entries = []
        for i, p in enumerate(points):
            name, params, acc, color = p
            if not (params > 0 and math.isfinite(params)):
                raise ValueError(f"points[{i}] ({name}): params must be positive, got {params}")
            if not (0.0 <= acc <= 1.0):
                raise ValueError(f"points[{i}] ({name}): accuracy must be a fraction in [0, 1], got {acc}")
            self.entries.append((str(name), float(params), float(acc), color))
        logs = [math.log10(p) for _, p, _, _ in self.entries]
        lo, hi = math.floor(min(logs) - 0.3), math.ceil(max(logs) + 0.3)
        accs = [100 * a for _, _, a, _ in self.entries]
        step = nice_step(max(max(accs) - min(accs), 10.0) + 10.0, 4)
        y_lo = max(0.0, math.floor((min(accs) - step / 2) / step) * step)
        y_hi = min(100.0, math.ceil((max(accs) + step / 2) / step) * step)
        if y_hi - y_lo < step:
            y_lo = max(0.0, y_hi - 2 * step)
        x_ticks = [(e, format_count(10.0 ** e)) for e in range(lo, hi + 1)]
        y_ticks = [(v, f"{v:g}") for v in np.arange(y_lo, y_hi + 1e-9, step)]
        self.axes, self.tick_labels, self.grid = text_axes((lo, hi), (y_lo, y_hi), width, height, x_ticks, y_ticks,
                                                                   x_log=True)
        self.plot_area = self.axes  # the data area: no foreign text may cover it
        self.dots = VGroup(*[
            Dot(self.axes.c2p(math.log10(p), 100 * a), radius=dot_radius, color=c, stroke_width=0)
            for _, p, a, c in self.entries
        ])
        self.add(self.grid, self.axes, self.tick_labels, self.dots)
        self.point_labels = self._place_labels(label_size)
        self.add(self.point_labels)
        self.x_label = T.text(x_label, size=T.SMALL, color=T.MUTED)
        self.x_label.next_to(self.tick_labels, DOWN, buff=0.1).align_to(self.plot_area, RIGHT)
        self.y_label = T.text(y_label, size=T.LABEL)
        self.y_label.next_to(self.plot_area, UP, buff=0.2).align_to(self.tick_labels, LEFT)
        self.add(self.x_label, self.y_label)

    def _place_labels(self, size) -> VGroup:
        """Put each name beside its dot where it hits no other label or dot and stays on the plot."""
        labels, taken = VGroup(), [_bbox(d) for d in self.dots]
        area = _bbox(self.plot_area)
        for (name, _, _, color), dot in zip(self.entries, self.dots):
            lab = T.text(name, size=size, color=color)
            choice = None
            for d in (UR, UL, DR, DL, RIGHT, LEFT, UP, DOWN):
                lab.next_to(dot, d, buff=0.1)
                b = _bbox(lab)
                inside = b[0] >= area[0] and b[1] <= area[1] and b[2] >= area[2] and b[3] <= area[3]
                if inside and not any(_hits(b, t) for t in taken):
                    choice = d
                    break
            if choice is None:
                lab.next_to(dot, UR, buff=0.1)
            taken.append(_bbox(lab))
            labels.add(lab)
        return labels

    def highlight(self, names, dim: float = 0.25):
        """Keep the named points bright and dim the others; returns self."""
        keep = {names} if isinstance(names, str) else set(names)
        for (name, *_), dot, lab in zip(self.entries, self.dots, self.point_labels):
            o = 1.0 if name in keep else dim
            dot.set_opacity(o)
            lab.set_opacity(o)
        return self


class DataScatter(VGroup):
    """The 2-D view of the task: one small dot per sample, coloured by class, in a square panel.

    Parameters
    ----------
    points_2d
        ``[[x, y], ...]`` (≤ a few hundred points); the aspect ratio of the data is kept.
    labels
        Class index of each point.
    class_names
        Names for the legend.
    colors
        Class colours (default: the theme's).

    Examples
    --------
    >>> s = DataScatter([[0, 0], [1, 1], [2, 0]], [0, 1, 1], ["cat", "dog"])
    >>> [len(g) for g in s.class_groups]
    [1, 2]
    """

    def __init__(
        self,
        points_2d,
        labels,
        class_names,
        colors=None,
        *,
        side: float = 3.8,
        dot_radius: float = 0.04,
        legend: bool = True,
        padding: float = 0.06,
        **kwargs,
    ):
        super().__init__(**kwargs)
        pts = np.asarray(points_2d, dtype=float)
        lab = np.asarray(labels, dtype=int)
        k = len(class_names)
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 1:
            raise ValueError(f"points_2d: expected a list of [x, y] pairs, got shape {pts.shape}")
        if lab.shape != (len(pts),):
            raise ValueError(f"labels: expected {len(pts)} labels, got shape {lab.shape}")
        if not np.all(np.isfinite(pts)):
            raise ValueError("points_2d: non-finite coordinates")
        if lab.min() < 0 or lab.max() >= k:
            raise ValueError(f"labels must be class indices in 0..{k - 1}")
        colors = list(colors) if colors is not None else [T.class_color(i) for i in range(k)]
        self.class_names, self.colors, self.side = list(class_names), colors, side
        self.data_center = (pts.min(axis=0) + pts.max(axis=0)) / 2
        span = float(max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1]), 1e-9))
        self._scale = side * (1 - 2 * padding) / span
        self.panel = Rectangle(width=side, height=side, stroke_color=T.GRID, stroke_width=2,
                               fill_color=T.PANEL, fill_opacity=1.0)
        self.plot_area = self.panel
        self.class_groups = VGroup(*[VGroup() for _ in range(k)])
        for (x, y), c in zip(pts, lab):
            self.class_groups[c].add(Dot(self.to_panel((x, y)), radius=dot_radius, stroke_width=0,
                                         fill_color=colors[c], fill_opacity=0.85))
        self.add(self.panel, self.class_groups)
        self.legend = VGroup()
        if legend:
            self.legend = T.legend(list(zip(self.class_names, colors)), kind="dot", size=T.LABEL,
                                   direction="column")
            self.legend.next_to(self.panel, RIGHT, buff=0.35)
            self.add(self.legend)

    def to_panel(self, xy) -> np.ndarray:
        """Scene point of data coordinates ``xy`` (follows the panel if it was moved or scaled)."""
        k = self.panel.width / self.side if hasattr(self, "panel") and self.panel.has_points() else 1.0
        c = self.panel.get_center() if hasattr(self, "panel") else np.zeros(3)
        d = (np.asarray(xy, dtype=float) - self.data_center) * self._scale * k
        return c + np.array([d[0], d[1], 0.0])

    def highlight_classes(self, indices, dim: float = 0.15):
        """Keep classes ``indices`` bright and dim the others (None: all bright); returns self."""
        keep = set(range(len(self.class_names))) if indices is None else set(np.atleast_1d(indices).tolist())
        for i, g in enumerate(self.class_groups):
            g.set_fill(opacity=0.85 if i in keep else dim)
            if self.legend:
                self.legend[i].set_opacity(1.0 if i in keep else 0.35)
        return self
