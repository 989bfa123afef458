"""The distillation loss and the softmax with temperature, set in Text with their parts coloured."""

from __future__ import annotations

from manim import DOWN, LEFT, RIGHT, UP, Line, VGroup

from . import theme as T

__all__ = ["KDLossFormula", "SoftmaxFormula", "markup_parts"]


def markup_parts(chunks, size: float = T.BODY, color=None):
    """One ``MarkupText`` made of ``chunks`` = ``[(markup, key or None), ...]``, and its parts.

    The text is set in one piece (so the baseline and spacing are right) and each keyed
    chunk's glyphs are returned as a ``VGroup`` under its key. Repeated keys collect every
    chunk with that key.

    >>> full, parts = markup_parts([("a + ", None), ("b", "b")])
    >>> len(parts["b"])
    1
    """
    full = T.markup("".join(m for m, _ in chunks), size=size, color=color or T.TEXT)
    glyphs = list(full.submobjects)
    parts: dict[str, VGroup] = {}
    i = 0
    for m, key in chunks:
        n = len(T.markup(m, size=size).submobjects) if m.strip() else 0
        if key is not None:
            parts.setdefault(key, VGroup()).add(*glyphs[i:i + n])
        i += n
    if i != len(glyphs):  # a shaping change across chunk borders would misalign the parts
        raise RuntimeError(f"formula parts cover {i} glyphs but the text has {len(glyphs)}")
    return full, parts


class KDLossFormula(VGroup):
    """ℒ = (1 − α) · CE(y, p_S) + α · τ² · KL(p_T^τ ‖ p_S^τ), its parts coloured by the theme.

    Attributes: ``lhs``, ``hard_term`` (CE, hard-label colour), ``soft_term`` (KL colour),
    ``alpha_parts`` (the "(1 − α)" and the "α"), ``tau_sq`` (τ², temperature colour),
    ``hard_block`` / ``soft_block`` (each weighted term with its weights, e.g. for a brace).

    Examples
    --------
    >>> f = KDLossFormula()
    >>> len(f.alpha_parts), len(f.tau_sq)
    (2, 2)
    """

    CHUNKS = [
        ("ℒ = ", "lhs"),
        ("(1 − α)", "alpha_hard"),
        (" · ", "hard_dot"),
        ("CE(y, p<sub>S</sub>)", "hard_term"),
        (" + ", None),
        ("α", "alpha_soft"),
        (" · ", "soft_dot1"),
        ("τ²", "tau_sq"),
        (" · ", "soft_dot2"),
        ("KL(p<sub>T</sub><sup>τ</sup> ‖ p<sub>S</sub><sup>τ</sup>)", "soft_term"),
    ]

    def __init__(self, *, size: float = T.HEADING, hard_color=None, soft_color=None,
                 tau_color=None, **kwargs):
        super().__init__(**kwargs)
        self.formula, p = markup_parts(self.CHUNKS, size=size)
        self.lhs = p["lhs"]
        self.hard_term = p["hard_term"].set_color(hard_color or T.HARD)
        self.soft_term = p["soft_term"].set_color(soft_color or T.KL)
        self.tau_sq = p["tau_sq"].set_color(tau_color or T.SOFT)
        self.alpha_parts = VGroup(p["alpha_hard"], p["alpha_soft"])
        self.hard_block = VGroup(p["alpha_hard"], p["hard_dot"], p["hard_term"])
        self.soft_block = VGroup(p["alpha_soft"], p["soft_dot1"], p["tau_sq"], p["soft_dot2"], p["soft_term"])
        self.add(self.formula)

    def focus(self, *parts, dim: float = 0.3):
        """Keep the given parts (mobjects from this formula) bright, dim the rest; no parts: all bright. Returns self."""
        keep = {id(m) for part in parts for m in part.family_members_with_points()}
        for g in self.formula.submobjects:
            g.set_opacity(1.0 if not parts or id(g) in keep else dim)
        return self


class SoftmaxFormula(VGroup):
    """p_i = exp(z_i / τ) / Σ_j exp(z_j / τ) as a stacked fraction, every τ in the temperature colour.

    Attributes: ``lhs``, ``numerator``, ``denominator``, ``bar``, ``taus`` (both τ glyphs).

    Examples
    --------
    >>> f = SoftmaxFormula()
    >>> len(f.taus)
    2
    """

    def __init__(self, *, size: float = T.HEADING, tau_color=None, **kwargs):
        super().__init__(**kwargs)
        self.lhs = T.markup("p<sub>i</sub> = ", size=size)
        self.numerator, pn = markup_parts(
            [("exp(z<sub>i</sub> / ", None), ("τ", "tau"), (")", None)], size=size)
        self.denominator, pd = markup_parts(
            [("Σ<sub>j</sub> exp(z<sub>j</sub> / ", None), ("τ", "tau"), (")", None)], size=size)
        self.taus = VGroup(*pn["tau"], *pd["tau"]).set_color(tau_color)
        w = max(self.numerator.width, self.denominator.width) + 0.2
        self.bar = Line(LEFT * w / 2, RIGHT * w / 2, stroke_color=T.TEXT, stroke_width=3)
        self.numerator.next_to(self.bar, UP, buff=0.14)
        self.denominator.next_to(self.bar, DOWN, buff=0.14)
        self.lhs.next_to(self.bar, LEFT, buff=0.2)
        self.add(self.lhs, self.numerator, self.bar, self.denominator)
        self.center()

    def focus(self, *parts, dim: float = 0.3):
        """Keep the given parts bright and dim the rest (no parts: all bright); returns self."""
        keep = {id(m) for part in parts for m in part.family_members_with_points()}
        for m in self.family_members_with_points():
            m.set_opacity(1.0 if not parts or id(m) in keep else dim)
        return self
