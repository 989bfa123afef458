"""The sweep chapter "Choosing τ and α": narration, layout, numbers from the sweep, and its cache key."""

import copy

import pytest
import test_scenes

from kdanim.chapter import LessonContext, render_scene
from kdanim.narration.voices import get_voice
from kdanim.render import RenderOptions, chapter_key
from scenes import SWEEP_SCENES, ChoosingTauAlpha, lesson_order

FAST = {"quality": "low_quality", "pixel_width": 320, "pixel_height": 180, "save_last_frame": True,
        "write_to_movie": False, "disable_caching": True, "verbosity": "ERROR", "progress_bar": "none"}


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


@pytest.fixture(scope="module")
def trace():
    from kdanim.sim.config import SimConfig
    from kdanim.trace import simulate_trace

    return simulate_trace(SimConfig(epochs=3), measure_latency=False)


def run(view, trace, tmp_path):
    ctx = LessonContext(trace=trace, voice=get_voice("none", cache_dir=tmp_path / "voice"), sweep=view,
                        add_sound=False, check_layout=True)
    scene = render_scene(ChoosingTauAlpha, ctx, {**FAST, "media_dir": str(tmp_path / "media")})
    return ctx, scene


class Tracked(test_scenes.Tracked):
    """test_scenes.Tracked that also follows lists of objects (the sweep's runs)."""

    def __getitem__(self, key):
        value = super().__getitem__(key)
        if isinstance(value, list):
            return [Tracked(v, self._log, self._prefix + (key,)) if isinstance(v, dict) else v for v in value]
        return value


@pytest.mark.parametrize("shape", [([1.0, 2.0, 3.0, 5.0, 8.0], [0.25, 0.5, 0.75], [0, 1, 2, 3, 4]),
                                   ([3.0], [0.5], [0]),
                                   ([0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0], [0.0, 0.5, 1.0], [0, 1])],
                         ids=["5x3x5", "1x1x1", "7x3x2"])
def test_beats_are_narrated_laid_out_and_read_only_what_they_declare(shape, trace, tmp_path):
    used = set()
    ctx, scene = run(Tracked(make_view(*shape), used, ("sweep",)), Tracked(trace, used), tmp_path)
    assert len(scene.beats) >= 3
    for text in scene.beats:
        assert "{" not in text and "nan" not in text.lower().split()
    assert ctx.layout_problems == []
    # the render cache keys this chapter by `reads`: they must cover every value it uses (no trace at all)
    uncovered = sorted(u for u in used if not any(u == r or u.startswith(r + ".") for r in ChoosingTauAlpha.reads))
    assert not uncovered, uncovered


def test_numbers_come_from_the_sweep(trace, tmp_path):
    view = make_view([1.0, 3.0, 8.0], [0.25, 0.75], [0, 1, 2])
    ctx, scene = run(view, trace, tmp_path / "a")
    seen, said = " | ".join(ctx.seen_text), " ".join(scene.beats)
    assert "18runs,30epochseach" in seen.replace(" ", "")
    # one run of τ = 8, α = 0.25 becomes much better: the cell, the best setting and the speech follow
    changed = copy.deepcopy(view)
    r = next(r for r in changed["runs"] if (r["tau"], r["alpha"], r["seed"]) == (8.0, 0.25, 1))
    r["distilled"] = 0.95
    ctx2, scene2 = run(changed, trace, tmp_path / "b")
    seen2, said2 = " | ".join(ctx2.seen_text), " ".join(scene2.beats)
    from kdanim.sweep import findings

    best = findings(changed)["best"]
    assert (best["tau"], best["alpha"]) == (8.0, 0.25)
    pct = f"{best['gap_mean']:.0%}"
    assert pct in seen2 and f"best:τ=8,α=0.25,{pct}" in seen2.replace(" ", "")
    assert "tau 8 with alpha 0.25" in said2 and said2 != said
    assert f"{round(100 * best['gap_mean'])} percent of the gap" in said2


def test_the_best_tau_changing_with_the_seed_is_said():
    from kdanim.sweep import findings

    view = make_view([1.0, 3.0], [0.5], [0, 1])
    for r in view["runs"]:
        r["distilled"] = 0.9 if (r["tau"] == 1.0) == (r["seed"] == 0) else 0.88
    said, lines, _ = ChoosingTauAlpha._seed_story(findings(view), 2, True)
    assert "The best tau changes from seed to seed: tau 1 for one seed, tau 3 for one seed." in said
    assert "best τ for each seed: 1, 3" in [t for t, _ in lines]
    for r in view["runs"]:
        r["distilled"] = 0.9 if r["tau"] == 3.0 else 0.88
    said, lines, verdict = ChoosingTauAlpha._seed_story(findings(view), 2, True)
    assert "Every seed's best run has tau 3." in said
    assert "2 points" in said and "tau 3 with alpha 0.5" in verdict  # 90% vs 88%: the choice beats the seed
    said, lines, verdict = ChoosingTauAlpha._seed_story(findings(make_view([3.0], [0.5], [0])), 1, False)
    assert "single seed" in said and verdict is None


def test_the_cache_key_follows_the_sweep_not_the_trace(trace):
    view = make_view([1.0, 3.0], [0.5], [0, 1])
    key = chapter_key(ChoosingTauAlpha, trace, RenderOptions(sweep=view), "code")
    other = copy.deepcopy(trace)
    other["summary"]["distilled"]["test_accuracy"] = 0.1234
    assert chapter_key(ChoosingTauAlpha, other, RenderOptions(sweep=view), "code") == key
    changed = copy.deepcopy(view)
    changed["runs"][0]["distilled"] = 0.5
    assert chapter_key(ChoosingTauAlpha, trace, RenderOptions(sweep=changed), "code") != key


def test_played_after_chapter_8_only_with_a_sweep():
    assert ChoosingTauAlpha in SWEEP_SCENES and ChoosingTauAlpha not in lesson_order()
    numbers = [c.number for c in lesson_order(with_sweep=True)]
    assert numbers[numbers.index(8) + 1] == ChoosingTauAlpha.number
