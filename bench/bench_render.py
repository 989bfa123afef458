"""Render the full lesson and print render seconds per second of video, per quality.

    .venv/bin/python bench/bench_render.py                 # low and high, silent voice
    .venv/bin/python bench/bench_render.py --quality low --voice piper

Targets on a 2-core machine: <= 0.5 s/s at 480p15 (low), <= 2.0 s/s at 1080p60 (high), and a second
identical render (every chapter from the cache: only the assembly) in under 20 s.
Chapter caching is off, so every chapter is really rendered; the trace is simulated once
beforehand and not counted. With a real voice, synthesis time is reported separately.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quality", action="append", choices=["low", "medium", "high", "4k"])
    ap.add_argument("--voice", default="none")
    ap.add_argument("--chapters", default=None, help="e.g. 2,5 (default: all)")
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    qualities = args.quality or ["low", "high"]

    from kdanim import media
    from kdanim.render import RenderOptions, render_lesson
    from kdanim.sim.config import SimConfig
    from kdanim.trace import simulate_trace

    trace = simulate_trace(SimConfig())
    chapters = [int(c) for c in args.chapters.split(",")] if args.chapters else None
    print(f"{'quality':<8}{'video s':>9}{'render s':>10}{'s per s':>9}{'cached s':>10}")
    for q in qualities:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["KDANIM_CACHE"] = str(Path(tmp) / "cache")
            opts = RenderOptions(quality=q, voice=args.voice, chapters=chapters, use_cache=False,
                                 jobs=args.jobs)
            t0 = time.perf_counter()
            render_lesson(trace, opts, Path(tmp) / "out")
            dt = time.perf_counter() - t0
            video = media.probe(Path(tmp) / "out" / "lesson.mp4", rms=False)["video_duration"]
            opts.use_cache = True  # the same render again: every chapter comes from the cache
            t0 = time.perf_counter()
            render_lesson(trace, opts, Path(tmp) / "again")
            cached = time.perf_counter() - t0
            print(f"{q:<8}{video:>9.1f}{dt:>10.1f}{dt / video:>9.2f}{cached:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
