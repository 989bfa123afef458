"""Manim's Cairo renderer and segment encoder, measured, with a held frame converted once and no frame copied.

A chapter holds its last frame while the narration finishes: Manim hands such a frame to the encoder
once with a repeat count, and its encoder converts RGBA to yuv420p again for every repeat. At 1080p
that conversion costs as much as x264 itself. `HeldFrameEncoder` converts once, with the reformatter
and settings PyAV's encoder would use, so the encoded frames are the same.

Manim's cache takes an animation's file for done when it exists, and renders of other chapters or
variants (other processes) share that cache: each segment is written under a temporary name and
renamed into place when complete.

Manim copies every drawn frame for its encoder thread (``get_frame``), and PyAV's encoder copies it again
into a frame of its own before converting it: 2.3 ms a 1080p frame together, a tenth of its whole cost.
Here the camera draws each frame into a buffer of a `FramePool` and hands that buffer itself to the
encoder thread, which converts it where it lies and gives it back; the next frame is drawn into a free one.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter
from manim import Mobject
from manim.renderer.cairo_renderer import CairoRenderer
from manim.scene.scene_file_writer import SceneFileWriter
from manim.scene.video_segment_encoder import VideoSegmentEncoder
from manim.utils import hashing

# Manim's cache key of an animation leaves out run-dependent attributes. An SVG mobject's (a Text's)
# map from SVG element ids to its parts is one: Cairo numbers its surfaces per process ("surface67"),
# so the same text drawn later in a process would miss the cache. The parts themselves are hashed.
hashing.KEYS_TO_FILTER_OUT.add("id_to_vgroup_dict")

__all__ = ["Stopwatch", "FramePool", "MeasuredRenderer", "HeldFrameWriter", "HeldFrameEncoder"]


@dataclass
class Stopwatch:
    """CPU seconds of one chapter's render, by stage (each measured on the thread that does it)."""

    drawing: float = 0.0     # Cairo drawing of the frames (main thread)
    converting: float = 0.0  # RGBA to yuv420p (encoder threads)
    encoding: float = 0.0    # x264 and muxing into the segment files (encoder threads)
    frames: int = 0          # frames encoded
    drawn: int = 0           # frames drawn

    def __post_init__(self):
        self._lock = threading.Lock()

    def add(self, **seconds) -> None:
        with self._lock:  # encoder threads of consecutive animations may overlap
            for k, v in seconds.items():
                setattr(self, k, getattr(self, k) + v)

    def as_dict(self) -> dict:
        return asdict(self)


class FramePool:
    """Frame buffers that the camera draws into and the encoder threads give back once they have converted
    them. A buffer is only ever taken free: one whose frame an encoder dropped (a failed segment) stays
    taken, and a new one is made instead, so a frame is never drawn over while it waits to be encoded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mine: dict[int, np.ndarray] = {}  # every buffer made, kept so that their ids stay theirs
        self._free: list[np.ndarray] = []

    def take(self, like: np.ndarray) -> np.ndarray:
        """A free buffer of ``like``'s shape and type (its pixels are left over: the camera draws all of them)."""
        with self._lock:
            for i, buf in enumerate(self._free):
                if buf.shape == like.shape and buf.dtype == like.dtype:
                    return self._free.pop(i)
            buf = np.empty_like(like)
            self._mine[id(buf)] = buf
            return buf

    def give_back(self, buf) -> None:
        """``buf`` is no longer read; a frame the pool did not make is left alone."""
        with self._lock:
            if self._mine.get(id(buf)) is buf:
                self._free.append(buf)

    def __len__(self) -> int:
        return len(self._mine)


