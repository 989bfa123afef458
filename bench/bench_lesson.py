"""The whole default lesson, cold, per quality: where the time goes, an identical re-render and a one-beat edit.

    .venv/bin/python bench/bench_lesson.py                                  # 480p15, 720p30, 1080p60
    .venv/bin/python bench/bench_lesson.py --quality high
    .venv/bin/python bench/bench_lesson.py --root /tmp/before               # the same bench on other code

Each quality runs in a process of its own with an empty cache ($KDANIM_CACHE in a temporary folder), as
`kdanim render --tau 3 --alpha 0.5` does on a fresh machine: the simulation, the Piper voice (its model
loaded and every clip synthesized), the chapters on ``--jobs`` processes (default: one per core), the
lesson folder with its page, the closing check, then the deck (`kdanim slides`). Printed per quality:

- the lesson video's bit rate; wall-s and CPU-s (all processes) per second of video, and the peak RSS of
  the largest process;
- CPU-s by stage, over all chapters: simulation, speech synthesis, Manim's scene construction (the
  chapter's main thread less drawing and speech), Cairo drawing, frame conversion, x264 (the encoder
  threads, less conversion), joining and muxing (chapters, narration track, loudness), page and
  contact sheet, check, deck. Stages come from `ChapterResult.stages`; code without it (``--root``
  older than issue 19) reports totals only;
- ``again``: the same render once more (every chapter from the cache) and its share of the cold wall;
- ``edit ch N``: the render after one beat's words changed (a sentence more: chapter 10's last beat, the
  shortest chapter, and chapter 6's last, a chapter of animated curves), and its share of that chapter's
  cold render time.

The closing check of each cold render is printed at the end: a lesson that fails it gives no figure to report.
Run it on an idle machine: it measures wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUALITY_NAMES = {"low": "480p15", "medium": "720p30", "high": "1080p60"}


def cpu() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def peak_rss_mb() -> float:
    return max(resource.getrusage(r).ru_maxrss for r in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024


class Timed:
    """Wraps ``module.name`` so that its calls add their wall seconds to ``self.seconds[stage]``."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def wrap(self, module, name: str, stage: str) -> None:
        fn = getattr(module, name)

        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0

        setattr(module, name, timed)


#: The beats the bench edits, with their chapters: the shortest chapter's last beat (where the fixed costs of
#: a render weigh most), and the last beat of chapter 6, a chapter of animated curves in the middle.
EDITS = {10: "summary.reproduce", 6: "training.end"}


def edited_script(out: Path, beat: str = "summary.reproduce") -> Path:
    """The shipped English script with a sentence put before the words of ``beat``: longer, so the
    chapter's timing after it moves too."""
    from kdanim.narration import script as scriptmod

    text = (scriptmod.SCRIPTS / "en.md").read_text(encoding="utf-8")
    text, n = re.subn(rf"(## {re.escape(beat)}\n)", r"\1Let me say one more thing before we go on. ", text, count=1)
    if n != 1:
        raise SystemExit(f"bench: the shipped script has no {beat} beat to edit")
    out.write_text(text, encoding="utf-8")
    return out


