"""Live-lecture slides: every beat a slide, its narration the speaker notes, the chapters as sections.

The deck is made from the same cached chapter renders as the lesson video: each
chapter's video is cut at its beats' start times (frame-exact; by stream copy
when every cut falls on a key frame, which Manim's per-animation segments give,
re-encoded otherwise) and written in manim-slides' presentation format, one
presentation (a manim-slides "scene") per chapter. manim-slides' own converters
then write deck.html (reveal.js, its assets in the folder), deck.pptx and
deck.pdf. Layout of the published folder::

    deck.html  deck_assets/  deck.pptx  deck.pdf  slides/NN_Scene.json  SCENES.txt  manifest.json

``slides/`` is manim-slides' presentation format (one JSON file per chapter,
the clips in ``slides/files/``): ``cd OUT && manim-slides present $(cat SCENES.txt)``
presents it with manim-slides' Qt player. ``deck_assets/`` holds reveal.js and
the HTML deck's clips (hard links to the same files where the file system allows).
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import os
import shutil
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Callable

from kdanim.facts import lesson_title
from kdanim.render import ChapterResult, Event, RenderOptions, make_words, render_chapters
from kdanim.scenes import lesson_order
from kdanim.viz import theme as T

from . import media
from .folder import publish, staging_for
from .lesson import lesson_credits, lesson_heading, parameters, versions

__all__ = ["REVEAL_VERSION", "SlidesUnavailable", "build_deck", "write_deck", "split_video", "reveal_dir", "beat_cuts"]

#: reveal.js as fetched by scripts/setup.sh (npm; MIT licence), and the files the deck uses.
REVEAL_VERSION = "6.0.2"
REVEAL_FILES = ("dist/reveal.css", "dist/reveal.js", "dist/theme/black.css", "dist/theme/white.css",
                "dist/plugin/notes.js", "dist/plugin/markdown.js", "dist/plugin/highlight/zenburn.css",
                "LICENSE")
#: kdanim theme -> reveal.js theme (both embed their fonts: no request leaves the folder).
REVEAL_THEMES = {"dark": "black", "light": "white"}
ASSETS = "deck_assets"
PUBLISHED = ("deck.html", ASSETS, "deck.pptx", "deck.pdf", "slides", "SCENES.txt", "manifest.json")


class SlidesUnavailable(Exception):
    """A part the deck needs is not installed; the message says what to install."""


def reveal_dir() -> Path:
    """The unpacked reveal.js package: $KDANIM_REVEALJS, else <venv>/share/kdanim/reveal.js-VERSION."""
    env = os.environ.get("KDANIM_REVEALJS")
    path = Path(env) if env else Path(sys.prefix) / "share" / "kdanim" / f"reveal.js-{REVEAL_VERSION}"
    missing = [f for f in REVEAL_FILES if not (path / f).is_file()]
    if missing:
        raise SlidesUnavailable(f"reveal.js {REVEAL_VERSION} is not installed in {path} (no {missing[0]}): "
                                f"run scripts/setup.sh, which fetches it with npm")
    return path


def check_available() -> Path:
    """Fail with one line naming what to install unless manim-slides, python-pptx and reveal.js are there."""
    import importlib.util

    for module, package in (("manim_slides", "manim-slides"), ("pptx", "python-pptx")):
        if module in sys.modules:  # imported already (None: blocked, as if not installed)
            found = sys.modules[module] is not None
        else:
            found = importlib.util.find_spec(module) is not None
        if not found:
            raise SlidesUnavailable(f"`kdanim slides` needs {package}: install it with "
                                    f"pip install 'kdanim[slides]' (manim-slides, python-pptx)")
    return reveal_dir()


# -- cutting a chapter at its beats ----------------------------------------------


def beat_cuts(timeline: dict, fps: Fraction) -> list[int]:
    """Frame numbers where each beat's slide starts: 0, then every later beat's start.

    Beats start on frame boundaries (Manim advances its clock a frame at a time),
    so rounding only removes floating-point noise.
    """
    starts = [0] + [round(s * fps) for s, _ in timeline["beat_spans"][1:]]
    if starts != sorted(set(starts)):
        raise ValueError(f"chapter {timeline['chapter']}: beat starts are not increasing: {starts}")
    return starts


def _frame_rate(stream) -> Fraction:
    return Fraction(stream.base_rate or stream.guessed_rate)


def split_video(video: Path, cuts: list[int], outs: list[Path]) -> bool:
    """Cut ``video`` into ``outs[i]`` = frames ``[cuts[i], cuts[i+1])`` (the last to the end).

    Stream copy when every cut is a key frame and no frame crosses a cut in
    decode order; otherwise every part is re-encoded (H.264, same size and
    rate). Each part's timestamps start at 0. Returns True if re-encoded.
    """
    import av

    if len(cuts) != len(outs) or not cuts or cuts[0] != 0:
        raise ValueError("split_video: one output per cut, and the first cut at frame 0")
    with media.open(video) as ic:
        vs = media.video_stream(ic, video)
        fps, tb = _frame_rate(vs), vs.time_base
        packets = [p for p in ic.demux(vs) if p.pts is not None]
        if not packets:
            raise media.MediaError(f"{video}: has no video packets")
        first = min(p.pts for p in packets)

        def part_of(pkt) -> int:
            frame = round((pkt.pts - first) * tb * fps)
            return sum(1 for c in cuts if c <= frame) - 1

        parts = [part_of(p) for p in packets]
        copy = parts == sorted(parts) and set(parts) == set(range(len(cuts))) and all(
            p.is_keyframe for i, p in enumerate(packets) if i == 0 or parts[i] != parts[i - 1])
        if copy:
            tpf = 1 / (fps * Fraction(tb))  # ticks per frame
            for k, out in enumerate(outs):
                mine = [p for p, q in zip(packets, parts) if q == k]
                base = min(p.pts for p in mine)  # the part's first frame is shown at 0
                frames = [round((p.pts - base) / tpf) for p in mine]
                delay = max(0, max(i - f for i, f in enumerate(frames)))  # B-frame reorder, in frames
                with media.atomic(out, out.suffix) as tmp, av.open(str(tmp), "w", format="mp4") as oc:
                    os_ = oc.add_stream_from_template(vs)
                    os_.time_base = tb
                    for i, (p, f) in enumerate(zip(mine, frames)):
                        # on the frame grid, as the lesson's join puts them: a constant frame rate
                        p.stream, p.pts, p.dts = os_, round(f * tpf), round((i - delay) * tpf)
                        oc.mux(p)
            return False
        ic.seek(0)
        _reencode(ic, vs, fps, cuts, outs)
        return True


def _reencode(ic, vs, fps: Fraction, cuts: list[int], outs: list[Path]) -> None:
    import av

    bounds = list(cuts[1:]) + [None]
    k, oc, os_, tmp_ctx, n = -1, None, None, None, 0

    def close():
        if oc is not None:
            oc.mux(os_.encode(None))
            oc.close()
            tmp_ctx.__exit__(None, None, None)

    try:
        for i, frame in enumerate(ic.decode(vs)):
            while k < 0 or (bounds[k] is not None and i >= bounds[k]):
                close()
                k += 1
                tmp_ctx = media.atomic(outs[k], outs[k].suffix)
                oc = av.open(str(tmp_ctx.__enter__()), "w", format="mp4")
                os_ = oc.add_stream("libx264", rate=fps)
                os_.width, os_.height, os_.pix_fmt = vs.codec_context.width, vs.codec_context.height, "yuv420p"
                n = 0
            f = frame.reformat(format="yuv420p")
            f.pts, f.time_base = n, Fraction(1) / fps
            n += 1
            oc.mux(os_.encode(f))
        close()
        oc = None
    except BaseException:
        if oc is not None:
            oc.close()
            tmp_ctx.__exit__(*sys.exc_info())
        raise


# -- the deck ----------------------------------------------------------------------


def _link_html_assets(configs, assets: Path) -> None:
    """Hard-link every slide clip under the name manim-slides' HTML converter copies it to.

    The converter names a clip "s<i>_<name>" in its assets folder when there are
    several presentations, and skips the copy when that file exists: linking it
    first keeps one copy of each clip on disk (it copies, as usual, if this
    naming ever changes).
    """
    n = len(configs)
    assets.mkdir(parents=True, exist_ok=True)
    for i, cfg in enumerate(configs):
        prefix = f"s{i:0{len(str(n - 1))}d}_" if n > 1 else ""
        for slide in cfg.slides:
            target = assets / f"{prefix}{slide.file.name}"
            try:
                os.link(slide.file, target)
            except OSError:
                shutil.copy2(slide.file, target)


def _scene_name(r: ChapterResult) -> str:
    cls = next(c for c in lesson_order(with_sweep=True) if c.number == r.number)
    return f"{r.number:02d}_{cls.__name__}"


def build_deck(trace: dict, opts: RenderOptions, out: Path,
               events: Callable[[Event], None] | None = None,
               message: Callable[[str], None] | None = None) -> dict:
    """Render (or reuse) the chapters and write the deck into ``out``; return a summary.

    The summary: {"slides", "chapters", "reencoded", "seconds": {"chapters", "deck"}}.
    Everything is built in a staging folder inside ``out`` and moved into place
    when complete.
    """
    check_available()
    t0 = time.perf_counter()
    results = render_chapters(trace, opts, events)
    t1 = time.perf_counter()
    deck = write_deck(results, trace, opts.theme, out, message,
                      manifest={"parameters": parameters(trace, opts, "deck"), "credits": lesson_credits(opts)},
                      heading=lesson_heading(trace, opts), lang=make_words(trace, opts).language)
    deck["seconds"] = {"chapters": round(t1 - t0, 2), "deck": round(time.perf_counter() - t1, 2)}
    return deck


def write_deck(results: list[ChapterResult], trace: dict, theme: str, out: Path,
               message: Callable[[str], None] | None = None, manifest: dict | None = None,
               heading: str | None = None, lang: str = "en") -> dict:
    """Write the deck of the rendered chapters ``results`` into the folder ``out`` (see :func:`build_deck`).

    The folder is replaced as a whole (:func:`kdanim.publish.publish`), its
    ``manifest.json`` made of ``manifest`` (its credits' title is the deck's) and the deck's summary.
    ``heading`` is the title without credits (the script's, in ``lang``; default the English one), and
    each chapter's section of deck.html is named by the chapter's title.
    """
    reveal = check_available()
    say = message or (lambda s: None)
    background = T.THEMES[theme]["BACKGROUND"]
    with staging_for(out) as staging, tempfile.TemporaryDirectory(prefix="kdanim-stills-") as stills_dir:
        say("cutting the chapters into slides")
        (staging / "slides").mkdir()
        configs, pdf_configs, scenes, reencoded, size = [], [], [], 0, None
        for ci, r in enumerate(results):
            cfg, pdf_cfg, scene, cut, size = _chapter_slides(ci, r, staging, Path(stills_dir), background)
            configs.append(cfg)
            pdf_configs.append(pdf_cfg)
            scenes.append(scene)
            reencoded += cut
        (staging / "SCENES.txt").write_text(" ".join(scenes) + "\n")

        say("writing deck.html, deck.pptx and deck.pdf with manim-slides")
        title = ((manifest or {}).get("credits") or {}).get("title") or heading or lesson_title(trace["config"])
        _convert(configs, pdf_configs, staging, reveal, theme, background, title, size)
        _name_sections(staging / "deck.html", lang, [f"{r.number}. {r.title}" for r in results])
        summary = {"slides": sum(len(c.slides) for c in configs), "chapters": len(configs),
                   "reencoded": reencoded, "theme": theme}
        publish(staging, out, {**versions(), **(manifest or {}), "deck": {**summary, "scenes": scenes}})
    return summary


def _chapter_slides(ci: int, r: ChapterResult, staging: Path, stills_dir: Path, background):
    """A chapter cut into slides/, a slide per beat: (presentation, its PDF of stills, scene, re-encoded, size)."""
    from manim_slides.config import PresentationConfig, SlideConfig  # the optional `slides` extra

    tl = r.timeline
    with media.open(r.video) as ic:
        vs = media.video_stream(ic, r.video)
        fps, size = _frame_rate(vs), (vs.codec_context.width, vs.codec_context.height)
    cuts = beat_cuts(tl, fps)
    scene = _scene_name(r)
    clips = [staging / "slides" / "files" / scene / f"beat{b + 1:02d}.mp4" for b in range(len(cuts))]
    reencoded = split_video(r.video, cuts, clips)
    stills = []
    for b, (_, end) in enumerate(tl["beat_spans"]):
        # The beat's picture when its speech ends (its last slide frame would
        # show the chapter's closing fade for the last beat).
        stills.append(media.grab_frame(r.video, end - 0.5 / float(fps),
                                       stills_dir / f"{ci:02d}-{b:02d}.png", size=size))
    slides = [SlideConfig(file=c, rev_file=c, notes=text, dedent_notes=False, direction="vertical")
              for c, text in zip(clips, tl["beats"])]
    cfg = PresentationConfig(slides=slides, resolution=size, background_color=background)
    pdf_cfg = PresentationConfig(slides=[s.model_copy(update={"file": p}) for s, p in zip(slides, stills)],
                                 resolution=size)
    _write_config(cfg, staging / "slides" / f"{scene}.json", staging)
    return cfg, pdf_cfg, scene, reencoded, size


def _convert(configs, pdf_configs, staging: Path, reveal: Path, theme: str, background, title: str, size) -> None:
    """deck.html (with reveal.js and the clips in deck_assets/), deck.pptx and deck.pdf, by manim-slides."""
    from manim_slides.convert import PDF, PowerPoint, RevealJS  # the optional `slides` extra

    assets = staging / ASSETS
    _link_html_assets(configs, assets)
    lib = assets / f"reveal.js-{REVEAL_VERSION}"
    for f in REVEAL_FILES:
        (lib / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(reveal / f, lib / f)
    # The HTML template inserts the notes as they are: escape them (a reader unescapes).
    html_configs = [c.model_copy(update={"slides": [
        s.model_copy(update={"notes": html.escape(s.notes, quote=False)}) for s in c.slides]}) for c in configs]
    with contextlib.redirect_stderr(io.StringIO()):  # manim-slides' progress bars
        RevealJS(presentation_configs=html_configs, assets_dir=ASSETS, cdn_url=f"{ASSETS}/{lib.name}",
                 reveal_version=REVEAL_VERSION, reveal_theme=REVEAL_THEMES[theme],
                 background_color=background, title=title,
                 navigation_mode="linear", slide_number="c/t", show_slide_number="speaker",
                 ).convert_to(staging / "deck.html")
        PowerPoint(presentation_configs=configs, width=size[0], height=size[1]).convert_to(staging / "deck.pptx")
        PDF(presentation_configs=pdf_configs, resolution=100.0).convert_to(staging / "deck.pdf")


#: manim-slides' template forbids zooming (WCAG 1.4.4): the deck lets a reader zoom.
_NO_ZOOM = '<meta name="viewport" content="width=device-width, initial-scale=1.0, maximum-scale=1.0, user-scalable=no">'
_ZOOM = '<meta name="viewport" content="width=device-width, initial-scale=1.0">'


def _name_sections(deck: Path, lang: str, names: list[str]) -> None:
    """deck.html in its language (``<html lang>``) with each chapter's section named (``data-name`` and
    ``aria-label``): manim-slides' template writes each chapter's stack of slides as a bare ``<section>``.

    Also made accessible (axe-core): zoom allowed, and the deck stays a deck of slides at phone width
    (reveal.js would switch to its scroll view below 435 px, a scrolling page no key can reach).
    """
    text = deck.read_text(encoding="utf-8").replace("<html>", f'<html lang="{html.escape(lang)}">', 1)
    text = text.replace(_NO_ZOOM, _ZOOM, 1).replace("Reveal.initialize({", "Reveal.initialize({\n"
                                                      "        scrollActivationWidth: null,", 1)
    parts = text.split("<section>")
    if len(parts) - 1 == len(names):  # one stack per chapter, as the template writes them
        text = parts[0] + "".join(f'<section data-name="{html.escape(n)}" aria-label="{html.escape(n)}">{p}'
                                  for n, p in zip(names, parts[1:]))
    deck.write_text(text, encoding="utf-8")


def _write_config(cfg, path: Path, root: Path) -> None:
    """Save a presentation in manim-slides' format, its files relative to ``root`` (= path's grandparent)."""
    data = json.loads(cfg.model_dump_json())
    for slide in data["slides"]:
        for key in ("file", "rev_file"):
            slide[key] = Path(slide[key]).relative_to(root).as_posix()
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False))
