"""A small grey-level image (e.g. an 8×8 handwritten digit) drawn as a grid of squares."""

from __future__ import annotations

import numpy as np
from manim import DOWN, RIGHT, Rectangle, Square, VGroup

from . import theme as T

__all__ = ["PixelImage", "ImageGallery"]


class PixelImage(VGroup):
    """An image of grey levels in [0, 1] as a grid of squares: ink in ``color``, paper the panel colour.

    Parameters
    ----------
    pixels
        ``H × W`` values in [0, 1] (or ``H·W`` of them with ``shape``); 1 is full ink.
    side
        The width of the whole image.

    Examples
    --------
    >>> img = PixelImage([[0, 1], [1, 0]], side=1.0)
    >>> len(img.cells), round(float(img.width), 2)
    (4, 1.0)
    """

    def __init__(self, pixels, *, shape=None, side: float = 1.2, color=None, frame_color=None, **kwargs):
        super().__init__(**kwargs)
        color = T.TEXT if color is None else color  # ink: the theme's text colour, paper: its panel
        frame_color = T.GRID if frame_color is None else frame_color
        a = np.asarray(pixels, dtype=float)
        if shape is not None:
            a = a.reshape(shape)
        if a.ndim != 2 or not a.size:
            raise ValueError(f"pixels must be a non-empty H × W grid, got shape {a.shape}")
        if not np.all(np.isfinite(a)) or a.min() < -1e-9 or a.max() > 1 + 1e-9:
            raise ValueError("pixel values must lie in [0, 1]")
        h, w = a.shape
        cell = side / w
        self.paper = Rectangle(width=side, height=cell * h, stroke_color=frame_color, stroke_width=1.5,
                               fill_color=T.PANEL, fill_opacity=1.0)
        self.cells = VGroup(*[
            Square(side_length=cell, stroke_width=0, fill_color=color, fill_opacity=float(a[r, c]))
            for r in range(h) for c in range(w)
        ])
        x0, y0 = -side / 2 + cell / 2, cell * h / 2 - cell / 2
        for i, sq in enumerate(self.cells):
            r, c = divmod(i, w)
            sq.move_to([x0 + c * cell, y0 - r * cell, 0])
        self.add(self.paper, self.cells)


class ImageGallery(VGroup):
    """Rows of small images, one row per class, with the class name at the left of each row.

    ``images`` is a list of ``H·W`` pixel rows, ``labels`` their classes; each class's
    first ``per_row`` images are shown in the order given.
    """

    def __init__(self, images, labels, class_names, *, shape, per_row: int = 6, side: float = 0.5,
                 gap: float = 0.08, label_size: float = T.LABEL, colors=None, **kwargs):
        super().__init__(**kwargs)
        self.rows = VGroup()
        for k, name in enumerate(class_names):
            mine = [img for img, y in zip(images, labels) if y == k][:per_row]
            if not mine:
                continue
            color = colors[k] if colors is not None else T.TEXT
            pics = VGroup(*[PixelImage(p, shape=shape, side=side) for p in mine]).arrange(RIGHT, buff=gap)
            label = T.text(name, size=label_size, color=color)
            self.rows.add(VGroup(label, pics).arrange(RIGHT, buff=0.2))
        self.rows.arrange(DOWN, buff=gap, aligned_edge=RIGHT)
        self.add(self.rows)
