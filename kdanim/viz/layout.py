"""Named screen regions derived from the frame size, fitting helpers and a layout checker."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from manim import Mobject, ValueTracker, config
from manim.mobject.text.text_mobject import MarkupText, Paragraph, Text

__all__ = [
    "Region", "Regions", "regions", "fit_in", "check_layout", "visible_bbox",
    "CAPTION_SAFE", "TITLE_BAND", "FOOTER_BAND",
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
    """The named regions of one frame: title band, body (and its halves), footer, caption-safe band."""

    frame: Region
    title: Region
    body: Region
    left: Region
    right: Region
    footer: Region
    caption_safe: Region


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
    return Regions(frame, title, body, left, right, footer, caption_safe)


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
        s = getattr(m, "original_text", None) or getattr(m, "text", "")
        return f'{type(m).__name__}("{s}")'
    return type(m).__name__


def _overlap(a, b) -> tuple[float, float]:
    """Overlap of two bboxes along x and y (negative when apart)."""
    return min(a[1], b[1]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[2], b[2])


def _collect(mob, allowed, owners, texts, plots, seen):
    if id(mob) in seen:
        return
    seen.add(id(mob))
    allowed = allowed or bool(getattr(mob, "allow_overlap", False))
    area = getattr(mob, "plot_area", None)
    if isinstance(area, Mobject):
        plots.append((mob, area))
        owners = owners + (id(mob),)
    if isinstance(mob, _TEXT_TYPES):
        bbox = visible_bbox(mob)
        if bbox is not None:
            texts.append((mob, bbox, allowed, owners))
        return
    for sub in mob.submobjects:
        _collect(sub, allowed, owners, texts, plots, seen)


def check_layout(mobjects, frame=None, tol: float = 0.03, keep_free=()) -> list[str]:
    """Layout problems of what is on screen: a list of one-line messages, empty when all is well.

    Checks that (1) every visible part of every mobject lies inside the frame, (2) no two
    visible ``Text``/``MarkupText`` leaves overlap by more than ``tol`` in both directions,
    and (3) no text overlaps the ``plot_area`` of a component it does not belong to.
    Invisible parts (opacity 0) are ignored; a mobject (or any ancestor) with
    ``allow_overlap = True`` is exempt from the overlap checks (not from the frame check).

    Parameters
    ----------
    mobjects
        Typically ``scene.mobjects``.
    frame
        A :class:`Region`, a ``(width, height)`` pair, or None for Manim's current frame.
    tol
        Tolerance in scene units.
    keep_free
        Regions nothing visible may enter, e.g. ``[regions().caption_safe]``.

    Examples
    --------
    >>> from manim import RIGHT
    >>> from kdanim.viz import theme as T
    >>> check_layout([T.text("abc"), T.text("abc").shift(RIGHT * 0.2)])[0].split(" (")[0]
    'Text("abc") overlaps Text("abc")'
    """
    if frame is None:
        frame = regions().frame
    elif not isinstance(frame, Region):
        w, h = frame
        frame = Region(-w / 2, w / 2, -h / 2, h / 2)
    problems: list[str] = []
    texts, plots, seen = [], [], set()
    for mob in mobjects:
        problems += _placement(mob, frame, tol, keep_free)
        _collect(mob, False, (), texts, plots, seen)
    return problems + _text_overlaps(texts, tol) + _plot_overlaps(texts, plots, tol)


def _placement(mob, frame: "Region", tol: float, keep_free) -> list[str]:
    """A top-level mobject that leaves the frame or enters a region kept free."""
    bbox = visible_bbox(mob)
    if bbox is None:
        return []
    out = []
    if not frame.contains(bbox, tol):
        l, r, b, t = bbox
        out.append(f"{_describe(mob)} leaves the frame: x [{l:.2f}, {r:.2f}], y [{b:.2f}, {t:.2f}]")
    for region in keep_free:
        dx, dy = _overlap(bbox, (region.left, region.right, region.bottom, region.top))
        if dx > tol and dy > tol:
            out.append(f"{_describe(mob)} enters a region kept free (y [{region.bottom:.2f}, {region.top:.2f}])")
    return out


def _text_overlaps(texts, tol: float) -> list[str]:
    out = []
    for i, (a, abox, aok, _) in enumerate(texts):
        for b, bbox, bok, _ in texts[i + 1:] if not aok else ():
            dx, dy = _overlap(abox, bbox)
            if not bok and dx > tol and dy > tol:
                out.append(f"{_describe(a)} overlaps {_describe(b)} ({dx:.2f} × {dy:.2f})")
    return out


def _plot_overlaps(texts, plots, tol: float) -> list[str]:
    out = []
    for owner, area in plots:
        if visible_bbox(owner) is None:  # the whole plot is invisible
            continue
        pbox = (area.get_left()[0], area.get_right()[0], area.get_bottom()[1], area.get_top()[1])
        for t, tbox, ok, owners in texts:
            dx, dy = _overlap(tbox, pbox)
            if not ok and id(owner) not in owners and dx > tol and dy > tol:
                out.append(f"{_describe(t)} overlaps the plot area of {_describe(owner)}")
    return out
