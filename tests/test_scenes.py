"""Every chapter, run through all its beats without drawing frames: narration, layout, numbers on screen,
and the trace values it reads.

Each chapter runs once per dataset (the session's default runs of the rings and of the digits)
with a trace that records every value read from it; the tests below check those runs from
several sides. Rendering real frames is marked slow.
"""

import copy

import numpy as np
import pytest

from kdanim.render import RenderOptions, make_context, render_scene
from kdanim.scenes import SCENES_IN_ORDER

FAST = {"quality": "low_quality", "pixel_width": 320, "pixel_height": 180, "save_last_frame": True,
        "write_to_movie": False, "disable_caching": True, "verbosity": "ERROR", "progress_bar": "none"}


def context(trace, probe_class=0, **extra):
    """The context a render draws ``trace`` from (silent voice), with the tests' layout checks on."""
    return make_context(trace, RenderOptions(voice="none", probe_class=probe_class), add_sound=False,
                        check_layout=True, **extra)


def run_chapter(chapter_cls, trace, tmp_path, probe_class=0, drawn_from=None, **extra):
    """Run a chapter's construct with animations skipped; return its context and scene.

    ``drawn_from``: the trace the chapter draws from, when it is not ``trace`` itself (a recording
    wrapper: the words are filled from ``trace`` as a render fills them, apart from the drawing).
    """
    ctx = context(trace, probe_class, **extra)
    if drawn_from is not None:
        ctx.trace = drawn_from
    return ctx, render_scene(chapter_cls, ctx, {**FAST, "media_dir": str(tmp_path / "media")})


class Tracked(dict):
    """A trace that records the dotted path of every value read from it: by ``[]``, ``get``, ``in``,
    iteration, ``keys``, ``values`` and ``items`` (a loop over a part reads all of it)."""

    def __init__(self, data, log, prefix=()):
        super().__init__(data)
        self._log, self._prefix = log, prefix

    def _path(self, key):
        return ".".join(self._prefix + (str(key),))

    def _wrap(self, key, value):
        path = self._prefix + (key,)
        if isinstance(value, dict):
            return Tracked(value, self._log, path)
        self._read(key, value)
        if isinstance(value, list):  # its length and order are read; the objects in it record their own reads
            return [Tracked(v, self._log, path) if isinstance(v, dict) else v for v in value]
        return value

    def _read(self, key, value):
        self._log.add(self._path(key))
        return value

    def _whole(self):
        """Its key set was read: the part itself (its path), or every top-level part of the trace."""
        if self._prefix:
            self._log.add(".".join(self._prefix))
        else:
            self._log.update(super().keys())

    def __getitem__(self, key):
        return self._wrap(key, super().__getitem__(key))

    def get(self, key, default=None):
        return self[key] if key in self else default

    def __contains__(self, key):
        self._log.add(self._path(key))
        return super().__contains__(key)

    def __iter__(self):
        self._whole()
        return super().__iter__()

    def __len__(self):
        self._whole()
        return super().__len__()

    def keys(self):
        self._whole()
        return super().keys()

    def values(self):
        return [self[k] for k in super().keys()]

    def items(self):
        return [(k, self[k]) for k in super().keys()]


def test_the_tracked_trace_sees_every_way_of_reading():
    used = set()
    t = Tracked({"a": {"b": 1, "c": [{"d": 2}]}, "e": 3, "f": {"g": 4}}, used)
    assert t["a"]["b"] == 1 and t["a"]["c"][0]["d"] == 2
    assert "x" not in t["f"] and dict(t["f"].items()) == {"g": 4}
    assert used == {"a.b", "a.c", "a.c.d", "f.x", "f.g"}  # a list is read as a whole (its length too)
    used.clear()
    assert sorted(t) == ["a", "e", "f"] and used == {"a", "e", "f"}  # a loop over the trace reads every part
    used.clear()
    assert len(t["f"]) == 1 and list(t["f"].values()) == [4] and used == {"f", "f.g"}
    used.clear()
    assert t.get("e") == 3 and t.get("zz") is None and used == {"e", "zz"}


