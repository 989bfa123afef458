"""The frame checks of every render (issue 18, parts 5 and 8): each kind of problem caught, a real chapter with an
overlong label stopped with one line (or, with --no-check, warned about once per problem), tick labels that
print their value, and series that colour-blind viewers can tell apart."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from manim import DOWN, RIGHT, VGroup

from chapter_runs import FAST
from kdanim.cli import main
from kdanim.narration import script as scriptmod
from kdanim.render import RenderOptions, make_context, render_scene
from kdanim.scenes import Training
from kdanim.viz import BandPlot, CurvePlot, check_layout, regions, theme as T
from kdanim.viz.layout import LayoutError

#: A lecturer's own words for the dog: far too long for a bar's label, so the bars shrink it out of reach.
LONG_DOG = "a very large and extraordinarily fluffy mountain dog"


def frame_problems(*mobs):
    """What a render checks at a beat's end, on the dark theme."""
    return check_layout(list(mobs), background=T.BACKGROUND, caption_safe=regions().caption_safe)


# -- each kind of check: a clean case and a failing one ------------------------------------------------

def test_off_frame_names_the_text_and_how_far():
    assert frame_problems(T.text("inside").move_to(RIGHT * 5)) == []
    (p,) = frame_problems(T.text("far right").move_to(RIGHT * 7.5))
    assert p.startswith('Text("far right") leaves the frame at the right by ') and "% of the frame" in p
    far = float(p.split(" by ")[1].split(" ")[0])
    assert far == pytest.approx(T.text("far right").move_to(RIGHT * 7.5).get_right()[0] - regions().frame.right,
                                abs=0.02)


def test_overlap_of_two_texts_and_of_a_text_and_a_chart():
    a, b = T.text("loss").move_to(RIGHT), T.text("accuracy").move_to(RIGHT * 1.3)
    (p,) = frame_problems(a, b)
    assert p.startswith('Text("loss") overlaps Text("accuracy") by ') and " × " in p
    assert frame_problems(a, b.shift(DOWN * 1.5)) == []
    plot = CurvePlot(10, series={"hard": (np.linspace(1.0, 0.2, 10), T.HARD)})
    assert frame_problems(plot) == []
    note = T.text("note").move_to(plot.plot_area.get_center())
    assert [p.split(" by ")[0] for p in frame_problems(plot, note)] == ['Text("note") overlaps the plot area of CurvePlot']


def test_contrast_against_the_theme_background():
    assert T.contrast_ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)  # WCAG's just-failing grey
    assert frame_problems(T.text("muted", color=T.MUTED)) == []
    (p,) = frame_problems(T.text("faded", color=T.MUTED).set_opacity(0.5))
    assert p.startswith('Text("faded") has a contrast of ') and "(needs 4.5:1)" in p
    assert float(p.split("contrast of ")[1].split(":")[0]) < 4.5
    try:
        T.use("light")  # the dark theme's text colour on the light background
        (p,) = frame_problems(T.text("pale", color=T.THEMES["dark"]["TEXT"]))
        assert "on the background " + T.THEMES["light"]["BACKGROUND"].lower() in p.lower()
    finally:
        T.use("dark")


def test_text_in_the_caption_safe_band():
    band = regions().caption_safe
    assert frame_problems(T.text("above").next_to([0, band.top, 0], RIGHT).shift([0, 0.4, 0])) == []
    low = T.text("subtitle zone").move_to([0, band.top - 0.1, 0])
    (p,) = frame_problems(low)
    depth = band.top - low.get_bottom()[1]
    assert p.startswith('Text("subtitle zone") enters the caption-safe band by ') and "of the frame height" in p
    assert float(p.split(" by ")[1].split(" ")[0]) == pytest.approx(depth, abs=0.01)


def test_text_shrunk_out_of_reach():
    assert frame_problems(T.text("small", size=T.SMALL)) == []
    (p,) = frame_problems(T.text(LONG_DOG, size=T.SMALL).scale(0.5))
    assert "is shrunk to font size 10.0" in p


# -- a real chapter with an overlong label -----------------------------------------------------------------

@pytest.fixture(scope="module")
def long_script(tmp_path_factory):
    text = (scriptmod.SCRIPTS / "en.md").read_text(encoding="utf-8")
    assert "\ninstitution:\n" in text
    path = tmp_path_factory.mktemp("script") / "long-dog.md"
    path.write_text(text.replace("\ninstitution:\n", f"\ninstitution:\nterm.dog: {LONG_DOG}\n", 1), encoding="utf-8")
    return path


