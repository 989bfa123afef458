"""Named screen regions derived from the frame size, fitting helpers and a layout checker."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from manim import ManimColor, Mobject, ValueTracker, config
from manim.mobject.text.text_mobject import MarkupText, Paragraph, Text

from . import theme as T

__all__ = [
    "Region", "Regions", "regions", "fit_in", "check_layout", "visible_bbox",
    "LayoutError", "Problem", "MIN_CONTRAST", "MIN_FONT_SIZE", "CAPTION_SAFE", "TITLE_BAND", "FOOTER_BAND",
]

CAPTION_SAFE = 0.12  # fraction of the frame height kept free at the bottom for subtitles
TITLE_BAND = 0.13    # fraction of the frame height for the title band
FOOTER_BAND = 0.08   # fraction of the frame height for the footer band (above the caption-safe margin)


@dataclass(frozen=True)
class Region:
    """An axis-aligned rectangle of the frame, in scene units."""

    left: float
    right: float
    bottom: float
    top: float

    def __post_init__(self):
        if not (self.right > self.left and self.top > self.bottom):
            raise ValueError(f"empty region: {self}")

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.top - self.bottom

    @property
    def center(self) -> np.ndarray:
        return np.array([(self.left + self.right) / 2, (self.bottom + self.top) / 2, 0.0])

    @property
    def top_center(self) -> np.ndarray:
        return np.array([(self.left + self.right) / 2, self.top, 0.0])

    @property
    def bottom_center(self) -> np.ndarray:
        return np.array([(self.left + self.right) / 2, self.bottom, 0.0])

    def inset(self, buff: float) -> "Region":
        """The region shrunk by ``buff`` on every side."""
        return Region(self.left + buff, self.right - buff, self.bottom + buff, self.top - buff)

    def split_h(self, n: int = 2, gap: float = 0.0) -> list["Region"]:
        """``n`` side-by-side columns separated by ``gap``."""
        w = (self.width - gap * (n - 1)) / n
        return [Region(self.left + i * (w + gap), self.left + i * (w + gap) + w, self.bottom, self.top)
                for i in range(n)]

    def split_v(self, n: int = 2, gap: float = 0.0) -> list["Region"]:
        """``n`` stacked rows, top first, separated by ``gap``."""
        h = (self.height - gap * (n - 1)) / n
        return [Region(self.left, self.right, self.top - i * (h + gap) - h, self.top - i * (h + gap))
                for i in range(n)]

    def contains(self, bbox, tol: float = 0.0) -> bool:
        """Whether ``bbox`` (left, right, bottom, top) lies inside the region (with tolerance)."""
        l, r, b, t = bbox
        return (l >= self.left - tol and r <= self.right + tol
                and b >= self.bottom - tol and t <= self.top + tol)


@dataclass(frozen=True)
class Regions:
    """The named regions of one frame: title band, body (and its halves), footer, caption-safe band, and the
    stage (and its halves): the body with the footer band, for a chapter that has no footer line."""

    frame: Region
    title: Region
    body: Region
    left: Region
    right: Region
    footer: Region
    caption_safe: Region
    stage: Region
    stage_left: Region
    stage_right: Region


def regions(frame_width: float | None = None, frame_height: float | None = None) -> Regions:
    """The named regions of a frame (default: Manim's current ``config`` frame).

    Examples
    --------
    >>> R = regions(14.222, 8.0)
    >>> round(R.caption_safe.height, 2)
    0.96
    """
    W = float(frame_width if frame_width is not None else config.frame_width)
    H = float(frame_height if frame_height is not None else config.frame_height)
    side, top_margin, gutter = 0.035 * W, 0.025 * H, 0.03 * W
    frame = Region(-W / 2, W / 2, -H / 2, H / 2)
    safe_top = -H / 2 + CAPTION_SAFE * H
    caption_safe = Region(-W / 2, W / 2, -H / 2, safe_top)
    footer = Region(-W / 2 + side, W / 2 - side, safe_top, safe_top + FOOTER_BAND * H)
    title_top = H / 2 - top_margin
    title = Region(-W / 2 + side, W / 2 - side, title_top - TITLE_BAND * H, title_top)
    body = Region(-W / 2 + side, W / 2 - side, footer.top + 0.01 * H, title.bottom - 0.01 * H)
    left, right = body.split_h(2, gap=gutter)
    stage = Region(body.left, body.right, safe_top + 0.02 * H, body.top)
    return Regions(frame, title, body, left, right, footer, caption_safe, stage, *stage.split_h(2, gap=gutter))


def fit_in(mobject: Mobject, region: Region, buff: float = 0.1, aligned_edge=None) -> Mobject:
    """Scale ``mobject`` down (never up) to fit ``region`` inset by ``buff``, and move it there.

    ``aligned_edge`` (e.g. ``UP`` or ``LEFT``) pins that edge of the mobject to the same
    edge of the region instead of centring it.
    """
    inner = region.inset(buff)
    w, h = mobject.width, mobject.height
    factor = min(1.0, inner.width / w if w > 1e-9 else 1.0, inner.height / h if h > 1e-9 else 1.0)
    if factor < 1.0:
        mobject.scale(factor)
    mobject.move_to(inner.center)
    if aligned_edge is not None:
        edge = np.asarray(aligned_edge, dtype=float)
        target = inner.center + edge * np.array([inner.width / 2, inner.height / 2, 0.0])
        mobject.shift((target - mobject.get_critical_point(edge)) * np.abs(np.sign(edge)))
    return mobject


# ---------------------------------------------------------------------------- checking

_TEXT_TYPES = (Text, MarkupText, Paragraph)
#: WCAG 2's AA contrast ratio for text.
MIN_CONTRAST = 4.5
#: The smallest font size (Manim units) a text may end up at once scaled to fit: 80% of the theme's SMALL,
#: whose cap height is about 12 px at 854×480 (kdanim.viz.theme). Below it, a label too long for its place
#: has been shrunk until it cannot be read.
MIN_FONT_SIZE = 16.0


class LayoutError(Exception):
    """A frame the checker refused: one line naming the chapter, the beat, the objects and how far off."""


class Problem(str):
    """One layout problem: its one-line message, and a ``key`` (its kind and objects, without the
    distances) that stays the same while the problem persists from beat to beat."""

    key: tuple

    def __new__(cls, message: str, key: tuple = ()):
        self = super().__new__(cls, message)
        self.key = key or (message,)
        return self


def _leaf_visible(m: Mobject) -> bool:
    """Whether a mobject with points draws anything (fill or stroke with opacity > 0)."""
    if not m.has_points() or isinstance(m, ValueTracker):  # a tracker's "point" is its value
        return False
    try:
        fill = np.max(np.asarray(m.get_fill_opacities(), dtype=float), initial=0.0)
        stroke = np.max(np.asarray(m.get_stroke_opacities(), dtype=float), initial=0.0)
        width = float(m.get_stroke_width()) if hasattr(m, "get_stroke_width") else 0.0
    except (AttributeError, TypeError):  # a non-VMobject (image, point cloud): assume visible
        return True
    return fill > 0.01 or (stroke > 0.01 and width > 0)


def visible_bbox(mob: Mobject):
    """(left, right, bottom, top) of the visible parts of ``mob``, or None if nothing is visible."""
    pts = [m.points for m in mob.family_members_with_points() if _leaf_visible(m)]
    if not pts:
        return None
    p = np.concatenate(pts, axis=0)
    return (float(p[:, 0].min()), float(p[:, 0].max()), float(p[:, 1].min()), float(p[:, 1].max()))


def _describe(m: Mobject) -> str:
    if isinstance(m, _TEXT_TYPES):
        s = " ".join(str(getattr(m, "original_text", None) or getattr(m, "text", "")).split())
        return f'{type(m).__name__}("{s if len(s) <= 48 else s[:45] + "..."}")'
    return type(m).__name__


def _overlap(a, b) -> tuple[float, float]:
    """Overlap of two bboxes along x and y (negative when apart)."""
    return min(a[1], b[1]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[2], b[2])


def _collect(mob, allowed, owners, found, seen):
    if id(mob) in seen:
        return
    seen.add(id(mob))
    allowed = allowed or bool(getattr(mob, "allow_overlap", False))
    area = getattr(mob, "plot_area", None)
    if isinstance(area, Mobject):
        # texts belong to a plot area, not a mobject: parts of one chart on their own in the scene
        # (CurvePlot.detach_curves, the bars' detach_moving) share theirs
        if all(a is not area for _, a in found["plots"]):
            found["plots"].append((mob, area))
        owners = owners + (id(area),)
    if getattr(mob, "ticks", None) is not None:
        found["ticks"].append(mob)
    if getattr(mob, "series_styles", None):
        found["charts"].append(mob)
    if isinstance(mob, _TEXT_TYPES):
        bbox = visible_bbox(mob)
        if bbox is not None:
            found["texts"].append((mob, bbox, allowed, owners))
        return
    for sub in mob.submobjects:
        _collect(sub, allowed, owners, found, seen)


def check_layout(mobjects, frame=None, tol: float = 0.03, keep_free=(), *, background=None,
                 caption_safe: "Region | None" = None, min_size: float | None = MIN_FONT_SIZE) -> list[Problem]:
    """Layout problems of what is on screen: a list of one-line messages, empty when all is well.

    Checks that (1) every visible part of every mobject lies inside the frame, (2) no two
    visible ``Text``/``MarkupText`` leaves overlap by more than ``tol`` in both directions,
    (3) no text overlaps the ``plot_area`` of a component it does not belong to, (4) every
    tick label prints the value it stands at (axes of :func:`kdanim.viz.curves.text_axes`),
    (5) no text is shrunk below ``min_size`` (font size after scaling), (6) with ``background``,
    every text reads on it (WCAG contrast ≥ 4.5:1, its opacity blended in), and (7) with
    ``caption_safe``, no text enters that band.
    Invisible parts (opacity 0) are ignored; a mobject (or any ancestor) with
    ``allow_overlap = True`` is exempt from the overlap checks (not from the others).

    Parameters
    ----------
    mobjects
        Typically ``scene.mobjects``.
    frame
        A :class:`Region`, a ``(width, height)`` pair, or None for Manim's current frame.
    tol
        Tolerance in scene units.
    keep_free
        Regions nothing visible may enter.
    background
        The colour behind the texts (the theme's ``BACKGROUND``), or None not to check contrast.
    caption_safe
        The band kept free for subtitles (``regions().caption_safe``), or None.

    Examples
    --------
    >>> from manim import RIGHT
    >>> from kdanim.viz import theme as T
    >>> check_layout([T.text("abc"), T.text("abc").shift(RIGHT * 0.2)])[0].split(" by ")[0]
    'Text("abc") overlaps Text("abc")'
    """
    if frame is None:
        frame = regions().frame
    elif not isinstance(frame, Region):
        w, h = frame
        frame = Region(-w / 2, w / 2, -h / 2, h / 2)
    problems: list[Problem] = []
    found, seen = {"texts": [], "plots": [], "ticks": [], "charts": []}, set()
    for mob in mobjects:
        _collect(mob, False, (), found, seen)
        problems += _placement(mob, frame, tol, keep_free)
    texts = found["texts"]
    problems += _texts_off_frame(texts, frame, tol)
    problems += _text_overlaps(texts, tol) + _plot_overlaps(texts, found["plots"], tol)
    problems += [p for labels in found["ticks"] for p in _lying_ticks(labels)]
    problems += [p for chart in found["charts"] if visible_bbox(chart) is not None for p in _alike_series(chart)]
    if min_size is not None:
        problems += _too_small(texts, min_size)
    if caption_safe is not None:
        problems += _in_band(texts, caption_safe, frame, tol)
    if background is not None:
        problems += _low_contrast(texts, background)
    return problems


def _beyond(bbox, frame: "Region") -> tuple[float, str, float]:
    """How far ``bbox`` leaves ``frame``: (scene units, side, % of the frame along that side)."""
    l, r, b, t = bbox
    sides = [(frame.left - l, "left", frame.width), (r - frame.right, "right", frame.width),
             (frame.bottom - b, "bottom", frame.height), (t - frame.top, "top", frame.height)]
    d, side, span = max(sides)
    return d, side, 100 * d / span


def _placement(mob, frame: "Region", tol: float, keep_free) -> list[Problem]:
    """A top-level mobject that leaves the frame (when no text of it does: those are named) or enters
    a region kept free."""
    bbox = visible_bbox(mob)
    if bbox is None:
        return []
    out = []
    d, side, pct = _beyond(bbox, frame)
    texts_out = any(_beyond(visible_bbox(t) or bbox, frame)[0] > tol for t in mob.get_family()
                    if isinstance(t, _TEXT_TYPES) and visible_bbox(t) is not None)
    if d > tol and not texts_out:
        out.append(Problem(f"{_describe(mob)} leaves the frame at the {side} by {d:.2f} ({pct:.1f}% of the frame)",
                           ("frame", _describe(mob), side)))
    for region in keep_free:
        dx, dy = _overlap(bbox, (region.left, region.right, region.bottom, region.top))
        if dx > tol and dy > tol:
            out.append(Problem(f"{_describe(mob)} enters a region kept free (y [{region.bottom:.2f}, "
                               f"{region.top:.2f}]) by {dy:.2f}", ("free", _describe(mob))))
    return out


def _texts_off_frame(texts, frame: "Region", tol: float) -> list[Problem]:
    out = []
    for t, tbox, _, _ in texts:
        d, side, pct = _beyond(tbox, frame)
        if d > tol:
            out.append(Problem(f"{_describe(t)} leaves the frame at the {side} by {d:.2f} ({pct:.1f}% of the frame)",
                               ("frame", _describe(t), side)))
    return out


def _text_overlaps(texts, tol: float) -> list[Problem]:
    out = []
    for i, (a, abox, aok, _) in enumerate(texts):
        for b, bbox, bok, _ in texts[i + 1:] if not aok else ():
            dx, dy = _overlap(abox, bbox)
            if not bok and dx > tol and dy > tol:
                out.append(Problem(f"{_describe(a)} overlaps {_describe(b)} by {dx:.2f} × {dy:.2f}",
                                   ("overlap", _describe(a), _describe(b))))
    return out


def _plot_overlaps(texts, plots, tol: float) -> list[Problem]:
    out = []
    for owner, area in plots:
        if visible_bbox(owner) is None:  # the whole plot is invisible
            continue
        pbox = (area.get_left()[0], area.get_right()[0], area.get_bottom()[1], area.get_top()[1])
        for t, tbox, ok, owners in texts:
            dx, dy = _overlap(tbox, pbox)
            if not ok and id(area) not in owners and dx > tol and dy > tol:
                out.append(Problem(f"{_describe(t)} overlaps the plot area of {_describe(owner)} by "
                                   f"{dx:.2f} × {dy:.2f}", ("plot", _describe(t), _describe(owner))))
    return out


def _too_small(texts, min_size: float) -> list[Problem]:
    out = []
    for t, _, _, _ in texts:
        size = float(t.font_size)
        if size < min_size - 0.05:  # a text fitted to exactly the limit is at it
            out.append(Problem(f"{_describe(t)} is shrunk to font size {size:.1f} (at least {min_size:g} reads): "
                               f"{100 * (1 - size / min_size):.0f}% too small for its place", ("small", _describe(t))))
    return out


def _in_band(texts, band: "Region", frame: "Region", tol: float) -> list[Problem]:
    out = []
    for t, tbox, _, _ in texts:
        depth = band.top - tbox[2]
        dx, _ = _overlap(tbox, (band.left, band.right, band.bottom, band.top))
        if depth > tol and dx > tol:
            out.append(Problem(f"{_describe(t)} enters the caption-safe band by {depth:.2f} "
                               f"({100 * depth / frame.height:.1f}% of the frame height)", ("band", _describe(t))))
    return out


def _low_contrast(texts, background) -> list[Problem]:
    """Texts whose least readable glyph (its colour blended with the background by its opacity) is below
    :data:`MIN_CONTRAST`. A text drawn on a filled shape of a component says so in its ``background``
    attribute (a heatmap's cell value): it is read against that colour."""
    out = []
    for t, _, _, _ in texts:
        behind = getattr(t, "background", None) or background
        bg = np.asarray(ManimColor(behind).to_rgb(), dtype=float)
        rgbas = [m.fill_rgbas for m in t.family_members_with_points() if len(getattr(m, "fill_rgbas", ())) > 0]
        if not rgbas:
            continue
        rgba = np.concatenate(rgbas, axis=0)
        rgba = rgba[rgba[:, 3] > 0.01]  # invisible glyphs are not read
        if not len(rgba):
            continue
        worst = min(T.contrast_ratio(r[3] * r[:3] + (1 - r[3]) * bg, bg) for r in np.unique(rgba, axis=0))
        if worst < MIN_CONTRAST - 1e-6:
            out.append(Problem(f"{_describe(t)} has a contrast of {worst:.2f}:1 on the background "
                               f"{ManimColor(behind).to_hex()} (needs {MIN_CONTRAST}:1)", ("contrast", _describe(t))))
    return out


def _alike_series(chart) -> list[Problem]:
    """Series of one chart (``chart.series_styles``: (name, colour, marker) triples) that only their colour
    tells apart, when the colours are closer than ``theme.MIN_SERIES_DELTA_E`` in normal vision or as
    colour-blind viewers see them (theme.CVD_MATRICES)."""
    out, styles = [], list(chart.series_styles)
    for i, (a, ca, ma) in enumerate(styles):
        for b, cb, mb in styles[i + 1:]:
            if ma != mb:
                continue
            seen = {v: T.delta_e(ca, cb, v) for v in ("normal", *T.CVD_MATRICES)}
            vision = min(seen, key=seen.get)
            if seen[vision] < T.MIN_SERIES_DELTA_E:
                out.append(Problem(f'series "{a}" and "{b}" of {type(chart).__name__} look alike: ΔE {seen[vision]:.1f} '
                                   f"({vision} vision; needs {T.MIN_SERIES_DELTA_E:g}, or other markers)",
                                   ("series", type(chart).__name__, a, b)))
    return out


def _lying_ticks(labels) -> list[Problem]:
    """Tick labels (``labels.ticks``: (value, label Text) pairs) whose printed number is not their value."""
    out = []
    decimal, group = getattr(labels, "numerals", (".", ","))
    for value, lab in labels.ticks:
        if visible_bbox(lab) is None:
            continue
        printed = str(getattr(lab, "original_text", "")).replace(group, "").replace(decimal, ".")
        try:
            shown = float(printed)
        except ValueError:
            continue  # a label that is not a plain number ("1k"): its axis says what it means
        if abs(shown - value) > 1e-6 * max(1.0, abs(value)):  # beyond float noise: the label rounds
            out.append(Problem(f'tick label "{lab.original_text}" stands at {value:g}: it is off by '
                               f"{abs(shown - value):g}", ("tick", lab.original_text, value)))
    return out
