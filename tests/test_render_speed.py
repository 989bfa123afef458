"""Render speed without a change a viewer could see (issue 19): a held frame converted once encodes the
same frames; an edit to one beat re-renders that beat, and the chapter it gives equals a cold render."""

from __future__ import annotations

import re
from fractions import Fraction

import av
import numpy as np
import pytest
from manim import BLUE, GREEN, LEFT, RED, RIGHT, Scene, Square, tempconfig
from manim._config.video_encoder import VideoEncoderSpec
from manim.renderer.cairo_renderer import CairoRenderer
from manim.scene.video_segment_encoder import VideoSegmentEncoder

from kdanim.narration import script as scriptmod
from kdanim.render import RenderOptions, render_chapter
from kdanim.render.frames import HeldFrameEncoder, MeasuredRenderer, Stopwatch
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


@pytest.mark.parametrize("gops,rest", [(3, 0), (4, 0), (5, 3), (6, 1)])
def test_a_long_hold_is_two_gops_repeated_and_decodes_as_encoded_frame_by_frame(tmp_path, gops, rest):
    """A segment that is one held frame: x264 encodes two GOPs and the last, the others are their copies.
    Every frame decodes as a frame-by-frame encode's does (to x264's noise), at a constant frame rate, with a
    key frame every GOP and IDR ids that differ from one key frame to the next."""
    spec = VideoEncoderSpec("mp4", "libx264", "yuv420p", 64, 36, Fraction(15),
                            tuple(sorted(h264_options("low").items())))
    g = 7  # half of 15 fps
    rng = np.random.default_rng(gops)
    pixels = np.full((36, 64, 4), 255, np.uint8)
    pixels[..., :3] = 20
    for _ in range(12):  # flat boxes with sharp edges, as a chapter's frames are
        y, x = rng.integers(0, 30), rng.integers(0, 56)
        pixels[y:y + 5, x:x + 8, :3] = rng.integers(0, 255, 3)
    repeat = gops * g + rest
    stopwatch = Stopwatch()
    for cls, name in ((VideoSegmentEncoder, "manim.mp4"), (HeldFrameEncoder, "held.mp4")):
        enc = cls(target=tmp_path / name, spec=spec)
        enc.stopwatch = stopwatch
        enc.write_frame(pixels, repeat=repeat)
        enc.finish()
    ours, manims = decoded(tmp_path / "held.mp4"), decoded(tmp_path / "manim.mp4")
    assert len(ours) == len(manims) == repeat == stopwatch.frames
    def psnr(a):
        return 10 * np.log10(255 ** 2 / np.mean((a.astype(float) - pixels[..., :3]) ** 2))
    ours_worst, manims_worst = min(map(psnr, ours)), min(map(psnr, manims))
    assert ours_worst > manims_worst - 0.5, f"copied GOPs: {ours_worst:.1f} dB, frame by frame {manims_worst:.1f}"
    with av.open(str(tmp_path / "held.mp4")) as c:
        s = c.streams.video[0]
        packets = sorted((pk for pk in c.demux(s) if pk.pts is not None), key=lambda pk: pk.pts)
        tick = 1 / (Fraction(15) * Fraction(s.time_base))
        assert [pk.pts for pk in packets] == [i * tick for i in range(repeat)]           # constant frame rate
        assert [i for i, pk in enumerate(packets) if pk.is_keyframe] == list(range(0, repeat, g))
        ids = [_idr_pic_id(bytes(pk)) for pk in packets if pk.is_keyframe]
        assert all(a != b for a, b in zip(ids, ids[1:])), f"consecutive IDR frames share an id: {ids}"


def _idr_pic_id(data: bytes) -> int:
    """idr_pic_id of the first IDR slice in an AVCC (length-prefixed) H.264 sample (a slice header's
    exp-Golomb fields: first_mb_in_slice, slice_type, pic_parameter_set_id, frame_num (log2 4 + ... bits
    as the SPS says; x264 writes 4 bits at these settings), then idr_pic_id)."""
    i = 0
    while i + 4 <= len(data):
        n = int.from_bytes(data[i:i + 4], "big")
        nal = data[i + 4:i + 4 + n]
        i += 4 + n
        if nal and nal[0] & 0x1F == 5:
            bits = "".join(f"{b:08b}" for b in nal[1:16])
            pos = 0

            def ue():
                nonlocal pos
                zeros = 0
                while bits[pos] == "0":
                    zeros += 1
                    pos += 1
                value = int(bits[pos:pos + zeros + 1], 2) - 1
                pos += zeros + 1
                return value
            ue(), ue(), ue()
            pos += 4  # frame_num
            return ue()
    raise AssertionError("no IDR slice")


def test_an_aborted_segment_leaves_no_file(tmp_path):
    spec = VideoEncoderSpec("mp4", "libx264", "yuv420p", 64, 36, Fraction(15), ())
    enc = HeldFrameEncoder(target=tmp_path / "x.mp4", spec=spec)
    enc.write_frame(np.zeros((36, 64, 4), np.uint8), repeat=3)
    enc.abort()
    assert list(tmp_path.iterdir()) == [], "an interrupted animation must not look cached"


