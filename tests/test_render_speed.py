"""Render speed without a change a viewer could see (issue 19): a held frame converted once encodes the
same frames; an edit to one beat re-renders that beat, and the chapter it gives equals a cold render."""

from __future__ import annotations

import re
from fractions import Fraction

import av
import numpy as np
import pytest
from manim._config.video_encoder import VideoEncoderSpec
from manim.scene.video_segment_encoder import VideoSegmentEncoder

from kdanim.narration import script as scriptmod
from kdanim.render import RenderOptions, render_chapter
from kdanim.render.frames import HeldFrameEncoder, Stopwatch
from kdanim.render.options import h264_options
from kdanim.scenes import Summary


def decoded(path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_a_held_frame_converted_once_encodes_the_same_frames(tmp_path):
    spec = VideoEncoderSpec("mp4", "libx264", "yuv420p", 64, 36, Fraction(15),
                            tuple(sorted(h264_options("low").items())))
    rng = np.random.default_rng(0)
    frames = [(rng.integers(0, 255, (36, 64, 4), dtype=np.uint8), repeat) for repeat in (1, 7, 1, 1, 12, 3)]
    stopwatch = Stopwatch()
    for cls, name in ((VideoSegmentEncoder, "manim.mp4"), (HeldFrameEncoder, "held.mp4")):
        enc = cls(target=tmp_path / name, spec=spec)
        enc.stopwatch = stopwatch
        for pixels, repeat in frames:
            enc.write_frame(np.ascontiguousarray(pixels), repeat=repeat)
        enc.finish()
    ours, manims = decoded(tmp_path / "held.mp4"), decoded(tmp_path / "manim.mp4")
    assert len(ours) == len(manims) == sum(r for _, r in frames)
    assert all(np.array_equal(a, b) for a, b in zip(ours, manims)), "converting once changed a frame"
    assert stopwatch.frames == len(ours)
    assert not list(tmp_path.glob(".*")), "the temporary segment was renamed into place"


def test_an_aborted_segment_leaves_no_file(tmp_path):
    spec = VideoEncoderSpec("mp4", "libx264", "yuv420p", 64, 36, Fraction(15), ())
    enc = HeldFrameEncoder(target=tmp_path / "x.mp4", spec=spec)
    enc.write_frame(np.zeros((36, 64, 4), np.uint8), repeat=3)
    enc.abort()
    assert list(tmp_path.iterdir()) == [], "an interrupted animation must not look cached"


def edited_script(tmp_path):
    text = (scriptmod.SCRIPTS / "en.md").read_text(encoding="utf-8")
    new = ("## summary.reproduce\nEvery number in this video came from one simulation, seed {{ seed }}, and"
           " nothing else. Run the command on screen and the same lesson comes out again, to the last"
           " frame, apart from the measured latency; the trace's hash checks it.\n\n")
    text, n = re.subn(r"## summary\.reproduce\n.*?\n\n", new, text, count=1, flags=re.S)
    assert n == 1
    path = tmp_path / "edited.md"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.slow
def test_a_one_beat_edit_reuses_the_other_beats_and_equals_a_cold_render(rings_trace, tmp_path, monkeypatch):
    edited = edited_script(tmp_path)

    def render(cache: str, script=None):
        monkeypatch.setenv("KDANIM_CACHE", str(tmp_path / cache))
        opts = RenderOptions(quality="low", voice="none", **({"script": str(script)} if script else {}))
        return render_chapter(Summary, rings_trace, opts, tmp_path / f"work-{cache}-{bool(script)}")

    first = render("warm")
    again = render("warm")
    assert again.stages["frames"] == 0, "an identical re-render encodes nothing"
    assert again.timeline == first.timeline
    assert [np.array_equal(a, b) for a, b in zip(decoded(again.video), decoded(first.video))] == \
        [True] * len(decoded(first.video))

    reused = render("warm", edited)
    cold = render("cold", edited)
    assert cold.stages["frames"] == len(decoded(cold.video)), "the cold render draws every frame"
    assert 0 < reused.stages["frames"] < cold.stages["frames"] / 2, "the edit re-rendered only its beat"
    assert reused.timeline == cold.timeline, "the edit's timeline (speech, beats, duration) is a cold render's"
    ours, theirs = decoded(reused.video), decoded(cold.video)
    assert len(ours) == len(theirs) > len(decoded(first.video)), "the longer words made a longer chapter"
    differ = [i for i, (a, b) in enumerate(zip(ours, theirs)) if not np.array_equal(a, b)]
    assert differ == [], f"{len(differ)} frames differ from a cold render, first at {differ[:1]}"
