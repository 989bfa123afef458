"""One theme for the whole lesson: background, font, font sizes and one colour per quantity."""

from __future__ import annotations

import colorsys
import contextlib
import copy
import hashlib
import pickle
from pathlib import Path

import manimpango
import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Dot, Line, MarkupText, ManimColor, Square, Text, Triangle, VGroup
from manim import __version__ as _MANIM_VERSION

from kdanim.files import atomic_path

__all__ = [
    "BACKGROUND", "FONT", "MONO_FONT",
    "TEACHER", "DISTILLED", "SCRATCH", "HARD", "SOFT", "KL", "SEMANTIC",
    "CLASS_COLORS", "TEXT", "MUTED", "GRID", "PANEL",
    "TITLE", "HEADING", "BODY", "LABEL", "SMALL",
    "THEMES", "TEXT_COLORS", "use", "current", "use_numerals", "numerals", "numeral",
    "text", "keep_texts_in", "markup", "wrapped", "text_row", "legend", "negative_of", "class_color", "MARKERS", "marker",
    "CVD_MATRICES", "MIN_SERIES_DELTA_E", "contrast_ratio", "lab", "delta_e", "min_delta_e",
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


def numerals() -> tuple[str, str]:
    """The decimal mark and thousands separator in use (:func:`use_numerals`)."""
    return _NUMERALS


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


#: Built Text mobjects by their arguments: labels redrawn every frame (values, τ readouts) repeat,
#: and copying a built Text is ~50× cheaper than laying it out and parsing its SVG.
_TEXT_CACHE: dict = {}
_TEXT_CACHE_SIZE = 4096


def _drop_parsed_paths(mob):
    """Let go of the glyphs' parsed SVG paths: read only while a glyph is built, they are most of what
    every copy of a Text copies (the cache's, an animation's: FadeIn and Transform copy their mobject),
    which is 5× cheaper without them. The glyphs' points, which are drawn, stay."""
    for m in mob.get_family():
        if getattr(m, "path_obj", None) is not None:
            m.path_obj = None
    return mob


#: Where built Texts are also kept for other processes and later renders (None: in this process only);
#: the renderer sets it (:func:`keep_texts_in`). Loading one is ~10× cheaper than laying it out again
#: (5 ms against 45 ms for a sentence), and a render where one beat's words changed builds the others anew.
_TEXT_DIR: Path | None = None
#: Bumped when what :func:`text` keeps of a built Text changes: the folder's entries go stale.
_TEXT_VERSION = "1"
_PLAIN = (str, int, float, bool, type(None))


def keep_texts_in(folder) -> None:
    """Keep the Texts :func:`text` builds in ``folder`` as well (None: only in this process)."""
    global _TEXT_DIR
    _TEXT_DIR = None if folder is None else Path(folder)


def _text_file(key: tuple) -> Path | None:
    """Where the Text of ``key`` is kept on disk; None without a folder, or for options of other types
    than plain values (whose repr might not say all they are)."""
    if _TEXT_DIR is None or not all(isinstance(v, _PLAIN) for _, v in key[4]):
        return None
    blob = repr((_TEXT_VERSION, _MANIM_VERSION, manimpango.__version__, FONT, key)).encode()
    return _TEXT_DIR / f"{hashlib.sha256(blob).hexdigest()[:32]}.pickle"


def _built_text(key: tuple, build) -> Text:
    """The Text of ``key`` from the folder of :func:`keep_texts_in`, else ``build()``, then kept there."""
    path = _text_file(key)
    if path is None:
        return build()
    try:
        with path.open("rb") as f:
            got = pickle.load(f)
        if isinstance(got, Text) and got.original_text == key[0]:
            return got
    except Exception:  # noqa: BLE001 - an unreadable entry (cut short, another version's) is built again
        pass
    built = build()
    # kept if it can be, whole or not at all (another process may be writing the same entry)
    with contextlib.suppress(OSError, pickle.PicklingError, AttributeError, TypeError), atomic_path(path) as tmp:
        tmp.write_bytes(pickle.dumps(built, protocol=pickle.HIGHEST_PROTOCOL))
    return built


def text(s: str, size: float = BODY, color=None, weight: str = "NORMAL", **kwargs) -> Text:
    """A ``Text`` in the theme font (a fresh copy of a cached one when seen before)."""
    color = TEXT if color is None else color

    def build():
        return _drop_parsed_paths(Text(s, font=FONT, font_size=size, color=color, weight=weight, **kwargs))

    try:
        key = (s, size, str(color), weight, tuple(sorted(kwargs.items())))
        hash(key)
    except TypeError:  # unhashable options: build it directly
        return build()
    built = _TEXT_CACHE.get(key)
    if built is None:
        if len(_TEXT_CACHE) >= _TEXT_CACHE_SIZE:
            _TEXT_CACHE.clear()
        built = _TEXT_CACHE[key] = _built_text(key, build)
    return copy.deepcopy(built)


#: Per (skeleton, size, colour, weight), where a skeleton is a string with its digits as "#": the digit
#: glyphs of every slot, aligned to the first template's frame ({"slots", "fixed", "base", digit: glyphs}).
_DIGIT_CACHE: dict = {}
_DIGITS = "0123456789"


def _digit_templates(skeleton: str, key: tuple, digits):
    """The cache entry of ``skeleton`` with templates for ``digits`` built; None when glyphs cannot be
    composed (ligatures, no glyph besides the digits to align templates on, templates that disagree)."""
    entry = _DIGIT_CACHE.get(key)
    if entry is None:
        chars = [c for c in skeleton if not c.isspace()]  # one glyph each (checked on the first template)
        slots = [i for i, c in enumerate(chars) if c == "#"]
        fixed = [i for i, c in enumerate(chars) if c != "#"]
        if not slots or not fixed:
            return None
        entry = _DIGIT_CACHE[key] = {"slots": slots, "fixed": fixed, "glyphs": len(chars), "base": None}
    if entry.get("bad"):
        return None
    size, color, weight = key[1:]
    for d in digits:
        if d in entry:
            continue
        t = text(skeleton.replace("#", d), size=size, color=color, weight=weight)
        if len(t.submobjects) != entry["glyphs"]:
            entry["bad"] = True
            return None
        if entry["base"] is None:
            entry["base"] = t
        else:  # align on the fixed glyphs: a Text is centred on its own ink, which the digits change
            base, f = entry["base"], entry["fixed"]
            t.shift(base.submobjects[f[0]].points[0] - t.submobjects[f[0]].points[0])
            if not all(np.allclose(t.submobjects[i].points, base.submobjects[i].points, rtol=0, atol=1e-9) for i in f):
                entry["bad"] = True  # the digits moved the rest (kerning): not composable
                return None
        entry[d] = [t.submobjects[i] for i in entry["slots"]]
    return entry


def digit_text(s: str, size: float = BODY, color=None, weight: str = "NORMAL") -> Text:
    """``text(s, ...)`` for a string of changing digits (a counter, a readout), composed from cached
    glyphs: each digit's glyph is taken from a template of the same string with every digit that digit
    ("Epoch 777 / 777"), so only ten Texts are laid out per arrangement of digits and other characters,
    however many values are shown. The result's points are those of ``text(s, ...)``; where the font
    does not allow it (ligatures, kerning across a digit) it is ``text(s, ...)``."""
    color = TEXT if color is None else color
    skeleton = "".join("#" if c in _DIGITS else c for c in s)
    key = (skeleton, size, str(color), weight)
    entry = _digit_templates(skeleton, key, sorted(set(c for c in s if c in _DIGITS)))
    if entry is None:
        return text(s, size=size, color=color, weight=weight)
    base = entry["base"]
    out = copy.deepcopy(base, {id(m): m for m in base.submobjects})  # the shell; its glyphs replaced below
    glyphs = list(out.submobjects)
    digits = [c for c in s if c in _DIGITS]
    for slot, i, d in zip(range(len(digits)), entry["slots"], digits):
        glyphs[i] = entry[d][slot]
    out.submobjects = [copy.deepcopy(g) for g in glyphs]
    out.center()  # a Text is centred on its ink
    out.original_text = s
    out.text = s.replace(" ", "").replace("\n", "")
    out.chars = VGroup(*out.submobjects)
    return out


def markup(s: str, size: float = BODY, color=None, weight: str = "NORMAL", **kwargs) -> MarkupText:
    """A ``MarkupText`` (Pango markup: <b>, <sub>, <sup>, <span fgcolor=...>) in the theme font."""
    color = TEXT if color is None else color
    return _drop_parsed_paths(MarkupText(s, font=FONT, font_size=size, color=color, weight=weight, **kwargs))


def wrapped(s: str, width: float, size: float = BODY, color=None, buff: float = 0.08) -> VGroup:
    """``s`` as left-aligned lines of ``Text``, broken at spaces so that each fits ``width`` where it can
    (a long sentence keeps its size instead of being shrunk to one line's width)."""
    lines: list[str] = []
    for word in s.split():
        if lines and text(f"{lines[-1]} {word}", size=size).width <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return VGroup(*[text(line, size=size, color=color) for line in lines]).arrange(DOWN, buff=buff, aligned_edge=LEFT)


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


#: The shapes that tell the series of one chart apart besides their colour (in this order).
MARKERS = ("circle", "square", "triangle", "diamond")


def marker(shape: str, color, radius: float = 0.07):
    """A filled marker of ``shape`` (one of :data:`MARKERS`) about ``2 * radius`` across, centred on the origin."""
    if shape == "circle":
        return Dot(radius=radius, color=color, stroke_width=0)
    if shape == "square":
        return Square(side_length=1.7 * radius, stroke_width=0, fill_color=color, fill_opacity=1.0)
    if shape == "triangle":
        return Triangle(stroke_width=0, fill_color=color, fill_opacity=1.0).scale(1.25 * radius)
    if shape == "diamond":
        return Square(side_length=1.6 * radius, stroke_width=0, fill_color=color, fill_opacity=1.0).rotate(0.785398)
    raise ValueError(f"marker shape must be one of {', '.join(MARKERS)}, got {shape!r}")


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


def _luminance(rgb) -> float:
    """WCAG 2 relative luminance of sRGB channels in [0, 1]."""
    c = np.asarray(rgb, dtype=float)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(lin @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(fg, bg) -> float:
    """WCAG 2 contrast ratio of two colours (anything ``ManimColor`` reads, or RGB in [0, 1]).

    >>> round(contrast_ratio("#777777", "#FFFFFF"), 2)
    4.48
    """
    a, b = (_luminance(ManimColor(c).to_rgb() if not isinstance(c, np.ndarray) else c) for c in (fg, bg))
    hi, lo = max(a, b), min(a, b)
    return (hi + 0.05) / (lo + 0.05)


# -- telling colours apart: CIE L*a*b* distance, also as colour-blind viewers see ----------------------

#: Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation of color vision
#: deficiency", severity 1.0: linear-RGB matrices of protanopia and deuteranopia (together about 6% of men).
CVD_MATRICES = {
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
}
#: The smallest CIE76 ΔE two series of one chart may be apart, in normal vision and in every CVD_MATRICES
#: simulation, unless their markers differ (about the distance of two clearly different named colours).
MIN_SERIES_DELTA_E = 20.0


def _linear(rgb):
    c = np.asarray(rgb, dtype=float)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def lab(color, vision: str = "normal"):
    """CIE L*a*b* (D65) of ``color`` as seen with ``vision`` ("normal" or a key of CVD_MATRICES)."""
    rgb = _linear(ManimColor(color).to_rgb())
    if vision != "normal":
        rgb = np.clip(np.asarray(CVD_MATRICES[vision]) @ rgb, 0.0, 1.0)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ rgb
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a, b, vision: str = "normal") -> float:
    """CIE76 colour difference of ``a`` and ``b`` (Euclidean in L*a*b*) as seen with ``vision``.

    >>> round(delta_e("#FF0000", "#00FF00"))
    171
    """
    return float(np.linalg.norm(lab(a, vision) - lab(b, vision)))


def min_delta_e(a, b) -> float:
    """The smallest ΔE of ``a`` and ``b`` over normal vision and the simulated protanopia and deuteranopia."""
    return min(delta_e(a, b, v) for v in ("normal", *CVD_MATRICES))
