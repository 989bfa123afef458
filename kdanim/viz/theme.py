"""One theme for the whole lesson: background, font, font sizes and one colour per quantity."""

from __future__ import annotations

import colorsys

from manim import DOWN, LEFT, RIGHT, UP, Dot, Line, MarkupText, ManimColor, Square, Text, VGroup

__all__ = [
    "BACKGROUND", "FONT", "MONO_FONT",
    "TEACHER", "DISTILLED", "SCRATCH", "HARD", "SOFT", "KL", "SEMANTIC",
    "CLASS_COLORS", "TEXT", "MUTED", "GRID", "PANEL",
    "TITLE", "HEADING", "BODY", "LABEL", "SMALL",
    "THEMES", "TEXT_COLORS", "use", "current", "use_numerals", "numeral",
    "text", "markup", "text_row", "legend", "negative_of", "class_color",
]

# DejaVu Sans is installed everywhere fontconfig is, and has α τ ‖ ² ⋮ Σ.
FONT = "DejaVu Sans"
MONO_FONT = "DejaVu Sans Mono"

#: Every colour of the lesson, per theme. Semantic colours: one per quantity, never reused
#: for another meaning (teacher gold, distilled mint, scratch violet, hard labels coral red,
#: soft labels and τ sky blue, KL lime). Class colours: animals (cat, dog, fox) in an earthy
#: warm family, vehicles (car, truck) in a cool one. PANEL is a slightly lifted background.
#: The light theme (projectors, handouts) darkens every hue so that text in any of these
#: colours keeps a WCAG contrast of at least 4.5:1 on its background (tests/test_theme.py).
THEMES = {
    "dark": {
        "BACKGROUND": "#0F1117", "TEXT": "#F1F3F5", "MUTED": "#8B93A1", "GRID": "#343A46",
        "PANEL": "#181C25",
        "TEACHER": "#FCC419", "DISTILLED": "#38D9A9", "SCRATCH": "#9775FA", "HARD": "#FF6B6B",
        "SOFT": "#4DABF7", "KL": "#A9E34B",
        "CLASS_COLORS": ["#E8A87C", "#B9835A", "#E2703A", "#5C7CFA", "#7FC8D6",
                         "#F783AC", "#CED4DA", "#3BC9DB", "#E599F7", "#94D82D"],  # + five for ten classes (digits)
        "NEGATIVE_VALUE": 0.85,  # brightness of the muted complement drawn for negative weights
    },
    "light": {
        "BACKGROUND": "#F8F9FA", "TEXT": "#1B1F24", "MUTED": "#5A6270", "GRID": "#CED4DA",
        "PANEL": "#EEF0F3",
        "TEACHER": "#946200", "DISTILLED": "#087F5B", "SCRATCH": "#6741D9", "HARD": "#C92A2A",
        "SOFT": "#1864AB", "KL": "#47720A",
        "CLASS_COLORS": ["#A4501C", "#7D5230", "#BF400B", "#3B5BDB", "#0B7285",
                         "#C2255C", "#495057", "#0B7A8A", "#862E9C", "#2B7A3A"],
        "NEGATIVE_VALUE": 0.6,
    },
}
#: The theme entries that are used as text colours (each must read on BACKGROUND).
TEXT_COLORS = ("TEXT", "MUTED", "TEACHER", "DISTILLED", "SCRATCH", "HARD", "SOFT", "KL", "CLASS_COLORS")

BACKGROUND = TEXT = MUTED = GRID = PANEL = ""
TEACHER = DISTILLED = SCRATCH = HARD = SOFT = KL = ""
CLASS_COLORS: list[str] = []
SEMANTIC: dict[str, str] = {}
_NEGATIVE_VALUE = 0.85
_CURRENT = "dark"


def use(name: str) -> None:
    """Switch every colour of this module to the theme ``name`` ("dark" or "light").

    Code reads the colours as ``theme.TEXT`` etc. when it draws, so a chapter set up
    after this call is drawn in the new theme.
    """
    global BACKGROUND, TEXT, MUTED, GRID, PANEL, TEACHER, DISTILLED, SCRATCH, HARD, SOFT, KL
    global CLASS_COLORS, SEMANTIC, _NEGATIVE_VALUE, _CURRENT
    if name not in THEMES:
        raise ValueError(f"unknown theme {name!r}: choose one of {', '.join(THEMES)}")
    t = THEMES[name]
    BACKGROUND, TEXT, MUTED, GRID, PANEL = (t[k] for k in ("BACKGROUND", "TEXT", "MUTED", "GRID", "PANEL"))
    TEACHER, DISTILLED, SCRATCH, HARD, SOFT, KL = (
        t[k] for k in ("TEACHER", "DISTILLED", "SCRATCH", "HARD", "SOFT", "KL"))
    CLASS_COLORS = list(t["CLASS_COLORS"])
    SEMANTIC = {"teacher": TEACHER, "distilled": DISTILLED, "scratch": SCRATCH,
                "hard": HARD, "soft": SOFT, "kl": KL}
    _NEGATIVE_VALUE = t["NEGATIVE_VALUE"]
    _CURRENT = name


def current() -> str:
    """The name of the theme in use."""
    return _CURRENT


#: The decimal mark and thousands separator numbers drawn by the components are written with (the
#: lesson's language: "," and "." in German); set per chapter like the theme.
_NUMERALS = (".", ",")


def use_numerals(decimal: str = ".", group: str = ",") -> None:
    """Write the numbers the components draw (ticks, table cells, layer sizes) with these symbols."""
    global _NUMERALS
    _NUMERALS = (decimal, group)


