"""Manim's Cairo renderer and segment encoder, measured, with a held frame converted once.

A chapter holds its last frame while the narration finishes: Manim hands such a frame to the encoder
once with a repeat count, and its encoder converts RGBA to yuv420p again for every repeat. At 1080p
that conversion costs as much as x264 itself. `HeldFrameEncoder` converts once, with the reformatter
and settings PyAV's encoder would use, so the encoded frames are the same.

Manim's cache takes an animation's file for done when it exists, and renders of other chapters or
variants (other processes) share that cache: each segment is written under a temporary name and
renamed into place when complete.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.video.reformatter import VideoReformatter
from manim.renderer.cairo_renderer import CairoRenderer
from manim.scene.scene_file_writer import SceneFileWriter
from manim.scene.video_segment_encoder import VideoSegmentEncoder
from manim.utils import hashing

# Manim's cache key of an animation leaves out run-dependent attributes. An SVG mobject's (a Text's)
# map from SVG element ids to its parts is one: Cairo numbers its surfaces per process ("surface67"),
# so the same text drawn later in a process would miss the cache. The parts themselves are hashed.
hashing.KEYS_TO_FILTER_OUT.add("id_to_vgroup_dict")

__all__ = ["Stopwatch", "MeasuredRenderer", "HeldFrameWriter", "HeldFrameEncoder"]


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


class HeldFrameEncoder(VideoSegmentEncoder):
    """Manim's segment encoder, converting each frame once however many times it is repeated."""

    stopwatch: Stopwatch | None = None

    def __init__(self, *, target, spec) -> None:
        self.final = Path(target)
        super().__init__(target=self.final.with_name(f".{os.getpid()}-{threading.get_ident()}-{self.final.name}"),
                         spec=spec)

    def finish(self) -> None:
        done = self._closed
        super().finish()
        if not done:
            os.replace(self.target, self.final)

    def write_frame(self, pixels, *, repeat: int = 1) -> None:
        self._validate_frame(pixels, repeat)
        t0 = time.thread_time()
        ctx = self._stream.codec_context
        # what PyAV's encoder does with a frame not in the stream's format, done here once
        frame = _reformatter().reformat(av.VideoFrame.from_ndarray(pixels, format="rgba"), ctx.width, ctx.height,
                                        ctx.format, threads=ctx.thread_count)
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
            self.stopwatch.add(converting=t1 - t0, encoding=time.thread_time() - t1, frames=repeat)


_local = threading.local()


def _reformatter() -> VideoReformatter:
    if not hasattr(_local, "reformatter"):  # one per encoder thread: it keeps a swscale context
        _local.reformatter = VideoReformatter()
    return _local.reformatter


class HeldFrameWriter(SceneFileWriter):
    """Manim's file writer with `HeldFrameEncoder` segments."""

    stopwatch: Stopwatch | None = None

    def _create_segment_encoder(self, target):
        if self.video_encoder is None:
            return super()._create_segment_encoder(target)
        encoder = HeldFrameEncoder(target=target, spec=self.video_encoder)
        encoder.stopwatch = self.stopwatch
        return encoder


class MeasuredRenderer(CairoRenderer):
    """Manim's Cairo renderer writing through `HeldFrameWriter`, timing its drawing on ``stopwatch``.

    Manim's clock adds each frame's 1/fps, and an animation taken from Manim's cache its run time. Here
    the clock is the frames written so far over the frame rate, a cached animation's being the frames
    of its file: the chapter's timeline (where its speech goes, how long its waits are) is then the
    same to the last bit whether an animation was drawn or taken from the cache.
    """

    def __init__(self, stopwatch: Stopwatch, **kwargs):
        writer = type("Writer", (HeldFrameWriter,), {"stopwatch": stopwatch})
        super().__init__(file_writer_class=writer, **kwargs)
        self.stopwatch = stopwatch
        self.frames = 0  # written to the movie so far

    def play(self, scene, *args, **kwargs) -> None:
        super().play(scene, *args, **kwargs)
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

    def update_frame(self, *args, **kwargs):
        t0 = time.thread_time()
        super().update_frame(*args, **kwargs)
        self.stopwatch.add(drawing=time.thread_time() - t0, drawn=1)
