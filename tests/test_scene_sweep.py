"""The sweep chapter "Choosing τ and α": narration, layout, numbers from the sweep, and its cache key."""

import copy

import pytest

from kdanim import facts
from kdanim.render import ChapterJob, RenderOptions, chapter_key, make_context, render_scene
from kdanim.scenes import SWEEP_SCENES, ChoosingTauAlpha, lesson_order
from chapter_runs import FAST, Tracked, uncovered


def make_view(taus, alphas, seeds, epochs=30):
    """A sweep chapter view with distinct, plausible accuracies (teacher and scratch depend on the seed only)."""
    runs = []
    for t in taus:
        for a in alphas:
            for s in seeds:
                runs.append({"tau": t, "alpha": a, "seed": s, "teacher": 0.92 - 0.004 * s,
                             "scratch": 0.86 + 0.003 * s,
                             "distilled": round(0.88 + 0.01 * a - 0.002 * abs(t - 3) + 0.004 * ((s * 7 + t) % 3), 6)})
    return {"axes": {"tau": list(taus), "alpha": list(alphas), "seed": list(seeds)}, "epochs": epochs, "runs": runs}


def run(view, trace, tmp_path, drawn_from=None):
    """The chapter of ``view`` with animations skipped: (context, scene). ``drawn_from``: a recording
    wrapper of (trace, view) the chapter draws from (the words are filled from the plain ones)."""
    ctx = make_context(trace, RenderOptions(voice="none", sweep=view), add_sound=False, check_layout=True)
    if drawn_from is not None:
        ctx.trace, ctx.sweep = drawn_from
    scene = render_scene(ChoosingTauAlpha, ctx, {**FAST, "media_dir": str(tmp_path / "media")})
    return ctx, scene


def seen_and_said(ctx, scene):
    return " | ".join(ctx.seen_text).replace(" ", ""), " ".join(scene.beats)


@pytest.mark.parametrize("taus, alphas, seeds", [pytest.param([1.0, 2.0, 3.0, 5.0, 8.0], [0.25, 0.5, 0.75],
                                                             [0, 1, 2, 3, 4], marks=pytest.mark.slow),
                                   ([3.0], [0.5], [0]),
                                   pytest.param([0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0], [0.0, 0.5, 1.0], [0, 1],
                                                marks=pytest.mark.slow)],
                         ids=["5x3x5", "1x1x1", "7x3x2"])
def test_beats_are_narrated_laid_out_and_read_only_what_they_declare(taus, alphas, seeds, rings_trace, tmp_path):
    used = set()
    view = make_view(taus, alphas, seeds)
    ctx, scene = run(view, rings_trace, tmp_path, drawn_from=(Tracked(rings_trace, used),
                                                              Tracked(view, used, ("sweep",))))
    assert len(scene.beats) >= 3
    for text in scene.beats:
        assert text and "{" not in text and "nan" not in text.lower().split()
    assert ctx.layout_problems == []
    # the render cache keys this chapter by `reads`: they must cover every value it uses (no trace at all)
    assert any(u.startswith("sweep.runs") for u in used)
    assert not uncovered(used, ChoosingTauAlpha.reads)
    if seeds == [0]:
        assert "single seed" in " ".join(scene.beats)


def words(view, trace):
    """The sweep chapter's words for ``view``, as a render fills them (no drawing)."""
    return make_context(trace, RenderOptions(voice="none", sweep=view)).words


def test_numbers_come_from_the_sweep(rings_trace, tmp_path):
    view = make_view([1.0, 3.0, 8.0], [0.25, 0.75], [0, 1, 2])
    assert words(view, rings_trace).show("choosing.grid_card").splitlines()[0] == "18 runs, 30 epochs each"
    # one run of τ = 8, α = 0.25 becomes much better: the cell, the best setting and the speech follow
    changed = copy.deepcopy(view)
    r = next(r for r in changed["runs"] if (r["tau"], r["alpha"], r["seed"]) == (8.0, 0.25, 1))
    r["distilled"] = 0.95
    seen, said = seen_and_said(*run(changed, rings_trace, tmp_path))
    best = facts.sweep_facts(changed)["best"]
    assert (best["tau"], best["alpha"]) == (8.0, 0.25)
    pct = facts.fmt_pct(best["gap"], 0)
    assert pct in seen and f"best:τ=8,α=0.25,{pct}" in seen  # the heatmap's cell and the mark beside it
    assert "best setting is tau 8 with alpha 0.25" in said and f"{round(100 * best['gap'])} percent of the gap" in said
    assert "best setting is tau 8" not in words(view, rings_trace).say("choosing.extremes")  # it was the worst


def test_whether_the_best_tau_changes_with_the_seed_is_said_and_shown(rings_trace):
    view = make_view([1.0, 3.0], [0.5], [0, 1])
    for r in view["runs"]:  # seed 0 does best at τ = 1, seed 1 at τ = 3
        r["distilled"] = 0.9 if (r["tau"] == 1.0) == (r["seed"] == 0) else 0.88
    w = words(view, rings_trace)
    assert "best τ for each seed: 1, 3" in w.show("choosing.seed_notes").splitlines()
    assert "Every seed's best run" not in w.say("choosing.seed")
    for r in view["runs"]:  # both seeds do best at τ = 3, by 2 points
        r["distilled"] = 0.9 if r["tau"] == 3.0 else 0.88
    w = words(view, rings_trace)
    assert "best τ for each seed: 3, 3" in w.show("choosing.seed_notes").splitlines()
    assert "Every seed's best run has tau 3." in w.say("choosing.seed")
    assert w.show("choosing.verdict_note") == "start from τ = 3, α = 0.5"  # the choice beats the seed
    assert "tau 3 with alpha 0.5" in w.say("choosing.verdict")


def test_the_cache_key_follows_the_sweep_not_the_trace(rings_trace):
    view = make_view([1.0, 3.0], [0.5], [0, 1])

    def key(trace, view):
        return chapter_key(ChapterJob(ChoosingTauAlpha, trace, RenderOptions(sweep=view), "code"))

    other = copy.deepcopy(rings_trace)
    other["summary"]["distilled"]["test_accuracy"] = 0.1234
    assert key(other, view) == key(rings_trace, view)
    changed = copy.deepcopy(view)
    changed["runs"][0]["distilled"] = 0.5
    assert key(rings_trace, changed) != key(rings_trace, view)


def test_played_after_chapter_8_only_with_a_sweep():
    assert ChoosingTauAlpha in SWEEP_SCENES and ChoosingTauAlpha not in lesson_order()
    numbers = [c.number for c in lesson_order(with_sweep=True)]
    assert numbers[numbers.index(8) + 1] == ChoosingTauAlpha.number