class _Moving(Scene):
    def construct(self):
        dot = Square(side_length=0.8, fill_opacity=1, color=RED).shift(LEFT * 3)
        self.add(Square(side_length=3, color=BLUE))  # static: drawn once per play, under the moving square
        self.play(dot.animate.shift(RIGHT * 6), run_time=1.5)
        self.wait(0.5)
        self.play(dot.animate.rotate(1.0).set_color(GREEN), run_time=1)


def test_frames_handed_to_the_encoder_uncopied_are_the_frames_drawn(tmp_path, monkeypatch):
    """The camera's buffer goes to the encoder thread as it is, and the next frame is drawn into a free one:
    the video equals one whose every frame was copied first (Manim's way), and a few buffers serve them all."""
    def render(name, handover):
        if not handover:
            monkeypatch.setattr(MeasuredRenderer, "render", CairoRenderer.render)
        stopwatch = Stopwatch()
        with tempconfig({"media_dir": str(tmp_path / name), "pixel_width": 160, "pixel_height": 90, "frame_rate": 15,
                         "disable_caching": True, "verbosity": "ERROR", "progress_bar": "none",
                         "video_encoder_options": h264_options("low")}):
            renderer = MeasuredRenderer(stopwatch)
            scene = _Moving(renderer=renderer)
            scene.render()
        monkeypatch.undo()
        return decoded(scene.renderer.file_writer.movie_file_path), renderer.pool, stopwatch

    ours, pool, stopwatch = render("ours", True)
    copied, unused, _ = render("copied", False)
    assert len(ours) == len(copied) == 45
    assert all(np.array_equal(a, b) for a, b in zip(ours, copied)), "a frame was drawn over before it was encoded"
    assert len(unused) == 0 and 1 <= len(pool) <= 12 < stopwatch.drawn, (len(pool), stopwatch.drawn)


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


@pytest.mark.slow
def test_an_edit_to_a_first_beat_takes_the_animated_curves_after_it_from_the_cache(rings_trace, tmp_path,
                                                                                    monkeypatch):
    """An edit to chapter 6's first beat re-renders that beat only: the curves drawn epoch by epoch after it
    (the epoch counter, the bars and their value labels moved by updaters) and the last beat come from
    Manim's cache, and the frames are a cold render's of the edited words. Taken from the cache, the
    curves' animation steps through its frames' times undrawn; taken to its end in one step (Manim's
    way), its updaters left the stage otherwise, to the bit, and the last beat missed the cache: 381
    frames re-rendered instead of 176 in a fresh process."""
    from kdanim.scenes import Training

    text = (scriptmod.SCRIPTS / "en.md").read_text(encoding="utf-8")
    text, n = re.subn(r"(## training\.intro\n(?:.*\n)*?- otherwise:\n  )", r"\1Watch closely. ", text, count=1)
    assert n == 1
    (tmp_path / "edited.md").write_text(text, encoding="utf-8")

    def render(cache: str, script=None):
        monkeypatch.setenv("KDANIM_CACHE", str(tmp_path / cache))
        opts = RenderOptions(quality="low", voice="none", **({"script": str(script)} if script else {}))
        return render_chapter(Training, rings_trace, opts, tmp_path / f"work-{cache}-{bool(script)}")

    render("warm")
    reused = render("warm", tmp_path / "edited.md")
    cold = render("cold", tmp_path / "edited.md")
    intro = round(cold.timeline["beat_spans"][1][0] * 15)  # the frames before the second beat's speech
    assert 0 < reused.stages["frames"] <= intro + 15, (reused.stages["frames"], intro, cold.stages["frames"])
    ours, theirs = decoded(reused.video), decoded(cold.video)
    assert len(ours) == len(theirs) and all(np.array_equal(a, b) for a, b in zip(ours, theirs))


def test_the_chapter_cache_keys_on_the_code_that_renders_only(monkeypatch):
    """A change to the lesson folder's assembly (kdanim/publish) or to the command line keeps every
    rendered chapter: nothing that renders a chapter imports them (tests/test_layout.py's layers), so
    they are left out of the code version; every other source is in it."""
    from kdanim.files import ROOT
    from kdanim.render import chapter

    hashed = []
    monkeypatch.setattr(chapter, "source_hash", lambda *paths: hashed.extend(paths) or "h")
    chapter.code_version()
    names = {p.relative_to(ROOT).as_posix() for p in hashed}
    assert not names & {"kdanim/publish", "kdanim/cli.py", "kdanim/cli_options.py"}
    every = {p.relative_to(ROOT).as_posix() for p in (ROOT / "kdanim").iterdir() if p.name != "__pycache__"}
    assert every - names == {"kdanim/publish", "kdanim/cli.py", "kdanim/cli_options.py"} and "scenes" in names
