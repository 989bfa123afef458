"""A layered node diagram of an MLP whose edges show trained weights and nodes show activations."""

from __future__ import annotations

import numpy as np
from manim import (
    DOWN, Animation, AnimationGroup, Circle, Line, Succession, VGroup, interpolate,
)
from manim.utils.rate_functions import there_and_back, smooth

from ..trace import MAX_GROUPS
from . import theme as T

__all__ = ["NetworkDiagram", "display_groups"]


def display_groups(width: int, n_groups: int, max_nodes: int) -> tuple[list[int], bool]:
    """Which display group each drawn node stands for, and whether the layer is elided.

    A layer of ``width`` units summarised in ``n_groups`` groups is drawn with one node per
    unit if it fits in ``max_nodes``; otherwise with ``max_nodes − 1`` nodes (the first
    ``max_nodes − 2`` spread over the groups, then the last group) and an elision mark.

    >>> display_groups(5, 5, 8)
    ([0, 1, 2, 3, 4], False)
    >>> display_groups(228, 8, 8)
    ([0, 1, 2, 3, 4, 5, 7], True)
    """
    if width <= max_nodes:
        return [j * n_groups // width for j in range(width)], False
    head = max_nodes - 2
    return [i * (n_groups - 1) // max(head, 1) for i in range(head)] + [n_groups - 1], True


class _NodeFill(Animation):
    """Fade each node's fill opacity from its current value to a target value."""

    def __init__(self, nodes: VGroup, targets, **kwargs):
        self.targets = np.asarray(targets, dtype=float)
        super().__init__(nodes, **kwargs)

    def begin(self):
        self.starts = np.array([n.get_fill_opacity() for n in self.mobject])
        super().begin()

    def interpolate_mobject(self, alpha: float):
        a = self.rate_func(alpha)
        for node, s, t in zip(self.mobject, self.starts, self.targets):
            node.set_fill(opacity=interpolate(s, t, a))


class _EdgePulse(Animation):
    """Brighten and thicken each edge by its own ``boost`` (0..1), then return to rest."""

    def __init__(self, edges: VGroup, boosts, **kwargs):
        self.boosts = np.clip(np.asarray(boosts, dtype=float), 0.0, 1.0)
        kwargs.setdefault("rate_func", there_and_back)
        super().__init__(edges, **kwargs)

    def begin(self):
        self.base = [(e.get_stroke_width(), e.get_stroke_opacity()) for e in self.mobject]
        super().begin()

    def interpolate_mobject(self, alpha: float):
        a = self.rate_func(alpha)
        for e, (w, o), b in zip(self.mobject, self.base, self.boosts):
            e.set_stroke(width=w + 4.0 * b * a, opacity=o + (1.0 - o) * b * a)

    def finish(self):
        super().finish()
        for e, (w, o) in zip(self.mobject, self.base):
            e.set_stroke(width=w, opacity=o)


class NetworkDiagram(VGroup):
    """Nodes per layer, edges coloured by the sign and weighted by the size of trained weights.

    Parameters
    ----------
    layers
        Widths including input and output, e.g. ``[64, 228, 228, 228, 5]``.
    weights
        Optional list of ``len(layers) − 1`` matrices ``G_l × G_{l+1}`` of group-mean signed
        weights (``G_l = min(width_l, MAX_GROUPS)``, 8), as in the trace's ``networks.*.weights``.
        Positive edges take ``color``, negative ones its muted complement; opacity and
        stroke width grow with ``|w| / scale``.
    weight_scale
        Per layer-pair value of ``|w|`` drawn at full strength. None (default) uses the
        largest ``|w|`` of each matrix, so every pair shows its own structure. (Group means
        are much smaller than the trace's ``weight_scale`` mean ``|w|``.)
    color
        The model's colour (e.g. ``T.TEACHER``).
    max_nodes
        Layers wider than this are drawn with ``max_nodes − 1`` nodes and a "⋮".
    width, height
        Size of the node grid (labels and caption come below it).
    caption
        Optional line under the diagram, e.g. ``"3 hidden layers · 120,448 params"``.

    Examples
    --------
    >>> net = NetworkDiagram([64, 228, 5], caption="1 hidden layer")
    >>> len(net.layers_groups), len(net.edges)
    (3, 2)
    >>> _ = net.set_activations([[0.1] * 8, [0.5] * 8, [0.2] * 5])
    """

    def __init__(
        self,
        layers,
        weights=None,
        weight_scale=None,
        *,
        color=None,
        max_nodes: int = 8,
        width: float = 5.0,
        height: float = 3.2,
        node_radius: float | None = None,
        caption: str | None = None,
        label_size: float = T.SMALL,
        caption_size: float = T.LABEL,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.layer_sizes = [int(n) for n in layers]
        if len(self.layer_sizes) < 2 or min(self.layer_sizes) < 1:
            raise ValueError(f"layers must list at least two positive widths, got {layers!r}")
        if max_nodes < 3:
            raise ValueError(f"max_nodes must be at least 3, got {max_nodes}")
        self.n_groups = [min(n, MAX_GROUPS) for n in self.layer_sizes]
        self.color = color = color or T.TEACHER
        self.negative_color = T.negative_of(color)
        self.max_nodes = max_nodes
        self.node_radius = node_radius or min(0.13, height / (max_nodes * 2.6))
        self.weights = self._check_weights(weights)
        self.weight_scale = weight_scale
        self.node_groups: list[list[int]] = []
        self.elided: list[bool] = []
        self._build_nodes(width, height)
        self.edges = self._build_edges()
        self.labels = self._build_labels(label_size)
        self.add(self.edges, self.layers_groups, self.elisions, self.labels)
        self.plot_area = self.layers_groups  # foreign text must not cover the node grid
        self.caption = None
        if caption:
            self.caption = T.text(caption, size=caption_size, color=T.MUTED)
            self.caption.next_to(self.labels, DOWN, buff=0.2)
            self.add(self.caption)

    # ------------------------------------------------------------------ building
    def _check_weights(self, weights):
        if weights is None:
            return None
        if len(weights) != len(self.layer_sizes) - 1:
            raise ValueError(f"weights: expected {len(self.layer_sizes) - 1} matrices, got {len(weights)}")
        out = []
        for l, w in enumerate(weights):
            w = np.asarray(w, dtype=float)
            want = (self.n_groups[l], self.n_groups[l + 1])
            if w.shape != want:
                raise ValueError(f"weights[{l}]: expected shape {want}, got {w.shape}")
            if not np.all(np.isfinite(w)):
                raise ValueError(f"weights[{l}]: non-finite values")
            out.append(w)
        return out

    def _build_nodes(self, width, height):
        L = len(self.layer_sizes)
        xs = np.linspace(-width / 2, width / 2, L)
        slot = height / self.max_nodes
        self.layers_groups = VGroup()
        self.elisions = VGroup()
        for l, n in enumerate(self.layer_sizes):
            groups, elided = display_groups(n, self.n_groups[l], self.max_nodes)
            self.node_groups.append(groups)
            self.elided.append(elided)
            rows = len(groups) + (1 if elided else 0)
            ys = (np.arange(rows)[::-1] - (rows - 1) / 2) * slot
            if elided:  # the last node sits below the elision mark
                ys = np.concatenate([ys[: len(groups) - 1], ys[-1:]])
            nodes = VGroup(*[
                Circle(radius=self.node_radius, stroke_color=self.color, stroke_width=2,
                       fill_color=self.color, fill_opacity=0.08).move_to([xs[l], y, 0])
                for y in ys
            ])
            self.layers_groups.add(nodes)
            if elided:
                mark = T.text("⋮", size=T.LABEL, color=T.MUTED)
                mark.move_to([xs[l], (ys[-2] + ys[-1]) / 2, 0])
                self.elisions.add(mark)

    def _strength(self, l: int) -> np.ndarray:
        """|w| / scale for the drawn node pairs of layer pair ``l``, clipped to [0, 1]."""
        w = self.weights[l][np.ix_(self.node_groups[l], self.node_groups[l + 1])]
        if self.weight_scale is not None:
            scale = float(self.weight_scale[l])
        else:
            scale = float(np.abs(self.weights[l]).max())
        return np.clip(np.abs(w) / max(scale, 1e-12), 0.0, 1.0)

    def _build_edges(self) -> VGroup:
        edges = VGroup()
        for l in range(len(self.layer_sizes) - 1):
            a_nodes, b_nodes = self.layers_groups[l], self.layers_groups[l + 1]
            if self.weights is not None:
                w = self.weights[l][np.ix_(self.node_groups[l], self.node_groups[l + 1])]
                s = self._strength(l)
            pair = VGroup()
            for i, a in enumerate(a_nodes):
                for j, b in enumerate(b_nodes):
                    line = Line(a.get_center(), b.get_center(), buff=self.node_radius)
                    if self.weights is None:
                        line.set_stroke(T.MUTED, width=1.0, opacity=0.35)
                    else:
                        c = self.color if w[i, j] >= 0 else self.negative_color
                        line.set_stroke(c, width=0.4 + 3.2 * s[i, j], opacity=0.06 + 0.9 * s[i, j])
                    pair.add(line)
            edges.add(pair)
        return edges

    def _build_labels(self, size) -> VGroup:
        bottom = min(g.get_bottom()[1] for g in self.layers_groups)
        labels = VGroup()
        for nodes, n in zip(self.layers_groups, self.layer_sizes):
            lab = T.text(T.numeral(f"{n:,}"), size=size, color=T.MUTED)
            lab.move_to([nodes.get_center()[0], bottom - 0.1 - lab.height / 2, 0])
            labels.add(lab)
        return labels

    # ------------------------------------------------------------------ data -> looks
    def _node_levels(self, acts) -> list[np.ndarray]:
        """Per layer, the drawn nodes' activations scaled to 0..1 within the layer."""
        if len(acts) != len(self.layer_sizes):
            raise ValueError(f"activations: expected {len(self.layer_sizes)} layers, got {len(acts)}")
        out = []
        for l, a in enumerate(acts):
            a = np.asarray(a, dtype=float)
            if a.shape != (self.n_groups[l],):
                raise ValueError(f"activations[{l}]: expected {self.n_groups[l]} values, got shape {a.shape}")
            lo = min(0.0, float(a.min()))
            span = float(a.max()) - lo
            v = (a - lo) / span if span > 1e-12 else np.zeros_like(a)
            out.append(v[self.node_groups[l]])
        return out

    @staticmethod
    def _opacity(v):
        return 0.08 + 0.9 * np.asarray(v)

    def set_activations(self, acts):
        """Light each node by its group's activation (normalised per layer); returns self."""
        for nodes, v in zip(self.layers_groups, self._node_levels(acts)):
            for node, o in zip(nodes, self._opacity(v)):
                node.set_fill(opacity=float(o))
        return self

    def clear_activations(self):
        """Return every node to its resting fill; returns self."""
        for nodes in self.layers_groups:
            nodes.set_fill(opacity=0.08)
        return self

    def forward_pass_animation(self, acts, run_time: float = 3.0) -> Animation:
        """Light the layers one after another by ``acts``, pulsing each layer pair's edges.

        Each edge pulses in proportion to ``strength(|w|) × source-node activation``, so the
        signal visibly flows through the strong weights of active nodes. Ends in the state
        of ``set_activations(acts)``.
        """
        levels = self._node_levels(acts)
        L = len(self.layer_sizes)
        step = run_time / L
        steps = [_NodeFill(self.layers_groups[0], self._opacity(levels[0]), run_time=step, rate_func=smooth)]
        for l in range(L - 1):
            if self.weights is not None:
                s = self._strength(l)
            else:
                s = np.full((len(self.node_groups[l]), len(self.node_groups[l + 1])), 0.6)
            boosts = (s * levels[l][:, None]).ravel()
            steps.append(AnimationGroup(
                _EdgePulse(self.edges[l], boosts, run_time=step),
                _NodeFill(self.layers_groups[l + 1], self._opacity(levels[l + 1]),
                          run_time=step * 0.6, rate_func=smooth),
                lag_ratio=0.4,
            ))
        return Succession(*steps, run_time=run_time)
