"""Every chapter, run through all its beats without drawing frames: narration, layout, numbers on screen,
and the trace values it reads.

Each chapter runs once per dataset (the session's default runs of the rings and of the digits;
tests/chapter_runs.py, in a worker process started at collection) with a trace that records
every value read from it; the tests below check those runs from several sides. The digits runs
and the renders of real frames are marked slow.
"""

import copy

import numpy as np
import pytest

from chapter_runs import FAST, PROBE, Tracked, context, run_chapter, uncovered
from kdanim.render import render_scene
from kdanim.scenes import SCENES_IN_ORDER


def test_the_tracked_trace_sees_every_way_of_reading():
    used = set()
    t = Tracked({"a": {"b": 1, "c": [{"d": 2}]}, "e": 3, "f": {"g": 4}}, used)
    assert t["a"]["b"] == 1 and t["a"]["c"][0]["d"] == 2
    assert "x" not in t["f"] and dict(t["f"].items()) == {"g": 4}
    assert used == {"a.b", "a.c", "a.c.d", "?f.x", "f.g"}  # a list is read as a whole (its length too)
    used.clear()
    assert sorted(t) == ["a", "e", "f"] and used == {"a", "e", "f"}  # a loop over the trace reads every part
    used.clear()
    assert len(t["f"]) == 1 and list(t["f"].values()) == [4] and used == {"f", "f.g"}
    used.clear()
    assert t.get("e") == 3 and t.get("zz") is None and t.get("a") is not None and used == {"?e", "e", "?zz", "?a"}
    assert uncovered({"?a", "a.b", "?zz", "e"}, ("a.b.c", "e")) == ["?zz", "a.b"]


# -- one run of every chapter per dataset ------------------------------------------------------------

CHAPTERS = pytest.mark.parametrize("chapter_cls", SCENES_IN_ORDER, ids=lambda c: c.__name__)


def test_ten_chapters_in_order():
    assert [c.number for c in SCENES_IN_ORDER] == list(range(1, 11))
    assert len({c.__name__ for c in SCENES_IN_ORDER}) == 10


def test_the_runs_are_of_the_sessions_traces(chapter_run, rings_trace):
    from kdanim.trace import content_hash

    assert chapter_run("rings", SCENES_IN_ORDER[0])["trace_hash"] == content_hash(rings_trace)


@CHAPTERS
def test_chapter_beats_are_narrated_and_laid_out(chapter_cls, chapter_run):
    run = chapter_run("rings", chapter_cls)
    assert len(run["beats"]) >= 2, "a chapter is made of several narrated beats"
    for text in run["beats"]:
        assert len(text.split()) >= 5
        assert "{" not in text and "}" not in text, f"unfilled template: {text}"
        assert "nan" not in text.lower().split()
    assert run["layout_problems"] == []
    # Every spoken cue has a time and they never overlap.
    tl = run["timeline"]
    lines = tl["lines"]
    assert lines and all(b["start"] >= a["start"] + a["duration"] - 1e-9 for a, b in zip(lines, lines[1:]))
    # No dead air over a second: between cues, before the first and after the last (chapters play back to back).
    gaps = [b["start"] - (a["start"] + a["duration"]) for a, b in zip(lines, lines[1:])]
    gaps += [lines[0]["start"], tl["duration"] - (lines[-1]["start"] + lines[-1]["duration"])]
    assert max(gaps) <= 1.0, f"{max(gaps):.2f} s of silence"
    assert run["title"] and tl["title"] == run["title"] and tl["beats"] == run["beats"]


def test_titles_are_distinct(chapter_run):
    titles = [chapter_run("rings", c)["title"] for c in SCENES_IN_ORDER]
    assert len(set(titles)) == len(titles), titles


@pytest.mark.parametrize("dataset", ["rings", pytest.param("digits", marks=pytest.mark.slow)])
@CHAPTERS
def test_chapter_declares_what_it_reads(chapter_cls, dataset, chapter_run, rings_trace):
    """The render cache keys a chapter by `reads`: they must cover every trace value the chapter uses,
    and a chapter that reads "*" (the whole trace) must use every part of it."""
    used = set(chapter_run(dataset, chapter_cls)["used"])
    if "*" in chapter_cls.reads:
        parts = {u.split(".")[0] for u in used if not u.startswith("?")}
        assert parts >= set(rings_trace), \
            f"{chapter_cls.__name__} reads '*' but uses only {sorted(parts)} of the trace: narrow its reads"
    missed = uncovered(used, chapter_cls.reads)
    assert not missed, f"{chapter_cls.__name__}.reads misses {missed}"