def run_training(trace, script, tmp_path, check):
    ctx = make_context(trace, RenderOptions(voice="none", script=str(script), check=check), add_sound=False)
    return ctx, render_scene(Training, ctx, {**FAST, "media_dir": str(tmp_path / "media")})


def test_an_overlong_label_stops_the_render_with_one_line(rings_trace, long_script, tmp_path):
    with pytest.raises(LayoutError) as e:
        run_training(rings_trace, long_script, tmp_path, check=True)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith("layout check failed: chapter 6 (Training), beat 1 (training.intro): ")
    assert f'Text("{LONG_DOG[:45]}...") is shrunk to font size ' in msg and "too small for its place" in msg


def test_no_check_warns_once_per_problem_and_keeps_them_in_the_timeline(rings_trace, long_script, tmp_path, capsys):
    ctx, scene = run_training(rings_trace, long_script, tmp_path, check=False)
    warnings = [l for l in capsys.readouterr().err.splitlines() if l.startswith("warning: ")]
    assert warnings and len(scene.beats) > 1  # the problem stays on screen for several beats ...
    assert len(warnings) == len(set(p.split(": ", 2)[2] for p in ctx.layout_problems))  # ... and is said once
    assert all(LONG_DOG[:20] in w for w in warnings)
    assert scene.timeline()["layout_problems"] == ctx.layout_problems


def test_the_shipped_words_pass(rings_trace, tmp_path):
    ctx, _ = run_training(rings_trace, scriptmod.SCRIPTS / "en.md", tmp_path, check=True)
    assert ctx.layout_problems == []