class HeldFrameEncoder(VideoSegmentEncoder):
    """Manim's segment encoder, converting each frame once however many times it is repeated, and
    encoding a long hold's closed GOPs once.

    A segment that is one held frame (a wait while the narration finishes) is, with a key frame every
    ``keyint`` frames and no scene cuts, the same closed GOP over and over: x264 is given two of them
    and the rest (a shorter last GOP), and the segment is those two GOPs' packets repeated in turn,
    their times shifted, then the last. Each copy decodes to the same pictures, and consecutive key
    frames keep different IDR ids, as H.264 asks. At 1080p60 x264 spends about 5 ms on a still frame.
    """

    stopwatch: Stopwatch | None = None
    pool: FramePool | None = None  # where a frame goes once converted

    def __init__(self, *, target, spec) -> None:
        self.final = Path(target)
        super().__init__(target=self.final.with_name(f".{os.getpid()}-{threading.get_ident()}-{self.final.name}"),
                         spec=spec)
        self._hold: tuple[av.VideoFrame, int] | None = None  # a fresh segment's held frame, not encoded yet
        params = dict(o.split("=", 1) for o in dict(spec.options).get("x264-params", "").split(":") if "=" in o)
        self.gop = int(params["keyint"]) if params.get("keyint") == params.get("min-keyint") and \
            params.get("scenecut") == "0" and params.get("keyint", "").isdigit() else 0

    def finish(self) -> None:
        done = self._closed
        if not done and self._hold is not None:
            frame, repeat = self._hold
            self._hold = None
            self._repeat_gops(frame, repeat)  # the encoder flushed: the container is closed here
            self._closed = True
            try:
                self._container.close()
            except Exception as error:
                raise self._operation_error("finish", error) from error
        else:
            super().finish()
        if not done:
            os.replace(self.target, self.final)

    def write_frame(self, pixels, *, repeat: int = 1) -> None:
        self._validate_frame(pixels, repeat)
        if self._hold is not None:  # more after the hold: it is encoded frame by frame after all
            self._encode(*self._hold)
            self._hold = None
        t0 = time.thread_time()
        ctx = self._stream.codec_context
        # what PyAV's encoder does with a frame not in the stream's format, done here once
        # the frame is this encoder's own until converted (Manim's writer hands it over): wrapped, not copied,
        # and converted as PyAV's encoder would (same reformatter and settings, so the same pictures)
        frame = _reformatter().reformat(av.VideoFrame.from_numpy_buffer(pixels, format="rgba"), ctx.width,
                                        ctx.height, ctx.format, threads=ctx.thread_count)
        if self.pool is not None:
            self.pool.give_back(pixels)
        if self.stopwatch is not None:
            self.stopwatch.add(converting=time.thread_time() - t0)
        if self._next_pts == 0 and self.gop and repeat >= 3 * self.gop:
            self._hold = (frame, repeat)
            return
        self._encode(frame, repeat)

    def _encode(self, frame, repeat: int) -> None:
        t1 = time.thread_time()
        time_base = Fraction(self.spec.frame_rate.denominator, self.spec.frame_rate.numerator)
        try:
            for _ in range(repeat):
                frame.pts = self._next_pts
                frame.time_base = time_base
                self._next_pts += 1
                for packet in self._stream.encode(frame):
                    self._container.mux(packet)
        except BaseException as error:
            raise self._operation_error("encode", error) from error
        if self.stopwatch is not None:
            self.stopwatch.add(encoding=time.thread_time() - t1, frames=repeat)

    def _repeat_gops(self, frame, repeat: int) -> None:
        """The segment as ``repeat`` copies of ``frame``, from two encoded GOPs and the last; flushes the
        encoder."""
        g = self.gop
        full, rest = divmod(repeat, g)
        t1 = time.thread_time()
        time_base = Fraction(self.spec.frame_rate.denominator, self.spec.frame_rate.numerator)
        packets = []
        try:
            for i in range(2 * g + rest):
                frame.pts, frame.time_base = i, time_base
                packets += self._stream.encode(frame)
            packets += self._stream.encode(None)
        except BaseException as error:
            raise self._operation_error("encode", error) from error
        tick = 1 / (Fraction(self.spec.frame_rate) * Fraction(packets[0].time_base))  # pts units per frame
        gops = [[], [], []]  # A, B, the last (pts from 2g)
        for pk in packets:
            gops[min(int(pk.pts // tick) // g, 2)].append(pk)
        keys = [[pk.pts for pk in gop if pk.is_keyframe] for gop in gops]
        if keys[:2] != [[0], [g * tick]] or (rest and keys[2] != [2 * g * tick]):
            raise self._operation_error("encode", RuntimeError(f"x264 did not start a GOP every {g} frames"))
        # the last full GOP is B (whose IDR id differs from the last GOP's, encoded after it), so they alternate
        order = [gops[1] if (full - 1 - k) % 2 == 0 else gops[0] for k in range(full)]
        written = [(gop, k * g - (g if gop is gops[1] else 0)) for k, gop in enumerate(order)]
        written.append((gops[2], (full - 2) * g))
        try:
            for gop, shift in written:
                for pk in gop:
                    out = av.Packet(bytes(pk))
                    out.pts, out.dts = pk.pts + shift * tick, pk.dts + shift * tick
                    out.duration, out.time_base, out.stream, out.is_keyframe = pk.duration, pk.time_base, \
                        self._stream, pk.is_keyframe
                    self._container.mux(out)
        except BaseException as error:
            raise self._operation_error("encode", error) from error
        self._next_pts = repeat
        if self.stopwatch is not None:
            self.stopwatch.add(encoding=time.thread_time() - t1, frames=repeat)


_local = threading.local()


def _reformatter() -> VideoReformatter:
    if not hasattr(_local, "reformatter"):  # one per encoder thread: it keeps a swscale context
        _local.reformatter = VideoReformatter()
    return _local.reformatter


class HeldFrameWriter(SceneFileWriter):
    """Manim's file writer with `HeldFrameEncoder` segments."""

    stopwatch: Stopwatch | None = None
    pool: FramePool | None = None

    def _create_segment_encoder(self, target):
        if self.video_encoder is None:
            return super()._create_segment_encoder(target)
        encoder = HeldFrameEncoder(target=target, spec=self.video_encoder)
        encoder.stopwatch, encoder.pool = self.stopwatch, self.pool
        return encoder

    @property
    def encoding(self) -> bool:
        """Whether a frame written now goes to a segment's encoder thread."""
        return self.video_encoder is not None and self._current_encode_job is not None


class MeasuredRenderer(CairoRenderer):
    """Manim's Cairo renderer writing through `HeldFrameWriter`, timing its drawing on ``stopwatch``.

    Manim's clock adds each frame's 1/fps, and an animation taken from Manim's cache its run time. Here
    the clock is the frames written so far over the frame rate, a cached animation's being the frames
    of its file: the chapter's timeline (where its speech goes, how long its waits are) is then the
    same to the last bit whether an animation was drawn or taken from the cache.

    An animation taken from the cache draws nothing: Manim would still draw its static picture and its
    last frame (two frames at full size) and write neither. Every animation drawn begins from a picture
    of its own, so nothing drawn later depends on them; and the camera's table of how to draw each kind
    of mobject, which its first drawing makes and Manim's hash of every later animation includes, is
    made before the first animation, so the hashes are the same whether the animations before were
    drawn or not. What an animation leaves on the stage is not drawing's: a chapter steps those whose
    end depends on their steps through their frames' times, undrawn (kdanim.lesson.Chapter reads
    :attr:`from_cache`).
    """

    def __init__(self, stopwatch: Stopwatch, **kwargs):
        self.pool = FramePool()
        writer = type("Writer", (HeldFrameWriter,), {"stopwatch": stopwatch, "pool": self.pool})
        super().__init__(file_writer_class=writer, **kwargs)
        self.stopwatch = stopwatch
        self.frames = 0  # written to the movie so far
        self._handed_over = False  # the camera's buffer went to the encoder: the next frame needs another
        self._playing = False  # inside play()

    @property
    def from_cache(self) -> bool:
        """Inside a play() whose animation Manim takes from its cache (its hash found: not skipped by the
        settings, as a still's are)."""
        return self._playing and self.skip_animations and bool(self.animations_hashes) \
            and self.animations_hashes[-1] is not None

    def render(self, scene, t, moving_mobjects=None) -> None:
        """Draw a frame and hand the camera's buffer itself to the encoder thread (Manim hands it a copy)."""
        if self.from_cache:
            return
        self.update_frame(scene, moving_mobjects)
        if self.skip_animations or not self.file_writer.encoding:
            self.add_frame(self.get_frame())
            return
        self._handed_over = True  # read as it is until converted: `update_frame` draws the next frame elsewhere
        self.add_frame(self.camera.pixel_array)

    def play(self, scene, *args, **kwargs) -> None:
        if not hasattr(self.camera, "display_funcs"):
            self.camera.type_or_raise(Mobject())
        self._playing = True
        try:
            super().play(scene, *args, **kwargs)
        finally:
            self._playing = False
        cached = self.skip_animations and not self._original_skipping_status and self.animations_hashes[-1]
        if cached:
            with av.open(self.file_writer.partial_movie_files[-1]) as c:
                self.frames += c.streams.video[0].frames
            self.time = self.frames / self.camera.frame_rate

    def add_frame(self, frame, num_frames: int = 1) -> None:
        if self.skip_animations:
            return
        self.frames += num_frames
        self.time = self.frames / self.camera.frame_rate
        self.file_writer.write_frame(frame, repeat=num_frames)

    def save_static_frame_data(self, scene, static_mobjects):
        if self.from_cache:
            self.static_image = None
            return None
        return super().save_static_frame_data(scene, static_mobjects)

    def freeze_current_frame(self, duration: float) -> None:
        if not self.from_cache:
            super().freeze_current_frame(duration)

    def update_frame(self, *args, **kwargs):
        if self.from_cache:
            return
        if self._handed_over:
            self.camera.pixel_array = self.pool.take(self.camera.pixel_array)
            self._handed_over = False
        t0 = time.thread_time()
        super().update_frame(*args, **kwargs)
        self.stopwatch.add(drawing=time.thread_time() - t0, drawn=1)
