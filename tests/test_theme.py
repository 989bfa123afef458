"""The two themes: every text colour readable (WCAG AA), colours only in the theme module, theme in the cache key."""

import re
from pathlib import Path

import pytest

from kdanim.render import ChapterJob, RenderOptions, chapter_key
from kdanim.viz import theme as T

ROOT = Path(__file__).resolve().parent.parent


def luminance(hex_color: str) -> float:
    """WCAG 2 relative luminance of an sRGB colour "#RRGGBB"."""
    channels = [int(hex_color.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_formula_matches_wcag_reference_values():
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)  # the classic just-fails grey


@pytest.mark.parametrize("name", sorted(T.THEMES))
def test_every_text_colour_reads_on_its_background(name):
    theme = T.THEMES[name]
    failures = []
    for key in T.TEXT_COLORS:
        colors = theme[key] if isinstance(theme[key], list) else [theme[key]]
        for c in colors:
            ratio = contrast(c, theme["BACKGROUND"])
            if ratio < 4.5:
                failures.append(f"{key} {c}: {ratio:.2f}:1")
    assert not failures, f"{name} theme, below WCAG AA 4.5:1 on {theme['BACKGROUND']}: {failures}"


def test_both_themes_define_the_same_colours():
    assert set(T.THEMES["dark"]) == set(T.THEMES["light"])
    assert T.THEMES["dark"]["BACKGROUND"] != T.THEMES["light"]["BACKGROUND"]


def test_use_switches_every_colour_and_back():
    try:
        T.use("light")
        assert (T.BACKGROUND, T.TEXT, T.SEMANTIC["kl"]) == (
            T.THEMES["light"]["BACKGROUND"], T.THEMES["light"]["TEXT"], T.THEMES["light"]["KL"])
        assert T.text("x").get_color().to_hex().upper() == T.THEMES["light"]["TEXT"].upper()
        with pytest.raises(ValueError, match="unknown theme"):
            T.use("sepia")
    finally:
        T.use("dark")
    assert T.current() == "dark" and T.TEXT == T.THEMES["dark"]["TEXT"]


COLOUR_LITERAL = re.compile(
    r"#[0-9A-Fa-f]{6}\b|\b(WHITE|BLACK|GRAY|GREY|RED|BLUE|GREEN|YELLOW|ORANGE|PURPLE|PINK|TEAL|GOLD|MAROON)(_[A-E])?\b"
    r"|color=[\"']")


def test_no_colour_literal_outside_the_theme_module():
    found = []
    for folder in ("scenes", "kdanim/viz", "kdanim/lesson"):
        assert (ROOT / folder).is_dir(), folder
        for p in sorted((ROOT / folder).rglob("*.py")):
            if p.name == "theme.py":
                continue
            for n, line in enumerate(p.read_text().splitlines(), 1):
                if COLOUR_LITERAL.search(line):
                    found.append(f"{p.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "colours belong in kdanim/viz/theme.py:\n" + "\n".join(found)


def test_theme_is_part_of_the_chapter_cache_key(rings_trace):
    from kdanim.scenes import SCENES_IN_ORDER

    keys = {chapter_key(ChapterJob(SCENES_IN_ORDER[0], rings_trace, RenderOptions(theme=t), "code"))
            for t in T.THEMES}
    assert len(keys) == len(T.THEMES)


def test_no_default_argument_fixes_a_colour_at_import_time():
    """A default like ``color=T.TEXT`` is read once, at import: it would keep the dark colour in the light theme."""
    import ast

    names = set(T.THEMES["dark"]) | {"SEMANTIC"}
    found = []
    for p in sorted([*(ROOT / "kdanim").rglob("*.py"), *(ROOT / "scenes").rglob("*.py")]):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for d in [*node.args.defaults, *(x for x in node.args.kw_defaults if x)]:
                    if any(isinstance(n, ast.Attribute) and n.attr in names or isinstance(n, ast.Name) and n.id in names
                           for n in ast.walk(d)):
                        found.append(f"{p.relative_to(ROOT)}:{node.lineno} {node.name}({ast.unparse(d)})")
    assert not found, found


def test_a_text_laid_out_once_is_loaded_by_a_later_process_and_hashes_the_same(tmp_path, monkeypatch):
    """With a folder to keep them in, a Text built once is loaded, not laid out again, by a process that
    has not built it (here: this one, its own cache emptied): the same glyphs, and the same to Manim's
    animation cache. Options of types other than plain values are never kept on disk."""
    import numpy as np
    from manim.utils.hashing import get_json

    built = []
    real = T._drop_parsed_paths
    monkeypatch.setattr(T, "_drop_parsed_paths", lambda m: built.append(m.original_text) or real(m))
    monkeypatch.setattr(T, "_TEXT_CACHE", {})
    T.keep_texts_in(tmp_path)
    try:
        first = T.text("τ = 3 · 91.2%", size=T.LABEL, color=T.TEACHER)
        assert built == ["τ = 3 · 91.2%"] and len(list(tmp_path.glob("*.pickle"))) == 1
        T._TEXT_CACHE.clear()  # as a new process starts
        again = T.text("τ = 3 · 91.2%", size=T.LABEL, color=T.TEACHER)
        assert built == ["τ = 3 · 91.2%"], "loaded, not laid out again"
        assert [np.array_equal(a.points, b.points) for a, b in zip(first.get_family(), again.get_family())] == \
            [True] * len(first.get_family()) and len(first.get_family()) == len(again.get_family()) > 5
        assert get_json(first) == get_json(again)
        T.text("τ = 3 · 91.2%", size=T.LABEL, color=T.DISTILLED)
        assert len(built) == 2 and len(list(tmp_path.glob("*.pickle"))) == 2  # another colour, another entry
        T.keep_texts_in(None)
        T._TEXT_CACHE.clear()
        T.text("τ = 3 · 91.2%", size=T.LABEL, color=T.TEACHER)
        assert len(built) == 3, "without a folder, built in the process"
    finally:
        T.keep_texts_in(None)


def test_an_unreadable_kept_text_is_laid_out_again(tmp_path, monkeypatch):
    """A kept Text cut short (a full disk, a killed process) is built again and kept whole."""
    monkeypatch.setattr(T, "_TEXT_CACHE", {})
    T.keep_texts_in(tmp_path)
    try:
        first = T.text("α = 0.5", size=T.LABEL)
        (entry,) = tmp_path.glob("*.pickle")
        entry.write_bytes(entry.read_bytes()[:100])
        T._TEXT_CACHE.clear()
        again = T.text("α = 0.5", size=T.LABEL)
        assert len(again.get_family()) == len(first.get_family()) and entry.stat().st_size > 100
    finally:
        T.keep_texts_in(None)