def seen_and_said(ctx, scene):
    return " | ".join(ctx.seen_text), " ".join(scene.beats)


@pytest.mark.slow
def test_a_changed_trace_number_changes_screen_and_speech(rings_trace, chapter_run, tmp_path):
    from kdanim.scenes import CompressionResults

    changed = copy.deepcopy(rings_trace)
    changed["summary"]["distilled"]["test_accuracy"] = 0.4321
    before = chapter_run("rings", CompressionResults)
    seen, said = seen_and_said(*run_chapter(CompressionResults, changed, tmp_path))
    assert "43.2%" in seen and "43.2%" not in " | ".join(before["seen_text"])
    assert said != " ".join(before["beats"]) and "43.2 percent" in said


@pytest.mark.slow
def test_probe_class_changes_the_prediction_chapter(rings_trace, chapter_run, tmp_path):
    from kdanim.scenes import APrediction

    names = rings_trace["classes"]["names"]
    seen0 = " | ".join(chapter_run("rings", APrediction)["seen_text"])
    seen3, _ = seen_and_said(*run_chapter(APrediction, rings_trace, tmp_path, probe_class=3))
    # Manim's Text keeps its string without spaces.
    assert PROBE["rings"] == 0 and f"trueclass:{names[0]}" in seen0
    assert f"trueclass:{names[3]}" in seen3


# -- the lesson on another dataset: handwritten digits (slow) -------------------------------------------

PROBE_CHAPTERS = {1, 3, 4, 6, 7, 9}  # the chapters that show the probe input


@pytest.mark.slow
@CHAPTERS
def test_digits_chapters_draw_the_input_and_name_digits(chapter_cls, chapter_run, digits_trace):
    run = chapter_run("digits", chapter_cls)
    assert run["layout_problems"] == []
    said = " ".join(run["beats"]).lower().replace(",", " ").replace(".", " ").split()
    assert not {"cat", "dog", "fox", "car", "truck", "animals", "vehicles", "families"} & set(said)
    if chapter_cls.number in PROBE_CHAPTERS:
        probe = digits_trace["data"]["probe_images"][PROBE["digits"]]
        assert any(np.allclose(p, probe) for p in run["pictures"]), "the probe is drawn as its own 8×8 image"
        if chapter_cls.number != 3:  # chapter 3's words are about the networks
            assert f"digit {PROBE['digits']}" in " ".join(run["beats"])


@pytest.mark.slow
def test_digits_task_chapter_speaks_of_the_pairs_this_teacher_confuses(chapter_run, digits_trace):
    from kdanim import facts
    from kdanim.scenes import TheTask

    run = chapter_run("digits", TheTask)
    i, j, _ = facts.confused_pairs(digits_trace, 1)[0]
    said = " ".join(run["beats"])
    assert f"digit {i} with digit {j}" in said and "ten classes" in said
    assert f"{i}and{j}" in " | ".join(run["seen_text"])  # Manim's Text keeps its string without spaces


# -- real frames (slow) ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_the_lesson_scene_plays_every_chapter_frame_by_frame_with_a_section_each(rings_trace, tmp_path):
    """The whole lesson as one Manim scene (`manim render scenes/lesson.py Lesson`), rendered at a tiny size:
    every chapter's updaters and tweens run frame by frame, each chapter in a section of its own."""
    import av

    from kdanim.scenes.lesson import Lesson

    class Recorded(Lesson):
        def next_section(self, name="unnamed", *args, **kwargs):
            self.section_names = getattr(self, "section_names", []) + [name]
            super().next_section(name, *args, **kwargs)

    tiny = {**FAST, "save_last_frame": False, "write_to_movie": True, "pixel_width": 192, "pixel_height": 108,
            "frame_rate": 4, "media_dir": str(tmp_path / "media")}
    ctx = context(rings_trace)
    scene = render_scene(Recorded, ctx, tiny)
    numbers = [t.split(" ", 1)[0] for t in scene.section_names]
    titles = [t.split(" ", 1)[1] for t in scene.section_names]
    assert numbers == [f"{c.number:02d}" for c in SCENES_IN_ORDER]
    assert len(set(titles)) == len(SCENES_IN_ORDER) and all(titles)
    assert len(scene.beats) >= 3 * len(SCENES_IN_ORDER)
    assert ctx.layout_problems == []
    with av.open(str(scene.renderer.file_writer.movie_file_path)) as c:
        stream = c.streams.video[0]
        seconds = float(stream.duration * stream.time_base)
    # the video is as long as the lesson played (whole frames at 4 fps, a rounding per animation)
    assert abs(seconds - scene.renderer.time) <= 2.0, (seconds, scene.renderer.time)