# -- one run of every chapter per dataset ------------------------------------------------------------

@pytest.fixture(scope="module")
def runs(rings_trace, digits_trace, tmp_path_factory):
    """(dataset, chapter class) -> {"ctx", "scene", "used"}: each chapter run once on each dataset's trace
    (the digits with probe class 3, a preview: the last beat stays on screen), recording what it reads."""
    cache = {}

    def get(dataset, chapter_cls):
        if (dataset, chapter_cls) not in cache:
            trace, probe = (rings_trace, 0) if dataset == "rings" else (digits_trace, 3)
            used = set()
            tmp = tmp_path_factory.mktemp(f"{dataset}-{chapter_cls.__name__}")
            ctx, scene = run_chapter(chapter_cls, trace, tmp, probe_class=probe, drawn_from=Tracked(trace, used),
                                     preview=dataset == "digits")
            cache[dataset, chapter_cls] = {"ctx": ctx, "scene": scene, "used": used}
        return cache[dataset, chapter_cls]

    return get


CHAPTERS = pytest.mark.parametrize("chapter_cls", SCENES_IN_ORDER, ids=lambda c: c.__name__)


def test_ten_chapters_in_order():
    assert [c.number for c in SCENES_IN_ORDER] == list(range(1, 11))
    assert len({c.__name__ for c in SCENES_IN_ORDER}) == 10


@CHAPTERS
def test_chapter_beats_are_narrated_and_laid_out(chapter_cls, runs):
    ctx, scene = runs("rings", chapter_cls)["ctx"], runs("rings", chapter_cls)["scene"]
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
    assert scene.title and tl["title"] == scene.title


def test_titles_are_distinct(runs):
    titles = [runs("rings", c)["scene"].title for c in SCENES_IN_ORDER]
    assert len(set(titles)) == len(titles), titles


@pytest.mark.parametrize("dataset", ["rings", "digits"])
@CHAPTERS
def test_chapter_declares_what_it_reads(chapter_cls, dataset, runs, rings_trace):
    """The render cache keys a chapter by `reads`: they must cover every trace value the chapter uses,
    and a chapter that reads "*" (the whole trace) must use every part of it."""
    used = runs(dataset, chapter_cls)["used"]
    assert used, "the chapter reads its trace"
    reads = chapter_cls.reads
    if "*" in reads:
        assert {u.split(".")[0] for u in used} >= set(rings_trace), \
            f"{chapter_cls.__name__} reads '*' but uses only {sorted({u.split('.')[0] for u in used})}: narrow its reads"
        return
    uncovered = sorted(u for u in used if not any(u == r or u.startswith(r + ".") for r in reads))
    assert not uncovered, f"{chapter_cls.__name__}.reads misses {uncovered}"


def _seen_and_said(ctx, scene):
    return " | ".join(ctx.seen_text), " ".join(scene.beats)


def test_a_changed_trace_number_changes_screen_and_speech(rings_trace, runs, tmp_path):
    from kdanim.scenes import CompressionResults

    changed = copy.deepcopy(rings_trace)
    changed["summary"]["distilled"]["test_accuracy"] = 0.4321
    before_seen, before_said = _seen_and_said(**{k: runs("rings", CompressionResults)[k] for k in ("ctx", "scene")})
    seen, said = _seen_and_said(*run_chapter(CompressionResults, changed, tmp_path))
    assert "43.2%" in seen and "43.2%" not in before_seen
    assert said != before_said and "43.2 percent" in said


def test_probe_class_changes_the_prediction_chapter(rings_trace, runs, tmp_path):
    from kdanim.scenes import APrediction

    names = rings_trace["classes"]["names"]
    seen0, _ = _seen_and_said(**{k: runs("rings", APrediction)[k] for k in ("ctx", "scene")})
    ctx, scene = run_chapter(APrediction, rings_trace, tmp_path, probe_class=3)
    # Manim's Text keeps its string without spaces.
    assert f"trueclass:{names[0]}" in seen0
    assert f"trueclass:{names[3]}" in " | ".join(ctx.seen_text)


