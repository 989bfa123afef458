"""Choose the H.264 constant-rate factor: bitrate and sharpness of each --quality at several CRFs.

    .venv/bin/python bench/bench_encode.py                       # low, medium, high; chapter 8
    .venv/bin/python bench/bench_encode.py --quality 4k --upto 4 --crf 18,20
    .venv/bin/python bench/bench_encode.py --quality high --crf 16,18 --preset medium,veryfast,superfast

For each quality it renders the first ``--upto`` animations of a text-heavy chapter (8: the results
table, the smallest text of the lesson) losslessly (x264 qp 0), then encodes those frames as
kdanim does (kdanim.render.options.h264_options: High profile, closed GOP of half the frame rate,
2 B-frames) at each CRF and prints the bitrate, the PSNR of the luma against the lossless frames
(mean and worst frame), the PSNR inside the text (pixels next to a strong edge, where blur and
ringing show first) and the encoder's speed; the row "23*" is Manim's default encode (CRF 23, x264's
GOP of 250 frames, 3 B-frames) for comparison. ``--preset`` compares x264 presets: "cpu ms" is the
encoder's CPU time per frame, all its threads counted. The silent voice: nothing is synthesized.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def lossless_source(chapter_cls, trace, quality: str, upto: int, work: Path) -> Path:
    from kdanim.render import RenderOptions, make_context, render_scene
    from kdanim.render.chapter import manim_config

    opts = RenderOptions(quality=quality, voice="none")
    ctx = make_context(trace, opts, add_sound=False)
    config = manim_config(quality, work / "media", False, False)
    config.update(video_encoder_options={"qp": "0", "preset": "ultrafast"}, upto_animation_number=upto)
    scene = render_scene(chapter_cls, ctx, config)
    return Path(scene.renderer.file_writer.movie_file_path)


def luma_frames(path: Path):
    import av

    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            yield f.to_ndarray(format="yuv420p")[:f.height].astype(np.float64)  # the luma plane as coded


def encode(frames, fps: int, size, options: dict, out: Path) -> float:
    """Encode ``frames`` to ``out``; return the CPU seconds it took (x264's threads included)."""
    import av

    t0 = time.process_time()
    with av.open(str(out), "w") as oc:
        s = oc.add_stream("libx264", rate=fps, options=options)
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
        for i, y in enumerate(frames):
            f = av.VideoFrame.from_ndarray(y, format="yuv420p")
            f.pts, f.time_base = i, Fraction(1, fps)
            oc.mux(s.encode(f))
        oc.mux(s.encode(None))
    return time.process_time() - t0


def psnr(a, b, mask=None) -> float:
    d = (a - b) ** 2
    mse = float(d[mask].mean() if mask is not None else d.mean())
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quality", action="append", choices=["low", "medium", "high", "4k"])
    ap.add_argument("--chapter", type=int, default=8)
    ap.add_argument("--upto", type=int, default=8, help="render the chapter's first N animations")
    ap.add_argument("--crf", default="16,18,20,23")
    ap.add_argument("--preset", default=None, help="x264 presets to compare (default: kdanim's)")
    args = ap.parse_args()

    import av

    from kdanim.render.options import QUALITY_FPS, h264_options
    from kdanim.scenes import lesson_order
    from kdanim.sim.config import SimConfig
    from kdanim.trace import cached_trace

    trace = cached_trace(SimConfig())
    chapter_cls = next(c for c in lesson_order(with_sweep=False) if c.number == args.chapter)
    crfs = [int(c) for c in args.crf.split(",")]
    presets = args.preset.split(",") if args.preset else [None]
    print(f"{'quality':<8}{'preset':>10}{'crf':>4}{'kbit/s':>9}{'PSNR-Y':>8}{'worst':>7}{'text':>7}{'cpu ms':>8}")
    for q in args.quality or ["low", "medium", "high"]:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            src = lossless_source(chapter_cls, trace, q, args.upto, tmp)
            with av.open(str(src)) as c:
                size = (c.streams.video[0].codec_context.width, c.streams.video[0].codec_context.height)
            fps = QUALITY_FPS[q]
            # the source decoded once as yuv420p planes (what the encoder gets), and its luma
            planes, lumas = [], []
            with av.open(str(src)) as c:
                for f in c.decode(video=0):
                    yuv = f.reformat(format="yuv420p").to_ndarray()
                    planes.append(yuv)
                    lumas.append(yuv[:size[1]].astype(np.float64))
            # Manim's own default (crf 23, x264's GOP of 250, 3 B-frames) for comparison, then kdanim's
            runs = [(None, "manim")] + [(p, c) for p in presets for c in crfs]
            for preset, crf in runs:
                out = tmp / f"crf{crf}.mp4"
                options = {"crf": "23"} if crf == "manim" else h264_options(q, crf=crf)
                if preset:  # "ultrafast+cabac=1+deblock=1:0:0": a preset and x264 settings on top of kdanim's
                    options["preset"], *extra = preset.split("+")
                    options["x264-params"] = ":".join([options["x264-params"], *extra])
                seconds = encode(planes, fps, size, options, out)
                ps, text = [], []
                for ref, got in zip(lumas, luma_frames(out)):
                    edge = np.zeros_like(ref, bool)
                    gy, gx = np.abs(np.diff(ref, axis=0)), np.abs(np.diff(ref, axis=1))
                    edge[1:] |= gy > 64
                    edge[:, 1:] |= gx > 64
                    ps.append(psnr(ref, got))
                    if edge.any():
                        text.append(psnr(ref, got, edge))
                kbps = out.stat().st_size * 8 / (len(lumas) / fps) / 1000
                print(f"{q:<8}{(preset or 'medium'):>10}{crf if crf != 'manim' else '23*':>4}{kbps:>9.0f}"
                      f"{np.mean(ps):>8.1f}{min(ps):>7.1f}{np.mean(text):>7.1f}{seconds / len(lumas) * 1000:>8.1f}",
                      flush=True)


if __name__ == "__main__":
    main()
