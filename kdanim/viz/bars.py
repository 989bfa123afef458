"""Probability bar charts: one distribution, or several side by side per class."""

from __future__ import annotations

import numpy as np
from manim import DOWN, UP, Animation, Line, Rectangle, VGroup, override_animate

from . import theme as T
from .layout import MIN_FONT_SIZE

__all__ = ["ProbabilityBars", "ComparedBars"]

_MIN_H = 1e-3  # a zero-probability bar keeps a sliver of height so it can grow smoothly


def _check_probs(probs, k: int, what: str) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    if p.shape != (k,):
        raise ValueError(f"{what}: expected {k} probabilities, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or p.min() < -1e-9 or p.max() > 1 + 1e-6:
        raise ValueError(f"{what}: probabilities must be finite and in [0, 1], got {p.tolist()}")
    return np.clip(p, 0.0, 1.0)


def _fmt(p: float, decimals: int) -> str:
    return T.numeral(f"{p:.{decimals}f}")


def _class_labels(class_names, centers, baseline_y, slot, size) -> VGroup:
    labels = VGroup(*T.text_row(class_names, size=size))  # one shared baseline
    room = slot * 0.95
    if any(lab.width > room for lab in labels) and min(size * room / lab.width for lab in labels) < 1.2 * MIN_FONT_SIZE:
        # a name too long for its slot ("Lastwagen") would shrink out of reach (the chart itself may be scaled
        # down by a fifth to fit its region): every other name goes on a second line, with two slots of width
        room, step = slot * 1.9, 1.15 * max(lab.height for lab in labels)
        for lab in labels[1::2]:
            lab.shift(DOWN * step)
    for lab, x in zip(labels, centers):
        if lab.width > room:  # a long name shrinks to its room
            lab.scale(room / lab.width, about_point=lab.get_bottom())
        lab.set_x(x)
    return labels.shift(UP * (baseline_y - 0.12 - labels.get_top()[1]))


def _box(m) -> tuple[float, float, float, float]:
    """(left, right, bottom, top) of ``m``'s points: its four edges at once (it runs every frame)."""
    pts = np.concatenate([sm.points for sm in m.family_members_with_points()])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return lo[0], hi[0], lo[1], hi[1]


def _set_bar(bar: Rectangle, p: float, max_height: float, baseline_y: float):
    """Give ``bar`` height ``p · max_height`` with its bottom on the baseline."""
    x = bar.get_center()[0]
    bar.stretch_to_fit_height(max(p * max_height, _MIN_H))
    bar.move_to([x, baseline_y, 0], aligned_edge=DOWN)


class _ValuesTween(Animation):
    """Tween a chart's values: every frame calls ``setter(interpolated values)``, so value
    labels show the real intermediate numbers instead of morphing glyphs."""

    #: What the chart ends as depends on the values it went through (its labels rebuilt as they count):
    #: taken from Manim's cache, the animation still steps through every frame (kdanim.lesson.Chapter).
    steps_matter = True

    def __init__(self, chart, start, end, setter, **kwargs):
        self.start, self.end, self.setter = np.asarray(start, float), np.asarray(end, float), setter
        super().__init__(chart, **kwargs)

    def interpolate_mobject(self, alpha: float):
        a = self.rate_func(alpha)
        self.setter(np.clip((1 - a) * self.start + a * self.end, 0.0, 1.0))  # rate funcs may overshoot


class _Bars(VGroup):
    """What both charts share: class slots along a baseline, names under it, bars that move to new values."""

    def _slots(self, width: float, max_height: float, decimals: int, value_size: float):
        """Slot width and centres, and the baseline, for ``self.class_names`` across ``width``."""
        k = len(self.class_names)
        self.max_height, self.decimals, self.value_size = max_height, decimals, value_size
        self.slot = width / k
        self.centers = (np.arange(k) - (k - 1) / 2) * self.slot
        self.baseline = Line([-width / 2, 0, 0], [width / 2, 0, 0], stroke_color=T.MUTED, stroke_width=2)

    def _bar(self, x: float, width: float, color, p: float) -> Rectangle:
        bar = Rectangle(width=width, height=1.0, stroke_width=0, fill_color=color, fill_opacity=0.9).move_to([x, 0, 0])
        _set_bar(bar, p, self.max_height, 0.0)
        return bar

    def _add_axis(self, bars: VGroup, label_size: float):
        """Add ``bars``, the baseline and the class names."""
        self.bars = bars
        self.class_labels = _class_labels(self.class_names, self.centers, 0.0, self.slot, label_size)
        self.add(self.bars, self.baseline, self.class_labels)
        self.plot_area = VGroup(self.bars, self.baseline)  # foreign text must not cover the bars

    def detach_moving(self) -> VGroup:
        """Take out of the chart what ``set_values`` moves (the bars, the baseline drawn over them, the
        value labels) and return it as one group, for a scene to add last and put an updater on: Manim
        then draws the class names, title and legend once per ``play()`` instead of every frame (see
        :meth:`kdanim.viz.curves.CurvePlot.detach_curves`). The chart still moves the parts; drawn last
        they look the same, as they cover nothing drawn after them before."""
        if getattr(self, "_detached", None) is None:
            moving = VGroup(self.bars, self.baseline, self.value_labels)
            self.remove(*moving.submobjects)
            moving.plot_area = self.plot_area  # the same area: its value labels are the chart's own
            self._detached = moving
        return self._detached

    def _add_title(self, title: str | None, bottom: float, color=None):
        self.title = None
        if title:
            self.title = T.text(title, size=T.LABEL, color=color)
            self.title.move_to([0, bottom + self.title.height / 2, 0])
            self.add(self.title)

    def _move(self, bars, labels, values, new_label):
        """Move ``bars`` to ``values`` and their value ``labels`` with them; ``new_label(i, scale)`` redraws one."""
        # work in the current geometry: the chart may have been moved or scaled since
        scale = self.baseline.width / (self.slot * len(self.class_names))
        y0 = self.baseline.get_center()[1]
        for bar, p in zip(bars, values):
            _set_bar(bar, p, self.max_height * scale, y0)
        for i, lab in enumerate(labels):
            if _fmt(values[i], self.decimals) != lab.original_text:  # rebuilding a Text is costly
                new = new_label(i, scale)
                lab.become(new)
                lab.original_text = new.original_text
            lab.next_to(bars[i], UP, buff=0.08 * scale)


class ProbabilityBars(_Bars):
    """Vertical bars of one probability distribution, with values above and class names below.

    Parameters
    ----------
    probs
        ``K`` probabilities.
    class_names
        ``K`` names drawn under the bars.
    colors
        One colour per bar (default: the theme's class colours); ``bar_color`` paints all bars.
    max_height
        Height of a bar of probability 1.
    width
        Total width of the bar area.
    show_values
        Value labels (``decimals`` digits) above the bars.
    title
        Optional heading above the chart.

    Examples
    --------
    >>> bars = ProbabilityBars([0.7, 0.2, 0.05, 0.03, 0.02], ["cat", "dog", "fox", "car", "truck"])
    >>> _ = bars.set_values([0.2] * 5)
    >>> bars.value_labels[0].original_text
    '0.20'
    """

    def __init__(
        self,
        probs,
        class_names,
        *,
        colors=None,
        bar_color=None,
        max_height: float = 2.4,
        width: float = 5.0,
        show_values: bool = True,
        title: str | None = None,
        title_color=None,
        decimals: int = 2,
        bar_fill: float = 0.62,
        label_size: float = T.LABEL,
        value_size: float = T.SMALL,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.class_names = list(class_names)
        k = len(self.class_names)
        if k < 1:
            raise ValueError("class_names must not be empty")
        self.values = _check_probs(probs, k, "probs")
        if bar_color is not None:
            colors = [bar_color] * k
        elif colors is None:
            colors = [T.class_color(i) for i in range(k)]
        if len(colors) != k:
            raise ValueError(f"colors: expected {k}, got {len(colors)}")
        self.colors = list(colors)
        self.show_values = show_values
        self._slots(width, max_height, decimals, value_size)
        self.baseline_y = 0.0
        self._add_axis(VGroup(*[self._bar(x, self.slot * bar_fill, c, p)
                                for x, p, c in zip(self.centers, self.values, self.colors)]), label_size)
        self.value_labels = VGroup()
        if show_values:
            self.value_labels = VGroup(*[self._value_label(i, p) for i, p in enumerate(self.values)])
            self.add(self.value_labels)
            self._declutter()
        self._add_title(title, max_height + 0.45, title_color or T.TEXT)

    def _value_label(self, i: int, p: float):
        lab = T.digit_text(_fmt(p, self.decimals), size=self.value_size, color=T.TEXT)
        lab.next_to(self.bars[i], UP, buff=0.08)
        return lab

    def set_values(self, probs):
        """Move the bars (and value labels) to ``probs``; returns self."""
        self.values = _check_probs(probs, len(self.class_names), "probs")
        self._move(self.bars, self.value_labels, self.values, lambda i, scale: T.digit_text(
            _fmt(self.values[i], self.decimals), size=self.value_size, color=T.TEXT).scale(scale))
        self._declutter()
        return self

    def _declutter(self):
        """Where bars are too narrow for every value (many classes), the larger values keep their labels."""
        kept = []
        for i in sorted(range(len(self.value_labels)), key=lambda i: -self.values[i]):
            lab = self.value_labels[i]
            box = _box(lab)
            clash = any(box[0] < k[1] + 0.04 and k[0] < box[1] + 0.04 and box[2] < k[3] and k[2] < box[3]
                        for k in kept)
            lab.set_opacity(0.0 if clash else 1.0)
            if not clash:
                kept.append(box)
        if len(kept) < len(self.value_labels):  # crowded: zeros say least, leave them all off
            zero = _fmt(0.0, self.decimals)
            for lab in self.value_labels:
                if lab.original_text == zero:
                    lab.set_opacity(0.0)

    @override_animate(set_values)
    def _animate_set_values(self, probs, anim_args=None):
        """``chart.animate.set_values(p)``: bars glide and value labels count to ``p``."""
        end = _check_probs(probs, len(self.class_names), "probs")
        return _ValuesTween(self, self.values.copy(), end, self.set_values, **(anim_args or {}))

    def bar_top(self, i: int):
        """Top-centre point of bar ``i`` (e.g. to point an arrow at it)."""
        return self.bars[i].get_top()

    def highlight(self, indices, dim: float = 0.25):
        """Keep bars ``indices`` bright and dim the others; returns self."""
        keep = set([indices] if isinstance(indices, (int, np.integer)) else indices)
        for i, bar in enumerate(self.bars):
            bar.set_fill(opacity=0.9 if i in keep else dim)
        return self


class ComparedBars(_Bars):
    """Several distributions side by side, grouped by class, with a legend.

    Parameters
    ----------
    groups
        ``{name: K probabilities}``, drawn left to right in each class slot in dict order,
        e.g. ``{"hard": ..., "τ = 1": ..., "τ = 3": ...}``.
    class_names
        ``K`` names under the slots.
    colors
        ``{name: colour}`` for every group.
    show_values
        Value labels above the bars; None (default) shows them only where they fit.

    Examples
    --------
    >>> cb = ComparedBars({"teacher": [0.6, 0.4], "student": [0.5, 0.5]}, ["cat", "dog"],
    ...                   {"teacher": T.TEACHER, "student": T.DISTILLED})
    >>> _ = cb.set_values("student", [0.7, 0.3])
    """

    def __init__(
        self,
        groups: dict,
        class_names,
        colors: dict,
        *,
        max_height: float = 2.4,
        width: float = 6.0,
        show_values: bool | None = None,
        legend: bool = True,
        title: str | None = None,
        decimals: int = 2,
        label_size: float = T.LABEL,
        value_size: float = T.SMALL,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.class_names = list(class_names)
        k = len(self.class_names)
        if not groups:
            raise ValueError("groups must not be empty")
        missing = [g for g in groups if g not in colors]
        if missing:
            raise ValueError(f"colors: no colour for group(s) {missing}")
        self.names = list(groups)
        self.values = {g: _check_probs(p, k, f"groups[{g!r}]") for g, p in groups.items()}
        self.colors = dict(colors)
        self._slots(width, max_height, decimals, value_size)
        self.bar_width = self.slot * 0.8 / len(self.names)
        self._add_axis(VGroup(*[VGroup(*[self._bar(self._x(gi, i), self.bar_width * 0.9, self.colors[g], p)
                                         for i, p in enumerate(self.values[g])])
                                for gi, g in enumerate(self.names)]), label_size)
        if show_values is None:
            probe = T.text("0." + "0" * decimals, size=value_size)
            show_values = probe.width <= self.bar_width * 0.95
        self.show_values = show_values
        self.value_labels = VGroup()
        if show_values:
            for g in self.names:
                self.value_labels.add(VGroup(*[self._value_label(g, i) for i in range(k)]))
            self.add(self.value_labels)
        top = max_height + (0.35 if show_values else 0.1)
        self._add_title(title, top + 0.15)
        if self.title:
            top = self.title.get_top()[1]
        self.legend = VGroup()
        if legend:
            self.legend = self._build_legend()
            self.legend.move_to([0, top + 0.2 + self.legend.height / 2, 0])
            self.add(self.legend)

    def _x(self, g_index: int, i: int) -> float:
        n = len(self.names)
        return self.centers[i] + (g_index - (n - 1) / 2) * self.bar_width

    def _value_label(self, g, i, scale: float = 1.0):
        gi = self.names.index(g)
        lab = T.digit_text(_fmt(self.values[g][i], self.decimals), size=self.value_size)
        lab.scale(scale).next_to(self.bars[gi][i], UP, buff=0.08 * scale)
        return lab

    def _build_legend(self) -> VGroup:
        return T.legend([(g, self.colors[g]) for g in self.names], kind="square", size=T.LABEL)

    def _group(self, name, probs):
        """(index of group ``name``, ``probs`` checked); ValueError for an unknown group."""
        if name not in self.values:
            raise ValueError(f"unknown group {name!r}; groups are {self.names}")
        return self.names.index(name), _check_probs(probs, len(self.class_names), f"probs for {name!r}")

    def set_values(self, name, probs):
        """Move the bars of group ``name`` to ``probs``; returns self."""
        gi, self.values[name] = self._group(name, probs)
        labels = self.value_labels[gi] if self.show_values else []
        self._move(self.bars[gi], labels, self.values[name], lambda i, scale: self._value_label(name, i, scale))
        return self

    @override_animate(set_values)
    def _animate_set_values(self, name, probs, anim_args=None):
        """``chart.animate.set_values(name, p)``: that group's bars glide (and labels count) to ``p``."""
        _, end = self._group(name, probs)
        return _ValuesTween(self, self.values[name].copy(), end,
                            lambda p: self.set_values(name, p), **(anim_args or {}))