def numeral(s: str) -> str:
    """A number as Python writes it ("1,234.5", "0.01") in the symbols of :func:`use_numerals` ("1.234,5")."""
    decimal, group = _NUMERALS
    if (decimal, group) == (".", ","):
        return s
    return "".join(decimal if c == "." else group if c == "," else c for c in str(s))


use("dark")

# Font sizes (Manim font_size units). At 854×480 the cap height of SMALL is ~12 px,
# the smallest that stays readable; nothing in the video is set smaller.
TITLE = 52
HEADING = 38
BODY = 30
LABEL = 24
SMALL = 20


#: Built Text mobjects by their arguments: labels redrawn every frame (values, τ readouts)
#: repeat, and copying a built Text is ~50× cheaper than laying it out and parsing its SVG.
_TEXT_CACHE: dict = {}
_TEXT_CACHE_SIZE = 4096


def text(s: str, size: float = BODY, color=None, weight: str = "NORMAL", **kwargs) -> Text:
    """A ``Text`` in the theme font (a fresh copy of a cached one when seen before)."""
    color = TEXT if color is None else color
    try:
        key = (s, size, str(color), weight, tuple(sorted(kwargs.items())))
        hash(key)
    except TypeError:  # unhashable options: build it directly
        return Text(s, font=FONT, font_size=size, color=color, weight=weight, **kwargs)
    cached = _TEXT_CACHE.get(key)
    if cached is None:
        if len(_TEXT_CACHE) >= _TEXT_CACHE_SIZE:
            _TEXT_CACHE.clear()
        cached = _TEXT_CACHE[key] = Text(s, font=FONT, font_size=size, color=color, weight=weight, **kwargs)
    return cached.copy()


def markup(s: str, size: float = BODY, color=None, weight: str = "NORMAL", **kwargs) -> MarkupText:
    """A ``MarkupText`` (Pango markup: <b>, <sub>, <sup>, <span fgcolor=...>) in the theme font."""
    color = TEXT if color is None else color
    return MarkupText(s, font=FONT, font_size=size, color=color, weight=weight, **kwargs)


def text_row(strings, size: float = BODY, color=None, colors=None, **kwargs) -> list[Text]:
    """``Text`` objects that share one baseline, whatever their ascenders and descenders.

    Each is placed where it sits in one line made of all of them, with that line centred on
    the origin; move them sideways (``set_x``) or all together, and they stay aligned.
    """
    strings = [str(s) for s in strings]
    color = TEXT if color is None else color
    colors = list(colors) if colors is not None else [color] * len(strings)
    line = text("   ".join(strings), size=size, **kwargs)
    glyphs, i, out = line.submobjects, 0, []
    for s, c in zip(strings, colors):
        t = text(s, size=size, color=c, **kwargs)
        n = len(t.submobjects)
        if n:
            part = glyphs[i:i + n]
            lo = min(g.get_bottom()[1] for g in part)
            t.shift(UP * (lo - t.get_bottom()[1]))
        i += n
        out.append(t)
    if i != len(glyphs):  # shaping differed between the line and its words: fall back to centring
        for t in out:
            t.set_y(0)
        return out
    for t in out:
        t.shift(UP * -line.get_center()[1])
    return out


def negative_of(color, saturation: float = 0.35, value: float | None = None) -> str:
    """The muted complementary hue of ``color``: used for negative weights drawn next to it."""
    value = _NEGATIVE_VALUE if value is None else value
    r, g, b = ManimColor(color).to_rgb()
    h, _, _ = colorsys.rgb_to_hsv(r, g, b)
    r, g, b = colorsys.hsv_to_rgb((h + 0.5) % 1.0, saturation, value)
    return ManimColor.from_rgb((r, g, b)).to_hex()


def class_color(k: int) -> str:
    """Colour of class ``k`` (cycles if there are more classes than colours)."""
    return CLASS_COLORS[k % len(CLASS_COLORS)]


def legend(entries, *, kind: str = "square", size: float = LABEL, direction: str = "row",
           gap: float = 0.4, pitch: float | None = None) -> VGroup:
    """A colour key: ``entries`` = ``[(name, colour), ...]``, each a swatch and its name.

    ``kind`` is the swatch ("square", "line" or "dot"); ``direction`` "row" or "column".
    Names share a baseline in a row and have an even pitch in a column. Each entry is a
    ``VGroup(swatch, Text)``.
    """
    if kind not in ("square", "line", "dot"):
        raise ValueError(f"legend kind must be square, line or dot, got {kind!r}")
    if direction not in ("row", "column"):
        raise ValueError(f"legend direction must be row or column, got {direction!r}")
    labels = text_row([n for n, _ in entries], size=size)
    h = text("Hg", size=size).height
    out = VGroup()
    for i, ((_, c), lab) in enumerate(zip(entries, labels)):
        if kind == "square":
            sw = Square(side_length=0.55 * h, stroke_width=0, fill_color=c, fill_opacity=0.9)
        elif kind == "line":
            sw = Line(LEFT * 0.2, RIGHT * 0.2, stroke_color=c, stroke_width=5)
        else:
            sw = Dot(radius=0.28 * h, color=c, stroke_width=0)
        lab.set_x(0, direction=LEFT)
        lab.shift(RIGHT * (sw.width + 0.12))
        sw.move_to([sw.width / 2, 0, 0])
        out.add(VGroup(sw, lab))
    if direction == "row":
        x = 0.0
        for e in out:
            e.shift(RIGHT * (x - e.get_left()[0]))
            x = e.get_right()[0] + gap
    else:
        step = pitch or h * 1.45
        for i, e in enumerate(out):
            e.shift(DOWN * i * step)
    return out.center()
