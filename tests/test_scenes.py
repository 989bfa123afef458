"""Every chapter, run through all its beats without drawing frames: narration, layout, numbers on screen."""

import copy

import pytest
from kdanim.chapter import LessonContext, render_scene
from kdanim.narration.voices import get_voice
from scenes import SCENES_IN_ORDER

FAST = {"quality": "low_quality", "pixel_width": 320, "pixel_height": 180, "save_last_frame": True,
        "write_to_movie": False, "disable_caching": True, "verbosity": "ERROR", "progress_bar": "none"}


@pytest.fixture(scope="module")
def trace():
    from kdanim.sim.config import SimConfig
    from kdanim.trace import simulate_trace

    return simulate_trace(SimConfig(epochs=12), measure_latency=False)


def run_chapter(chapter_cls, trace, tmp_path, probe_class=0):
    """Run a chapter's construct with animations skipped; return its context and scene."""
    ctx = LessonContext(trace=trace, voice=get_voice("none", cache_dir=tmp_path / "voice"),
                        probe_class=probe_class, add_sound=False, check_layout=True)
    return ctx, render_scene(chapter_cls, ctx, {**FAST, "media_dir": str(tmp_path / "media")})


def test_ten_chapters_in_order():
    assert [c.number for c in SCENES_IN_ORDER] == list(range(1, 11))
    assert len({c.title for c in SCENES_IN_ORDER}) == 10


@pytest.mark.parametrize("chapter_cls", SCENES_IN_ORDER, ids=lambda c: c.__name__)
def test_chapter_beats_are_narrated_and_laid_out(chapter_cls, trace, tmp_path):
    ctx, scene = run_chapter(chapter_cls, trace, tmp_path)
    assert len(scene.beats) >= 2, "a chapter is made of several narrated beats"
    for text in scene.beats:
        assert len(text.split()) >= 5
        assert "{" not in text and "}" not in text, f"unfilled template: {text}"
        assert "nan" not in text.lower().split()
    assert ctx.layout_problems == []
    # Every spoken cue has a time and they never overlap.
    tl = scene.timeline()
    lines = tl["lines"]
    assert lines and all(b["start"] >= a["start"] + a["duration"] - 1e-9 for a, b in zip(lines, lines[1:]))
    # No dead air over a second: between cues, before the first and after the last (chapters play back to back).
    gaps = [b["start"] - (a["start"] + a["duration"]) for a, b in zip(lines, lines[1:])]
    gaps += [lines[0]["start"], tl["duration"] - (lines[-1]["start"] + lines[-1]["duration"])]
    assert max(gaps) <= 1.0, f"{max(gaps):.2f} s of silence"


def _seen_and_said(chapter_cls, trace, tmp_path):
    ctx, scene = run_chapter(chapter_cls, trace, tmp_path)
    return " | ".join(ctx.seen_text), " ".join(scene.beats)


def test_a_changed_trace_number_changes_screen_and_speech(trace, tmp_path):
    from scenes import CompressionResults

    changed = copy.deepcopy(trace)
    changed["summary"]["distilled"]["test_accuracy"] = 0.4321
    before_seen, before_said = _seen_and_said(CompressionResults, trace, tmp_path / "a")
    seen, said = _seen_and_said(CompressionResults, changed, tmp_path / "b")
    assert "43.2%" in seen and "43.2%" not in before_seen
    assert said != before_said and "43.2 percent" in said


def test_probe_class_changes_the_prediction_chapter(trace, tmp_path):
    from scenes import APrediction

    names = trace["classes"]["names"]
    seen0, _ = _seen_and_said(APrediction, trace, tmp_path / "a")
    ctx, scene = run_chapter(APrediction, trace, tmp_path / "c", probe_class=3)
    # Manim's Text keeps its string without spaces.
    assert f"trueclass:{names[0]}" in seen0
    assert f"trueclass:{names[3]}" in " | ".join(ctx.seen_text)


class Tracked(dict):
    """A trace that records the dotted path of every value read from it."""

    def __init__(self, data, log, prefix=()):
        super().__init__(data)
        self._log, self._prefix = log, prefix

    def __getitem__(self, key):
        value = super().__getitem__(key)
        path = self._prefix + (key,)
        if isinstance(value, dict):
            return Tracked(value, self._log, path)
        self._log.add(".".join(path))
        return value

    def get(self, key, default=None):
        return self[key] if key in self else default


@pytest.mark.parametrize("chapter_cls", SCENES_IN_ORDER, ids=lambda c: c.__name__)
def test_chapter_declares_what_it_reads(chapter_cls, trace, tmp_path):
    """The render cache keys a chapter by `reads`: it must cover every trace value the chapter uses."""
    used = set()
    run_chapter(chapter_cls, Tracked(trace, used), tmp_path)
    if "*" in chapter_cls.reads:
        return
    uncovered = sorted(u for u in used
                       if not any(u == r or u.startswith(r + ".") for r in chapter_cls.reads))
    assert not uncovered, f"{chapter_cls.__name__}.reads misses {uncovered}"


def test_every_chapter_renders_real_frames(trace, tmp_path):
    """A smoke render of the whole lesson at a tiny size: updaters and tweens run frame by frame."""
    import av

    tiny = {**FAST, "save_last_frame": False, "write_to_movie": True, "pixel_width": 192,
            "pixel_height": 108, "frame_rate": 4}
    for chapter_cls in SCENES_IN_ORDER:
        ctx = LessonContext(trace=trace, voice=get_voice("none", cache_dir=tmp_path / "voice"),
                            add_sound=False)
        scene = render_scene(chapter_cls, ctx, {**tiny, "media_dir": str(tmp_path / "media")})
        path = scene.renderer.file_writer.movie_file_path
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            seconds = float(stream.duration * stream.time_base)
        # the video is as long as the chapter's timeline says (whole frames at 4 fps)
        assert abs(seconds - scene.timeline()["duration"]) <= 0.5, chapter_cls.__name__


def test_lesson_plays_every_chapter_in_one_scene_with_a_section_each(trace, tmp_path):
    from scenes.lesson import Lesson

    class Recorded(Lesson):  # Manim keeps no sections when it writes no movie: record them
        def next_section(self, name="unnamed", *args, **kwargs):
            self.section_names = getattr(self, "section_names", []) + [name]
            super().next_section(name, *args, **kwargs)

    ctx = LessonContext(trace=trace, voice=get_voice("none", cache_dir=tmp_path / "voice"),
                        add_sound=False, check_layout=True)
    scene = render_scene(Recorded, ctx, {**FAST, "media_dir": str(tmp_path / "media")})
    assert scene.section_names == [f"{c.number:02d} {c.title}" for c in SCENES_IN_ORDER]
    assert len(scene.beats) >= 3 * len(SCENES_IN_ORDER)
    assert ctx.layout_problems == []
