"""contact-sheet.png: the last frame of every beat, small and labelled, to review a lesson at a glance.

    write_contact_sheet(results, lesson / CONTACT_SHEET)   # results: the lesson's ChapterResults

A row per chapter (its number and title above it), a picture per beat (its chapter and beat number and
name below it), each the beat's frame when its speech ends, as the deck's stills are (the last
frame of a chapter's last beat would be its closing fade). Each picture is decoded from the key frame before it;
with a cache folder, a chapter's pictures are kept there, so a render where one chapter changed decodes that one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from kdanim.files import atomic_path

from . import media

__all__ = ["CONTACT_SHEET", "THUMB", "beat_times", "beat_labels", "beat_frames", "cached_beat_frames",
           "contact_sheet", "write_contact_sheet", "cell_boxes"]

CONTACT_SHEET = "contact-sheet.png"
THUMB = (256, 144)  # 16:9, as the frames
PAD = 12             # around and between the pictures
HEADER = 30          # a chapter's title row
LABEL = 26           # a beat's label row below its picture
# the page's --bg, --text, --muted and --line: the frames' own background is as dark, so each has a frame
BACKGROUND, TEXT, MUTED, LINE = (15, 17, 23), (241, 243, 245), (180, 186, 197), (52, 58, 70)
FONTS = "/usr/share/fonts/truetype/dejavu"  # fonts-dejavu-core, the lesson's font


def _font(size: int, bold: bool = False):
    try:
        return ImageFont.truetype(f"{FONTS}/DejaVuSans{'-Bold' if bold else ''}.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


def beat_times(timeline: dict, fps: float) -> list[float]:
    """When each beat's speech ends, half a frame before (on the beat's last spoken frame)."""
    return [max(0.0, end - 0.5 / fps) for _, end in timeline["beat_spans"]]


def beat_labels(timeline: dict) -> list[str]:
    """"5.2 hard" per beat: chapter and beat number, and the beat's name (its script id after the chapter's
    key), else the first words it says."""
    n, ids = timeline["chapter"], timeline.get("beat_ids") or []
    labels = []
    for b, text in enumerate(timeline["beats"]):
        name = ids[b].split(".", 1)[-1].replace("_", " ") if b < len(ids) else " ".join(text.split()[:4])
        labels.append(f"{n}.{b + 1} {name}".strip())
    return labels


def beat_frames(video, timeline: dict, size=THUMB) -> list[Image.Image]:
    """The picture of every beat of one chapter video, scaled to ``size`` (a few frames decoded per beat)."""
    with media.open(video) as ic:
        vs = media.video_stream(ic, video)
        fps = float(vs.base_rate or vs.guessed_rate or 15)
        times = beat_times(timeline, fps)
        frames = [f.to_image().resize(size, Image.LANCZOS) for _, f in media.frames_at(ic, vs, times)]
    if len(frames) != len(times):
        raise media.MediaError(f"{video}: {len(frames)} frames for {len(times)} beats")
    return frames


def cell_boxes(beats_per_chapter: list[int], size=THUMB) -> list[list[tuple[int, int, int, int]]]:
    """The (left, top, right, bottom) of every beat's picture on the sheet, a row per chapter."""
    w, h = size
    row = HEADER + h + LABEL + PAD
    return [[(PAD + b * (w + PAD), PAD + r * row + HEADER, PAD + b * (w + PAD) + w, PAD + r * row + HEADER + h)
             for b in range(n)] for r, n in enumerate(beats_per_chapter)]


def _fit(draw, text: str, font, width: int) -> str:
    """``text``, cut with an ellipsis to fit ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def contact_sheet(chapters: list[tuple[dict, list[Image.Image]]], size=THUMB) -> Image.Image:
    """The sheet of ``chapters`` [(timeline, beat pictures), ...]."""
    counts = [len(frames) for _, frames in chapters]
    boxes = cell_boxes(counts, size)
    w, h = size
    width = PAD + max(counts, default=1) * (w + PAD)
    height = PAD + len(chapters) * (HEADER + h + LABEL + PAD)
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    title_font, label_font = _font(17, bold=True), _font(14)
    for (timeline, frames), row in zip(chapters, boxes):
        top = row[0][1] - HEADER if row else 0
        draw.text((PAD, top + 4), _fit(draw, f"{timeline['chapter']}. {timeline['title']}", title_font, width - 2 * PAD),
                  fill=TEXT, font=title_font)
        for frame, label, (x0, y0, x1, y1) in zip(frames, beat_labels(timeline), row):
            sheet.paste(frame, (x0, y0))
            draw.rectangle((x0 - 1, y0 - 1, x1, y1), outline=LINE)
            draw.text((x0, y1 + 5), _fit(draw, label, label_font, w), fill=MUTED, font=label_font)
    return sheet


def cached_beat_frames(video, timeline: dict, size=THUMB, cache: Path | None = None) -> list[Image.Image]:
    """:func:`beat_frames`, kept in the folder ``cache`` by the video file (its path, size and modification
    time: the chapter cache's files are written once, whole) and the beats' times."""
    if cache is None:
        return beat_frames(video, timeline, size)
    st = os.stat(video)
    spans = [[float(t) for t in span] for span in timeline["beat_spans"]]  # tuples fresh, lists from timeline.json
    key = hashlib.sha256(repr((str(Path(video).resolve()), st.st_size, st.st_mtime_ns, spans,
                               tuple(size))).encode()).hexdigest()[:24]
    path = Path(cache) / f"beats-{key}.npy"
    with contextlib.suppress(OSError, ValueError):
        got = np.load(path)
        if got.ndim == 4 and got.shape[0] == len(timeline["beat_spans"]) and got.shape[1:3] == (size[1], size[0]):
            return [Image.fromarray(a) for a in got]
    frames = beat_frames(video, timeline, size)
    with contextlib.suppress(OSError), atomic_path(path, ".npy") as tmp:
        np.save(tmp, np.stack([np.asarray(f.convert("RGB")) for f in frames]))
    return frames


def write_contact_sheet(results, out, size=THUMB, cache: Path | None = None) -> Path:
    """contact-sheet.png of the rendered chapters ``results`` (kdanim.render.ChapterResult, with videos);
    ``cache``: the folder where each chapter's pictures are kept (:func:`cached_beat_frames`)."""
    chapters = [(r.timeline, cached_beat_frames(r.video, r.timeline, size, cache)) for r in results]
    out = Path(out)
    with media.atomic(out, ".png") as tmp:
        contact_sheet(chapters, size).save(tmp, format="PNG")  # optimize=True: 2.5× the time for 1% smaller
    return out