def one(quality: str, jobs: int, voice: str) -> dict:
    """The cold render of one quality in this process (its cache empty); returns the figures."""
    import inspect

    from kdanim.publish import lesson as lessonmod, media, page
    from kdanim.publish.check import check_folder
    from kdanim.publish.slides import build_deck
    from kdanim.render import RenderOptions, render_chapters
    from kdanim.sim.config import SimConfig
    from kdanim.trace import simulate_trace

    timed = Timed()
    for name in ("concat_videos", "narration_track" if hasattr(media, "narration_track") else "build_audio_track",
                 "mux", "loudness"):
        timed.wrap(media, name, "join")
    timed.wrap(page, "write_page", "page")
    if hasattr(lessonmod, "contact"):  # the contact sheet (issue 18)
        timed.wrap(lessonmod.contact, "write_contact_sheet", "page")
    tmp = Path(os.environ["KDANIM_CACHE"]).parent
    t0, c0 = time.perf_counter(), cpu()
    trace = simulate_trace(SimConfig())
    sim = time.perf_counter() - t0
    opts = RenderOptions(quality=quality, voice=voice, jobs=jobs)
    t1 = time.perf_counter()
    if "results" in inspect.signature(lessonmod.render_lesson).parameters:
        results = render_chapters(trace, opts)
        chapters_wall = time.perf_counter() - t1
        lessonmod.render_lesson(trace, opts, tmp / "lesson", results=results)
    else:  # older code renders the chapters inside render_lesson: the cache has them afterwards
        lessonmod.render_lesson(trace, opts, tmp / "lesson")
        chapters_wall = None
        results = render_chapters(trace, opts)
    t2 = time.perf_counter()
    checked = check_folder(tmp / "lesson")
    check = time.perf_counter() - t2
    print(checked.summary(), file=sys.stderr)  # a render whose lesson fails its check is no figure to report
    render_wall, render_cpu = time.perf_counter() - t0, cpu() - c0
    t3 = time.perf_counter()
    build_deck(trace, opts, tmp / "deck")
    deck = time.perf_counter() - t3
    info = media.probe(tmp / "lesson" / "lesson.mp4", rms=False)
    video = info["video_duration"]
    kbps = media.encoding(tmp / "lesson" / "lesson.mp4")["video"]["bit_rate"] / 1000
    stages: dict[str, float] = {"simulation": sim}
    for r in results:
        for k, v in getattr(r, "stages", {}).items():
            stages[k] = stages.get(k, 0.0) + v
    if "encoding" in stages:  # all the CPU the other stages leave: x264 (its own threads, in code before threads=1)
        measured = sum(v for k, v in stages.items() if k not in ("frames", "drawn", "encoding"))
        stages["encoding"] = max(0.0, render_cpu - measured - sum(timed.seconds.values()) - check)
    stages.update(timed.seconds, check=check, deck=deck)
    cold = {n: next((r.seconds for r in results if r.number == n and not r.cached), None) for n in EDITS}

    # the same render again: every chapter from the cache
    t4 = time.perf_counter()
    lessonmod.render_lesson(trace, opts, tmp / "again")
    again = time.perf_counter() - t4
    # one beat's words changed: that chapter renders again, the others come from the cache
    edits = {}
    for n, beat in EDITS.items():
        edit_opts = RenderOptions(quality=quality, voice=voice, jobs=jobs,
                                  script=str(edited_script(tmp / f"edited-{n}.md", beat)))
        t5 = time.perf_counter()
        lessonmod.render_lesson(trace, edit_opts, tmp / f"edit-{n}")
        edits[n] = time.perf_counter() - t5
    return {"quality": quality, "check": checked.summary() if hasattr(checked, "summary") else None,
            "video": video, "wall": render_wall, "cpu": render_cpu, "chapters_wall": chapters_wall,
            "rss_mb": peak_rss_mb(), "kbps": kbps, "stages": stages, "again": again, "edit": edits[10],
            "ch10_cold": cold[10], "edits": edits, "cold": cold,
            "frames": stages.get("frames"), "drawn": stages.get("drawn")}


def run_quality(root: Path, quality: str, jobs: int, voice: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "KDANIM_CACHE": str(Path(tmp) / "cache"), "PYTHONPATH": str(root)}
        out = subprocess.run([sys.executable, __file__, "--one", quality, "--jobs", str(jobs), "--voice", voice,
                              "--root", str(root)], env=env, capture_output=True, text=True, cwd=tmp)
        if out.returncode != 0:
            raise SystemExit(f"bench: {quality} failed:\n{out.stderr[-3000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])


STAGES = ["simulation", "speech", "scene", "drawing", "converting", "encoding", "join", "page", "check", "deck"]


def table(rows: list[dict]) -> str:
    head = ("| quality | video s | kbit/s | wall s | wall-s/s | CPU-s/s | peak RSS MB | " +
            " | ".join(STAGES) + " | again s (% cold) | " + " | ".join(f"edit ch {n} s (% its cold)" for n in EDITS) + " |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        v, st = r["video"], r["stages"]
        cells = [f"{st[s] / v:.3f}" if s in st else "–" for s in STAGES]
        edits = {int(k): v for k, v in r.get("edits", {10: r["edit"]}).items()}
        colds = {int(k): v for k, v in r.get("cold", {10: r.get("ch10_cold")}).items()}
        edit = " | ".join(f"{edits[n]:.1f} ({100 * edits[n] / colds[n]:.0f}% of {colds[n]:.1f})" if colds.get(n)
                          else f"{edits.get(n, 0):.1f}" for n in EDITS)
        lines.append(f"| {QUALITY_NAMES[r['quality']]} | {v:.0f} | {r.get('kbps', 0):.0f} | {r['wall']:.0f} | {r['wall'] / v:.2f} | "
                     f"{r['cpu'] / v:.2f} | {r['rss_mb']:.0f} | " + " | ".join(cells) +
                     f" | {r['again']:.1f} ({100 * r['again'] / r['wall']:.1f}%) | {edit} |")
    return "\n".join(lines) + "\n(stages: CPU-s per video second; the deck's is wall-s, after the render)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quality", action="append", choices=["low", "medium", "high"])
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--voice", default="piper")
    ap.add_argument("--root", type=Path, default=HERE.parent, help="the checkout whose code is measured")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        sys.path.insert(0, str(args.root))
        print(json.dumps(one(args.one, args.jobs, args.voice)))
        return
    rows = []
    for q in args.quality or ["low", "medium", "high"]:
        rows.append(run_quality(args.root.resolve(), q, args.jobs, args.voice))
        print(json.dumps(rows[-1]), flush=True)
    print(f"\ncode: {args.root.resolve()}, jobs {args.jobs}, voice {args.voice}\n" + table(rows))
    for r in rows:  # the closing check of each cold render: a failing lesson's figures do not count
        print(f"{QUALITY_NAMES[r['quality']]}: {r.get('check') or 'no check result (older code)'}")


if __name__ == "__main__":
    main()