# -- the lesson on another dataset: handwritten digits --------------------------------------------

PROBE_CHAPTERS = {1, 3, 4, 6, 7, 9}  # the chapters that show the probe input


@CHAPTERS
def test_digits_chapters_draw_the_input_and_name_digits(chapter_cls, runs, digits_trace):
    from kdanim.viz import PixelImage

    ctx, scene = runs("digits", chapter_cls)["ctx"], runs("digits", chapter_cls)["scene"]
    assert ctx.layout_problems == []
    said = " ".join(scene.beats).lower().replace(",", " ").replace(".", " ").split()
    assert not {"cat", "dog", "fox", "car", "truck", "animals", "vehicles", "families"} & set(said)
    pictures = [m for top in scene.mobjects for m in top.get_family() if isinstance(m, PixelImage)]
    if chapter_cls.number in PROBE_CHAPTERS:
        probe = digits_trace["data"]["probe_images"][3]
        assert any(np.allclose([c.get_fill_opacity() for c in p.cells], probe) for p in pictures), \
            "the probe is drawn as its own 8×8 image"
        if chapter_cls.number != 3:  # chapter 3's words are about the networks
            assert "digit 3" in " ".join(scene.beats)


def test_digits_task_chapter_speaks_of_the_pairs_this_teacher_confuses(runs, digits_trace):
    from kdanim import facts
    from kdanim.scenes import TheTask

    ctx, scene = runs("digits", TheTask)["ctx"], runs("digits", TheTask)["scene"]
    i, j, _ = facts.confused_pairs(digits_trace, 1)[0]
    said = " ".join(scene.beats)
    assert f"{i} with {j}" in said and "ten classes" in said
    assert f"{i}and{j}" in " | ".join(ctx.seen_text)  # Manim's Text keeps its string without spaces


# -- real frames (slow) ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_every_chapter_renders_real_frames(rings_trace, tmp_path):
    """A smoke render of the whole lesson at a tiny size: updaters and tweens run frame by frame."""
    import av

    tiny = {**FAST, "save_last_frame": False, "write_to_movie": True, "pixel_width": 192,
            "pixel_height": 108, "frame_rate": 4}
    for chapter_cls in SCENES_IN_ORDER:
        ctx = make_context(rings_trace, RenderOptions(voice="none"), add_sound=False)
        scene = render_scene(chapter_cls, ctx, {**tiny, "media_dir": str(tmp_path / "media")})
        path = scene.renderer.file_writer.movie_file_path
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            seconds = float(stream.duration * stream.time_base)
        # the video is as long as the chapter's timeline says (whole frames at 4 fps)
        assert abs(seconds - scene.timeline()["duration"]) <= 0.5, chapter_cls.__name__


@pytest.mark.slow
def test_lesson_plays_every_chapter_in_one_scene_with_a_section_each(rings_trace, tmp_path):
    from kdanim.scenes.lesson import Lesson

    class Recorded(Lesson):  # Manim keeps no sections when it writes no movie: record them
        def next_section(self, name="unnamed", *args, **kwargs):
            self.section_names = getattr(self, "section_names", []) + [name]
            super().next_section(name, *args, **kwargs)

    ctx, scene = run_chapter(Recorded, rings_trace, tmp_path)
    titles = [t.split(" ", 1)[1] for t in scene.section_names]
    assert [t.split(" ", 1)[0] for t in scene.section_names] == [f"{c.number:02d}" for c in SCENES_IN_ORDER]
    assert len(set(titles)) == len(SCENES_IN_ORDER) and all(titles)
    assert len(scene.beats) >= 3 * len(SCENES_IN_ORDER)
    assert ctx.layout_problems == []
