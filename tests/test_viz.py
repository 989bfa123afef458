"""Tests of kdanim.viz on fixed data: geometry after mutators, layout checks and low-res renders."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from manim import DOWN, LEFT, RIGHT, UP, Dot, Scene, Square, VGroup, tempconfig
from manim import ManimColor

from kdanim import viz
from kdanim.viz import (
    AccuracyParamsPlot, ComparedBars, CurvePlot, DataScatter, EpochCounter, KDLossFormula,
    NetworkDiagram, ProbabilityBars, Region, ResultsTable, SoftmaxFormula, check_layout, fit_in, regions,
)
from kdanim.viz import theme as T

NAMES = ["cat", "dog", "fox", "car", "truck"]
P = [0.62, 0.25, 0.08, 0.03, 0.02]
TEACHER_LAYERS = [64, 228, 228, 228, 5]


def weights_for(layers, seed):
    rng = np.random.default_rng(seed)
    g = [min(n, 8) for n in layers]
    return [rng.normal(0.0, 0.05, (g[l], g[l + 1])) for l in range(len(layers) - 1)]


def acts_for(layers):
    g = [min(n, 8) for n in layers]
    return [np.linspace(0.0, 1.0, k) for k in g]  # increasing down each layer


def rgb(color):
    return np.array(ManimColor(color).to_rgb())


# ------------------------------------------------------------------------------- theme
@pytest.fixture(params=sorted(T.THEMES))
def each_theme(request):
    T.use(request.param)
    yield request.param
    T.use("dark")


def test_semantic_and_class_colours_are_distinct(each_theme):
    semantic = [T.TEACHER, T.DISTILLED, T.SCRATCH, T.HARD, T.SOFT, T.KL]
    assert len({c.upper() for c in semantic}) == 6
    assert len({c.upper() for c in T.CLASS_COLORS}) == 5
    assert not {c.upper() for c in semantic} & {c.upper() for c in T.CLASS_COLORS}
    # every semantic colour stands out from the background
    for c in semantic + T.CLASS_COLORS:
        assert np.abs(rgb(c) - rgb(T.BACKGROUND)).sum() > 0.6


def test_sizes_are_legible_and_ordered():
    assert T.TITLE > T.HEADING > T.BODY > T.LABEL > T.SMALL >= 20
    # cap height of the smallest size at 854×480 (60 px per unit at frame height 8)
    assert T.text("H", size=T.SMALL).height * 480 / 8 >= 10


@pytest.mark.skipif(shutil.which("fc-list") is None, reason="no fontconfig")
def test_theme_font_is_installed():
    families = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True).stdout
    assert T.FONT in families


def test_text_row_shares_a_baseline():
    a, b = T.text_row(["gas", "kit"], size=T.LABEL)
    # "gas" hangs below the baseline and "kit" rises above it: their centres differ,
    # but "a" and "i" sit on the same line
    assert a[1].get_bottom()[1] == pytest.approx(b[1].get_bottom()[1], abs=0.01)
    assert a.get_center()[1] < b.get_center()[1] - 0.05


# ------------------------------------------------------------------------------ layout
def test_regions_follow_the_frame_and_keep_caption_space():
    R = regions(14.222, 8.0)
    assert R.caption_safe.height == pytest.approx(0.96)
    assert R.footer.bottom >= R.caption_safe.top - 1e-9
    assert R.body.bottom >= R.footer.top and R.body.top <= R.title.bottom
    assert R.left.right < R.right.left
    assert R.frame.contains((R.title.left, R.title.right, R.title.bottom, R.title.top))
    wide = regions(20.0, 8.0)
    assert wide.body.width > R.body.width


def test_fit_in_only_scales_down():
    big, small = Square(side_length=20), Square(side_length=0.5)
    box = Region(-2, 2, -1, 1)
    fit_in(big, box, buff=0.1)
    fit_in(small, box, buff=0.1)
    assert big.height == pytest.approx(1.8) and small.height == pytest.approx(0.5)
    assert box.contains((big.get_left()[0], big.get_right()[0], big.get_bottom()[1], big.get_top()[1]))
    fit_in(small, box, buff=0.1, aligned_edge=UP)
    assert small.get_top()[1] == pytest.approx(0.9)


def test_check_layout_finds_problems_and_respects_exemptions():
    a = T.text("overlapping").move_to(ORIGIN_ := np.zeros(3))
    b = T.text("overlapping").move_to(ORIGIN_ + RIGHT * 0.3)
    off = T.text("off the frame").move_to(RIGHT * 9)
    probs = check_layout([a, b, off])
    assert any("overlaps" in p for p in probs)
    assert any("leaves the frame" in p for p in probs)
    b.set_opacity(0)  # invisible text is ignored
    assert check_layout([a, b]) == []
    b.set_opacity(1)
    b.allow_overlap = True
    assert check_layout([a, b]) == []
    low = T.text("subtitle zone").move_to(DOWN * 3.7)
    assert check_layout([low]) == []
    assert "kept free" in check_layout([low], keep_free=[regions().caption_safe])[0]
    group = VGroup(VGroup(T.text("x").move_to(ORIGIN_)), T.text("y").move_to(ORIGIN_))  # nested leaves
    assert len(check_layout([group])) == 1


def test_check_layout_flags_foreign_text_over_a_plot():
    plot = CurvePlot(10, series={"hard": (np.linspace(1.0, 0.2, 10), T.HARD)})
    assert check_layout([plot]) == []
    intruder = T.text("note").move_to(plot.plot_area.get_center())
    assert any("plot area" in p for p in check_layout([plot, intruder]))


# ----------------------------------------------------------------------------- network
def test_network_elides_wide_layers_and_labels_widths():
    net = NetworkDiagram(TEACHER_LAYERS, weights_for(TEACHER_LAYERS, 0))
    assert [len(g) for g in net.layers_groups] == [7, 7, 7, 7, 5]
    assert len(net.elisions) == 4 and all(e.original_text == "⋮" for e in net.elisions)
    assert [l.original_text for l in net.labels] == ["64", "228", "228", "228", "5"]
    assert [len(e) for e in net.edges] == [49, 49, 49, 35]
    small = NetworkDiagram([4, 6, 3])
    assert [len(g) for g in small.layers_groups] == [4, 6, 3] and len(small.elisions) == 0


def _edge_looks(net):
    return np.array([[e.get_stroke_width(), e.get_stroke_opacity(), *e.get_stroke_color().to_rgb()]
                     for pair in net.edges for e in pair])


def test_network_edges_follow_the_weights():
    layers = [5, 6, 3]
    w = [np.array([[(-1) ** (i + j) * (i + 1) * (j + 1) for j in range(6)] for i in range(5)], float),
         np.linspace(-1, 1, 18).reshape(6, 3)]
    net = NetworkDiagram(layers, w)
    other = NetworkDiagram(layers, [-w[0], w[1][::-1].copy()])
    assert not np.allclose(_edge_looks(net), _edge_looks(other))
    e = net.edges[0]
    # strongest |w| (4, 5) → widest edge; sign picks the colour
    widths = np.array([x.get_stroke_width() for x in e]).reshape(5, 6)
    assert np.unravel_index(widths.argmax(), widths.shape) == (4, 5)
    assert e[0].get_stroke_color().to_hex() == ManimColor(T.TEACHER).to_hex()  # w[0,0] = +1
    assert e[1].get_stroke_color().to_hex() == ManimColor(T.negative_of(T.TEACHER)).to_hex()  # w[0,1] < 0
    with pytest.raises(ValueError, match=r"weights\[0\]"):
        NetworkDiagram(layers, [w[0][:, :5], w[1]])


def test_network_activations_and_forward_pass():
    net = NetworkDiagram(TEACHER_LAYERS, weights_for(TEACHER_LAYERS, 1))
    acts = acts_for(TEACHER_LAYERS)
    net.set_activations(acts)
    out = [n.get_fill_opacity() for n in net.layers_groups[-1]]
    assert out == sorted(out) and out[-1] > 0.9 and out[0] < 0.1
    target = [n.get_fill_opacity() for g in net.layers_groups for n in g]
    net.clear_activations()
    anim = net.forward_pass_animation(acts, run_time=2.0)
    base = [np.array([e.get_stroke_width() for e in p]) for p in net.edges]
    anim._setup_scene(Scene())  # what Scene.play does before begin()
    anim.begin()
    extra = []  # per time step, per layer pair: how much thicker each edge is than at rest
    for a in np.linspace(0, 1, 41):
        anim.interpolate(a)
        extra.append([np.array([e.get_stroke_width() for e in p]) - b for p, b in zip(net.edges, base)])
    peaks = [int(np.argmax([step[l].sum() for step in extra])) for l in range(len(net.edges))]
    assert peaks == sorted(peaks) and len(set(peaks)) == len(peaks)  # the signal travels layer by layer
    l = 1
    at_peak = extra[peaks[l]][l].reshape(7, 7)
    drive = net._strength(l) * np.asarray(acts[l])[net.node_groups[l]][:, None]  # |w| × source activation
    assert np.unravel_index(at_peak.argmax(), at_peak.shape) == np.unravel_index(drive.argmax(), drive.shape)
    assert np.allclose(at_peak[0], 0)  # the first node's activation is 0: its edges stay at rest
    anim.interpolate(1.0)
    anim.finish()
    assert [n.get_fill_opacity() for g in net.layers_groups for n in g] == pytest.approx(target)
    assert [e.get_stroke_width() for e in net.edges[1]] == pytest.approx(base[1])
    with pytest.raises(ValueError, match="activations"):
        net.set_activations(acts[:-1])


# -------------------------------------------------------------------------------- bars
def _heights(bars):
    return np.array([b.height for b in bars])


def test_probability_bars_heights_and_labels():
    bars = ProbabilityBars(P, NAMES, max_height=2.0)
    assert _heights(bars.bars) == pytest.approx(np.array(P) * 2.0, abs=2e-3)
    q = [0.1, 0.2, 0.3, 0.25, 0.15]
    bars.set_values(q)
    assert _heights(bars.bars) == pytest.approx(np.array(q) * 2.0, abs=2e-3)
    assert [l.original_text for l in bars.value_labels] == ["0.10", "0.20", "0.30", "0.25", "0.15"]
    base = bars.baseline.get_center()[1]
    assert all(b.get_bottom()[1] == pytest.approx(base) for b in bars.bars)
    for lab, b in zip(bars.value_labels, bars.bars):
        assert lab.get_bottom()[1] > b.get_top()[1]
    with pytest.raises(ValueError, match="probs"):
        bars.set_values([0.5, 0.5])


def test_probability_bars_animate_smoothly_and_after_moving():
    bars = ProbabilityBars(P, NAMES, max_height=2.0).scale(0.5).shift(LEFT * 2)
    q = [0.2] * 5
    anim = bars.animate(rate_func=lambda t: t).set_values(q).build()
    anim.begin()
    seen = []
    for a in (0.0, 0.25, 0.5, 0.75, 1.0):
        anim.interpolate(a)
        seen.append(bars.bars[0].height)
    anim.finish()
    assert np.all(np.diff(seen) < 0)  # the first bar shrinks steadily, not in a jump
    assert seen[2] == pytest.approx((0.62 + 0.2) / 2 * 2.0 * 0.5, abs=0.01)
    assert bars.bars[0].height == pytest.approx(0.2 * 2.0 * 0.5, abs=2e-3)  # scaled chart, scaled bars
    assert bars.value_labels[0].original_text == "0.20"


def test_animated_values_count_through_real_numbers():
    bars = ProbabilityBars([0.0, 1.0], ["a", "b"])
    anim = bars.animate(rate_func=lambda t: t).set_values([0.5, 0.5]).build()
    anim.begin()
    anim.interpolate(0.5)
    assert [l.original_text for l in bars.value_labels] == ["0.25", "0.75"]
    anim.finish()
    cb = ComparedBars({"t": [0.0, 1.0], "s": [1.0, 0.0]}, ["a", "b"], {"t": T.TEACHER, "s": T.DISTILLED},
                      show_values=True)
    anim = cb.animate(rate_func=lambda t: t).set_values("s", [0.5, 0.5]).build()
    anim.begin()
    anim.interpolate(0.5)
    assert [l.original_text for l in cb.value_labels[1]] == ["0.75", "0.25"]
    assert [l.original_text for l in cb.value_labels[0]] == ["0.00", "1.00"]


def test_compared_bars_set_one_group():
    groups = {"hard": [1, 0, 0, 0, 0], "τ = 1": P, "τ = 3": [0.35, 0.27, 0.18, 0.11, 0.09]}
    cb = ComparedBars(groups, NAMES, {"hard": T.HARD, "τ = 1": T.TEACHER, "τ = 3": T.SOFT}, max_height=2.0)
    assert [e[1].original_text for e in cb.legend] == ["hard", "τ = 1", "τ = 3"]
    before = _heights(cb.bars[0])
    cb.set_values("τ = 3", [0.2] * 5)
    assert _heights(cb.bars[2]) == pytest.approx([0.4] * 5, abs=2e-3)
    assert _heights(cb.bars[0]) == pytest.approx(before)
    with pytest.raises(ValueError, match="unknown group"):
        cb.set_values("τ = 9", P)
    with pytest.raises(ValueError, match="colour"):
        ComparedBars(groups, NAMES, {"hard": T.HARD})


# ------------------------------------------------------------------------------ curves
LOSS = np.linspace(1.5, 0.3, 20)


def test_curve_reveal_shows_k_points():
    plot = CurvePlot(20, None, y_label="loss", series={"hard": (LOSS, T.HARD), "kl": (LOSS / 3, T.KL)})
    assert plot.y_range == (0.0, 1.5)  # rounded up from the data
    plot.reveal(5)
    assert plot.revealed_points == {"hard": 5, "kl": 5}
    curve = plot.curves["hard"]
    assert len(curve.get_start_anchors()) == 4  # 5 corners → 4 segments
    assert curve.get_end()[0] == pytest.approx(plot.axes.c2p(5, 0)[0])
    plot.reveal(5.5)
    assert plot.revealed_points["hard"] == 6
    assert curve.get_end() == pytest.approx(plot.point(5.5, "hard"))
    assert plot.heads["hard"].get_center() == pytest.approx(plot.point(5.5, "hard"))
    plot.reveal(0)
    assert curve.get_stroke_opacity() == 0 and plot.heads["hard"].get_fill_opacity() == 0
    plot.reveal(99)
    assert plot.revealed_points["hard"] == 20


def test_curve_log_axis_and_mark():
    kl = np.geomspace(0.8, 0.012, 10)
    plot = CurvePlot(10, None, series={"KL": (kl, T.KL)}, log_y=True)
    assert plot.y_range == (-2, 0)
    assert [t.original_text for t in plot.tick_labels][-3:] == ["0.01", "0.1", "1"]
    dot = plot.mark(10, "KL")
    assert isinstance(dot, Dot)
    assert dot.get_center()[1] == pytest.approx(plot.axes.c2p(0, np.log10(0.012))[1])


def test_epoch_counter_keeps_width():
    c = EpochCounter(30)
    w = c.width
    assert c.set_epoch(7.6).text.original_text.replace("\u2007", " ") == "Epoch  7 / 30"
    left = c.get_left()[0]
    c.set_epoch(17)
    assert c.width == pytest.approx(w, rel=0.02) and c.get_left()[0] == pytest.approx(left)
    assert c.set_epoch(99).k == 30


# ------------------------------------------------------------------------- table, plots
def test_results_table_cells_and_highlight():
    rows = [{"m": "teacher", "p": 120448, "a": "91.2 %"}, {"m": "distilled", "p": 7979, "a": "87.6 %"}]
    t = ResultsTable(rows, [("m", "model"), ("p", "params"), ("a", "accuracy")],
                     row_colors=[T.TEACHER, T.DISTILLED])
    assert [[c.original_text for c in r] for r in t.cells] == [["teacher", "120,448", "91.2 %"],
                                                               ["distilled", "7,979", "87.6 %"]]
    assert t.cells[0][1].get_right()[0] == pytest.approx(t.cells[1][1].get_right()[0])  # numbers right-aligned
    assert t.cells[0][0].get_center()[1] > t.cells[1][0].get_center()[1]
    t.highlight_row(1)
    assert [b.get_fill_opacity() for b in t.backgrounds] == [0.0, pytest.approx(0.18)]
    with pytest.raises(ValueError, match="missing"):
        ResultsTable([{"m": "x"}], [("m", "model"), ("p", "params")])


def test_accuracy_params_plot_positions():
    plot = AccuracyParamsPlot([("teacher", 120448, 0.912, T.TEACHER), ("scratch", 7979, 0.84, T.SCRATCH),
                               ("distilled", 7979, 0.876, T.DISTILLED)])
    t, s, d = (dot.get_center() for dot in plot.dots)
    assert t[0] > s[0] and s[0] == pytest.approx(d[0]) and t[1] > d[1] > s[1]
    assert [l.original_text for l in plot.tick_labels][:3] == ["1k", "10k", "100k"]
    assert check_layout([plot]) == []
    with pytest.raises(ValueError, match="fraction"):
        AccuracyParamsPlot([("x", 10, 91.2, T.TEACHER)])


def test_data_scatter_groups_by_class():
    pts = [[0, 0], [1, 0], [0, 1], [5, 5], [6, 5]]
    s = DataScatter(pts, [0, 0, 1, 3, 4], NAMES)
    assert [len(g) for g in s.class_groups] == [2, 1, 0, 1, 1]
    assert s.class_groups[3][0].get_fill_color().to_hex() == ManimColor(T.CLASS_COLORS[3]).to_hex()
    assert s.to_panel([5, 5])[0] > s.to_panel([0, 0])[0]
    s.highlight_classes([3])
    assert s.class_groups[0][0].get_fill_opacity() < 0.5 < s.class_groups[3][0].get_fill_opacity()
    with pytest.raises(ValueError, match="labels"):
        DataScatter(pts, [0, 9, 0, 0, 0], NAMES)


def test_formula_parts():
    f = KDLossFormula()
    assert len(f.hard_term) == 8 and len(f.tau_sq) == 2 and len(f.soft_term) == 11  # C E ( y , p S ) · τ ² · K L ( p T τ ‖ p S τ )
    assert f.hard_term[0].get_fill_color().to_hex() == ManimColor(T.HARD).to_hex()
    assert f.tau_sq[0].get_fill_color().to_hex() == ManimColor(T.SOFT).to_hex()
    f.focus(f.soft_term)
    assert f.hard_term[0].get_fill_opacity() < 0.5 and f.soft_term[0].get_fill_opacity() == 1.0
    s = SoftmaxFormula()
    assert len(s.taus) == 2 and s.numerator.get_bottom()[1] > s.bar.get_center()[1] > s.denominator.get_top()[1]


COMPONENTS = {
    "network": lambda: NetworkDiagram(TEACHER_LAYERS, weights_for(TEACHER_LAYERS, 2),
                                      caption="3 hidden layers · 120,448 params"),
    "bars": lambda: ProbabilityBars(P, NAMES, title="teacher, τ = 1"),
    "compared": lambda: ComparedBars({"teacher": P, "student": P[::-1]}, NAMES,
                                     {"teacher": T.TEACHER, "student": T.DISTILLED}, title="probe: cat"),
    "curves": lambda: CurvePlot(30, None, y_label="loss",
                                series={"hard (CE)": (np.linspace(1.5, 0.4, 30), T.HARD),
                                        "soft (KL)": (np.linspace(0.5, 0.1, 30), T.KL),
                                        "combined": (np.linspace(1.0, 0.25, 30), T.TEACHER)}),
    "counter": lambda: EpochCounter(30),
    "table": lambda: ResultsTable([{"m": "student from scratch", "p": 7979, "a": "84.0 %", "t": "2.3 µs"}] * 3,
                                  [("m", "model"), ("p", "params"), ("a", "test accuracy"), ("t", "latency")],
                                  row_colors=[T.TEACHER, T.SCRATCH, T.DISTILLED]),
    "acc_params": lambda: AccuracyParamsPlot([("teacher", 120448, 0.912, T.TEACHER),
                                              ("scratch", 7979, 0.84, T.SCRATCH),
                                              ("distilled", 7979, 0.876, T.DISTILLED)]),
    "scatter": lambda: DataScatter(np.stack([np.cos(np.arange(400)), np.sin(np.arange(400) * 0.7)], 1),
                                   np.arange(400) % 5, NAMES),
    "kd_loss": KDLossFormula,
    "softmax": SoftmaxFormula,
}


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_each_component_fits_the_frame_at_default_size(name):
    comp = COMPONENTS[name]()
    assert check_layout([comp]) == [], type(comp).__name__
    R = regions()
    assert comp.width <= R.body.width and comp.height <= R.body.height, type(comp).__name__


# ----------------------------------------------------------------------------- renders
def render_last_frame(build):
    class One(Scene):
        def construct(self):
            self.camera.background_color = T.BACKGROUND
            self.add(*build())

    with tempconfig({"pixel_width": 427, "pixel_height": 240, "frame_rate": 15, "write_to_movie": False,
                     "save_last_frame": False, "disable_caching": True, "verbosity": "ERROR",
                     "media_dir": "/tmp/kdanim_test_media"}):
        scene = One()
        scene.render()
        return scene.renderer.get_frame()[:, :, :3].astype(float) / 255


def pixel(frame, point):
    """Pixel (row, col) of a scene point at the 427×240 test resolution."""
    h, w = frame.shape[:2]
    col = int(round((point[0] / 14.222222 + 0.5) * (w - 1)))
    row = int(round((0.5 - point[1] / 8.0) * (h - 1)))
    return frame[row, col]


def test_render_bars_draw_their_colours_where_expected():
    holder = {}

    def build():
        bars = ProbabilityBars([0.9, 0.1], ["hard", "soft"], colors=[T.HARD, T.SOFT], max_height=3.0, width=4.0)
        holder["bars"] = bars
        return [bars]

    frame = render_last_frame(build)
    bars = holder["bars"]
    tall = bars.bars[0].get_center()
    short_top = bars.bars[1].get_top() + UP * 1.0  # well above the short bar: background
    assert np.abs(pixel(frame, tall) - rgb(T.HARD)).max() < 0.12
    assert np.abs(pixel(frame, short_top) - rgb(T.BACKGROUND)).max() < 0.05
    assert np.abs(pixel(frame, bars.bars[1].get_center()) - rgb(T.SOFT)).max() < 0.15


def test_render_network_nodes_lit_by_activations():
    holder = {}

    def build():
        net = NetworkDiagram([3, 3], [np.eye(3)], width=6, height=5, node_radius=0.4)
        net.set_activations([[0.0, 0.5, 1.0], [1.0, 0.0, 0.0]])
        holder["net"] = net
        return [net]

    frame = render_last_frame(build)
    nodes = holder["net"].layers_groups[0]
    bright = [pixel(frame, n.get_center()).sum() for n in nodes]
    assert bright[0] < bright[1] < bright[2]
    assert np.abs(pixel(frame, nodes[2].get_center()) - rgb(T.TEACHER)).max() < 0.12


VIZ_MODULES = sorted(p.stem for p in Path(viz.__file__).parent.glob("*.py") if p.stem != "__init__")


def test_docstring_examples_run():
    """Every viz module but the theme (colours and sizes only) has examples, and they all pass."""
    import doctest
    import importlib

    assert len(VIZ_MODULES) >= 8
    for name in VIZ_MODULES:
        mod = importlib.import_module(f"kdanim.viz.{name}")
        result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, name
        assert result.attempted > 0 or name == "theme", f"kdanim.viz.{name} has no docstring example to run"


def test_package_reexports_everything():
    """kdanim.viz re-exports every class of its modules, and every name it exports is the module's own."""
    import importlib
    import inspect

    assert len(viz.__all__) >= 20 and sorted(set(viz.__all__)) == sorted(viz.__all__)
    from_star = {}
    exec("from kdanim.viz import *", from_star)
    assert set(from_star) - {"__builtins__"} == set(viz.__all__)
    for name in VIZ_MODULES:
        mod = importlib.import_module(f"kdanim.viz.{name}")
        assert mod.__all__, name
        for attr in mod.__all__:
            obj = getattr(mod, attr)
            if inspect.isclass(obj):
                assert attr in viz.__all__ and getattr(viz, attr) is obj, f"kdanim.viz does not export {attr}"
            if attr in viz.__all__:
                assert getattr(viz, attr) is obj, attr
    for attr in viz.__all__:
        obj = getattr(viz, attr)
        assert inspect.ismodule(obj) or obj.__module__.startswith("kdanim.viz."), attr
    assert viz.theme.TEACHER == T.TEACHER