@pytest.mark.slow
def test_render_command_fails_with_one_line_and_no_check_renders(trace_file, long_script, cache, tmp_path):
    args = ["render", "--trace", trace_file, "--script", long_script, "--chapters", "6", "--quality", "low",
            "--voice", "none", "--jobs", "1", "-q"]
    failed = CliRunner().invoke(main, [str(a) for a in [*args, "--out", tmp_path / "a"]])
    assert failed.exit_code == 1, failed.output
    lines = [l for l in failed.output.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: layout check failed: chapter 6 (Training), beat 1")
    assert not (tmp_path / "a" / "lesson.mp4").exists()
    warned = CliRunner().invoke(main, [str(a) for a in [*args, "--out", tmp_path / "b", "--no-check"]])
    assert "warning: chapter 6 (Training), beat 1" in warned.output
    assert (tmp_path / "b" / "lesson.mp4").exists()
    again = CliRunner().invoke(main, [str(a) for a in [*args, "--out", tmp_path / "c"]])
    assert again.exit_code == 1 and "layout check failed" in again.output, \
        "a checked render must not take the --no-check render from the chapter cache"


# -- tick labels that print their value ----------------------------------------------------------------

def test_a_rounded_tick_label_is_caught():
    plot = CurvePlot(10, series={"loss": (np.linspace(9.6, 1.0, 10), T.HARD)})
    assert check_layout([plot]) == []
    value, label = plot.tick_labels.ticks[-2]
    label.original_text = f"{value + 0.5:g}"  # what a 2.5 step printed without decimals did: 7.5 -> "8"
    assert [p.split(":")[0] for p in check_layout([plot])] == [f'tick label "{value + 0.5:g}" stands at {value:g}']


def test_tick_labels_print_their_value_on_every_trace(rings_trace, digits_trace, adverse_traces):
    """The loss and KL plots of chapters 6 and 7, drawn from every run, in both languages' numerals."""
    for tr in [rings_trace, digits_trace, *adverse_traces.values()]:
        rows = tr["epochs"]
        for key in ("hard_loss", "soft_loss", "combined_loss", "kl"):
            if key not in rows[0]:
                continue
            for numerals in ((".", ","), (",", ".")):
                T.use_numerals(*numerals)
                try:
                    plot = CurvePlot(len(rows), series={key: ([r[key] for r in rows], T.HARD)})
                finally:
                    T.use_numerals()
                assert check_layout([plot]) == [], (key, tr["config"])


# -- series a colour-blind viewer can tell apart ----------------------------------------------------------

def test_colour_blind_simulation_collapses_red_and_green():
    red, green = "#D62728", "#2CA02C"  # matplotlib's red and green: the classic deuteranope confusion
    assert T.delta_e(red, green) > 60
    assert T.delta_e(red, green, "deuteranopia") < 0.5 * T.delta_e(red, green)
    assert T.min_delta_e(red, green) == min(T.delta_e(red, green, v) for v in ("normal", *T.CVD_MATRICES))


def test_series_alike_in_colour_need_other_markers():
    chart = CurvePlot(10, series={"a": (np.linspace(1, 0.2, 10), T.DISTILLED), "b": (np.linspace(0.8, 0.1, 10), T.SOFT)})
    assert [m for _, _, m in chart.series_styles] == ["circle", "square"] and check_layout([chart]) == []
    close = T.THEMES["dark"]["DISTILLED"], "#3FDDB0"  # a shade a legend alone would have to tell apart
    chart.series_styles = [("a", close[0], "circle"), ("b", close[1], "circle")]
    (p,) = check_layout([chart])
    assert p.startswith('series "a" and "b" of CurvePlot look alike: ΔE ') and "or other markers" in p
    chart.series_styles = [("a", T.DISTILLED, "circle"), ("b", T.TEACHER, "circle")]  # far apart: colour is enough
    assert check_layout([chart]) == []


@pytest.mark.parametrize("theme", sorted(T.THEMES))
def test_the_alpha_lines_of_chapter_11_are_told_apart_and_labelled_at_their_ends(theme):
    from kdanim.scenes.ch11_choosing import alpha_colors

    try:
        T.use(theme)
        colors = alpha_colors(3)
        closest = min(T.min_delta_e(a, b) for i, a in enumerate(colors) for b in colors[i + 1:])
        assert closest < T.MIN_SERIES_DELTA_E  # shades of the distilled student's colour: colour alone is not enough
        names = ["α = 0", "α = 0.5", "α = 1"]
        plot = BandPlot([1, 3, 8], {n: ([0.8 + 0.01 * i] * 3, [0.78] * 3, [0.83] * 3, c)
                                    for i, (n, c) in enumerate(zip(names, colors))})
        assert len({m for _, _, m in plot.series_styles}) == 3 and check_layout([plot], background=T.BACKGROUND) == []
        assert [lab[1].original_text for lab in plot.end_labels] == names
        for line, lab in zip(plot.lines, plot.end_labels):  # each label just right of its own line's end
            assert 0 < lab.get_left()[0] - line.get_end()[0] < 1.0
    finally:
        T.use("dark")


# -- long words (German) that the checks found shrunk out of reach -----------------------------------------

def test_a_long_legend_wraps_instead_of_widening_the_plot():
    series = {"harter Verlust (CE)": (np.linspace(2, 0.1, 100), T.HARD),
              "weicher Verlust (KL)": (np.linspace(1, 0.1, 100), T.KL), "kombiniert": (np.linspace(3, 0.1, 100), T.TEXT)}
    plot = CurvePlot(100, None, y_label="Verlust", series=series, width=6.2, height=4.2)
    span = plot.plot_area.get_right()[0] - plot.tick_labels.get_left()[0]
    assert plot.legend.width <= span + 1e-6 and plot.width <= span + 0.3
    assert len({round(e.get_top()[1], 3) for e in plot.legend}) == 2  # two rows, tops aligned
    assert check_layout([plot]) == []


def test_a_class_name_too_long_for_its_slot_takes_a_second_line():
    from kdanim.viz import ProbabilityBars

    names = ["Katze", "Hund", "Fuchs", "Auto", "Lastwagen"]
    bars = ProbabilityBars([0.5, 0.2, 0.1, 0.1, 0.1], names, width=4.0)
    labels = bars.class_labels
    assert labels[1].get_y() < labels[0].get_y() - 0.1 and labels[2].get_y() == pytest.approx(labels[0].get_y(), abs=0.05)
    assert check_layout([bars]) == []
    short = ProbabilityBars([0.5, 0.2, 0.1, 0.1, 0.1], ["cat", "dog", "fox", "car", "truck"], width=4.0)
    assert max(l.get_y() for l in short.class_labels) - min(l.get_y() for l in short.class_labels) < 0.05  # names that fit stay on one line


@pytest.mark.parametrize("theme", sorted(T.THEMES))
def test_heatmap_values_read_on_their_own_cells(theme):
    """A cell's value is read against the cell, not the frame's background (the light theme's mid greens
    once had their values at 3.3:1)."""
    from kdanim.viz import Heatmap

    try:
        T.use(theme)
        heat = Heatmap(np.linspace(0.0, 1.0, 12).reshape(3, 4), ["0", "0.5", "1"], ["1", "2", "3", "8"],
                       fmt=lambda v: f"{100 * v:.0f}%")
        assert all(lab.background is not None for lab in heat.value_labels)
        assert check_layout([heat], background=T.BACKGROUND) == []
        worst = min(T.contrast_ratio(lab.get_fill_color(), lab.background) for lab in heat.value_labels)
        assert worst >= 4.5, worst
    finally:
        T.use("dark")
