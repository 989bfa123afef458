"""Subtitle, transcript and chapter-list files.

    cues = [Cue(0.0, 1.8, "The temperature tau equals 3."), ...]
    write_srt(cues, "lesson.srt"); write_vtt(cues, "lesson.vtt")
    write_transcript([("Why distil?", ["First paragraph.", ...]), ...], "transcript.md")
    write_chapters_txt([(0.0, "Why distil?"), (42.5, "Soft targets")], "chapters.txt")

Cue text is wrapped by `speech.wrap_cue` to at most two lines of about 42
characters. SRT is composed by the `srt` library; every file is written
under a temporary name and renamed (`kdanim.paths.atomic_write`).
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from pathlib import Path

import srt

from kdanim.files import atomic_write

from .speech import wrap_cue

__all__ = ["Cue", "timeline", "write_srt", "write_vtt", "write_transcript", "write_chapters_txt",
           "srt_time", "vtt_time", "chapter_time", "cue_rows", "sentence_rows", "readable", "caption_problems",
           "reading_chars", "MAX_CPS", "MIN_CUE", "MAX_CUE", "GAP_FRAMES", "LINE_CHARS", "MAX_LINES"]

#: The caption rules (what streaming services and the BBC ask of subtitles): at most 20 characters a
#: second, on screen for 5/6 s to 7 s, at least 2 frames between two cues, 2 lines of 42 characters.
MAX_CPS = 20.0
MIN_CUE = 5 / 6
MAX_CUE = 7.0
GAP_FRAMES = 2
LINE_CHARS = 42
MAX_LINES = 2


@dataclass(frozen=True)
class Cue:
    start: float   # seconds
    end: float     # seconds
    text: str

    def __post_init__(self):
        for name in ("start", "end"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"Cue {name} must be a finite time ≥ 0, got {v!r}")
        if self.end <= self.start:
            raise ValueError(f"Cue ends ({self.end}) before it starts ({self.start}): {self.text!r}")
        if not str(self.text).strip():
            raise ValueError(f"Cue at {self.start:.3f}s has no text")


def timeline(utterances, start: float = 0.0, gap: float = 0.15):
    """Lay utterances end to end from `start`, `gap` seconds apart.

    Returns (cues, placements, end): one Cue per utterance whose times are its
    real audio duration, the (start, wav path) placements for
    `kdanim.media.build_audio_track` (none for the silent voice), and the time
    the last one ends.
    """
    if gap < 0:
        raise ValueError(f"timeline: gap must be ≥ 0, got {gap}")
    cues, placements, t = [], [], float(start)
    for i, u in enumerate(utterances):
        if i:
            t += gap
        cues.append(Cue(t, t + u.duration, u.text))
        if u.path is not None:
            placements.append((t, u.path))
        t += u.duration
    return cues, placements, t


def reading_chars(text: str) -> int:
    """The characters a viewer reads in a cue: its words and punctuation, single spaces between them."""
    return len(" ".join(str(text).split()))


def _cut_text(text: str) -> tuple[str, str]:
    """A cue's text in two at the space nearest its middle (by characters)."""
    words = str(text).split()
    mid = reading_chars(text) / 2
    best = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - mid))
    return " ".join(words[:best]), " ".join(words[best:])


def readable(cues, fps: float) -> list[Cue]:
    """The cues as they are shown: times that the caption rules allow, from times that are the speech's.

    A cue's speech runs from its start to its end. It stays on after its speech into the pause that
    follows for as long as reading it needs (MAX_CPS, and at least MIN_CUE), but never later than
    GAP_FRAMES frames (at ``fps``) before the next cue starts, nor longer than MAX_CUE; speech longer
    than MAX_CUE is shown as two cues (or more), its text cut at the word nearest the middle and its
    time shared by characters. A cue whose speech runs into the next cue's gap ends that gap earlier.
    """
    gap = GAP_FRAMES / float(fps)
    spoken = []
    for c in cues:
        c = c if isinstance(c, Cue) else Cue(*c)
        parts = [c]
        while any(p.end - p.start > MAX_CUE and " " in p.text.strip() for p in parts):
            nxt = []
            for p in parts:
                if p.end - p.start > MAX_CUE and " " in p.text.strip():
                    a, b = _cut_text(p.text)
                    t = p.start + (p.end - p.start) * (len(a) + 0.5) / (reading_chars(p.text))
                    nxt += [Cue(p.start, t, a), Cue(t, p.end, b)]
                else:
                    nxt.append(p)
            parts = nxt
        spoken += parts
    shown = []
    for i, c in enumerate(spoken):
        need = max(reading_chars(c.text) / MAX_CPS, MIN_CUE) + 0.002  # the files state whole milliseconds
        limit = c.start + MAX_CUE
        if i + 1 < len(spoken):
            limit = min(limit, spoken[i + 1].start - gap)
        end = min(max(c.end, c.start + need), limit)
        shown.append(Cue(c.start, max(end, c.start + 1e-3), c.text))
    return shown


def caption_problems(cues, fps: float, line_chars: int = LINE_CHARS) -> list[str]:
    """Every way the cues (as shown, times in whole milliseconds) break a caption rule, one line each."""
    problems = []
    gap = GAP_FRAMES / float(fps)
    rows = cue_rows(cues, line_chars=10 ** 6)  # whole ms, text unwrapped
    for i, (start, end, text) in enumerate(rows, 1):
        d = end - start
        cps = reading_chars(text) / d
        if cps > MAX_CPS + 1e-9:
            problems.append(f"cue {i} reads at {cps:.1f} characters/s (at most {MAX_CPS:g}): {text!r}")
        if d < MIN_CUE - 1e-3:
            problems.append(f"cue {i} is on screen {d:.3f} s (at least {MIN_CUE:.3f} s): {text!r}")
        if d > MAX_CUE + 1e-9:
            problems.append(f"cue {i} is on screen {d:.3f} s (at most {MAX_CUE:g} s): {text!r}")
        if i < len(rows) and rows[i][0] - end < gap - 1.5e-3:
            problems.append(f"cue {i} ends {rows[i][0] - end:.3f} s before the next (at least "
                            f"{GAP_FRAMES} frames, {gap:.3f} s)")
        lines = wrap_cue(text, line_chars).split("\n")
        if len(lines) > MAX_LINES or max(map(len, lines)) > line_chars:
            problems.append(f"cue {i} does not fit {MAX_LINES} lines of {line_chars} characters: {text!r}")
    return problems


_SENTENCE_END = (".", "!", "?", ".\"", "!\"", "?\"", ".”", "?”", "!”", ".)", "?)", "!)")


def sentence_rows(cues) -> list[list]:
    """``[start, end, text]`` per sentence: the cues joined until one ends a sentence (the transcript's lines)."""
    rows, cur = [], None
    for start, end, text in cue_rows(cues, line_chars=10 ** 6):
        if cur is None:
            cur = [start, end, text]
        else:
            cur[1], cur[2] = end, f"{cur[2]} {text}"
        if text.rstrip().endswith(_SENTENCE_END):
            rows.append(cur)
            cur = None
    if cur is not None:
        rows.append(cur)
    return rows


def _ms(t: float) -> datetime.timedelta:
    return datetime.timedelta(milliseconds=round(t * 1000))


def srt_time(t: float) -> str:
    return srt.timedelta_to_srt_timestamp(_ms(t))


def vtt_time(t: float) -> str:
    return srt_time(t).replace(",", ".")


def _checked(cues, line_chars: int) -> list[tuple[Cue, str]]:
    out, prev_end = [], 0.0
    for i, c in enumerate(cues):
        if not isinstance(c, Cue):
            c = Cue(*c)
        if c.start < prev_end - 1e-6:
            raise ValueError(f"cue {i + 1} starts at {c.start:.3f}s, before cue {i} ends ({prev_end:.3f}s)")
        prev_end = c.end
        # "-->" or a blank line inside a cue would break both formats
        text = wrap_cue(str(c.text).replace("-->", "→"), line_chars)
        out.append((c, text))
    return out


def cue_rows(cues, line_chars: int = 42) -> list[list]:
    """``[start, end, text]`` per cue, exactly as the subtitle files state them (times in whole ms)."""
    return [[_ms(c.start).total_seconds(), _ms(c.end).total_seconds(), " ".join(text.splitlines())]
            for c, text in _checked(cues, line_chars)]


def write_srt(cues, path, line_chars: int = 42) -> Path:
    """SubRip file (composed by the `srt` library): numbered cues, `HH:MM:SS,mmm --> HH:MM:SS,mmm`."""
    subs = [srt.Subtitle(i, _ms(c.start), _ms(c.end), text)
            for i, (c, text) in enumerate(_checked(cues, line_chars), 1)]
    return atomic_write(path, srt.compose(subs, reindex=False))


def write_vtt(cues, path, line_chars: int = 42) -> Path:
    """WebVTT file: `WEBVTT` header then `HH:MM:SS.mmm --> HH:MM:SS.mmm` cues."""
    blocks = [f"{vtt_time(c.start)} --> {vtt_time(c.end)}\n{text}\n"
              for c, text in _checked(cues, line_chars)]
    return atomic_write(path, "WEBVTT\n\n" + "\n".join(blocks))


def chapter_time(t: float) -> str:
    """`MM:SS`, or `H:MM:SS` from an hour on (the form video sites read)."""
    s = int(math.floor(t + 1e-6))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def write_chapters_txt(chapters, path) -> Path:
    """`00:00 Title` lines, one per chapter; `chapters` is a list of (start seconds, title).

    Video sites require the first chapter at 00:00 and increasing times.
    """
    chapters = list(chapters)
    if not chapters:
        raise ValueError("write_chapters_txt: no chapters")
    lines, prev = [], -1.0
    for start, title in chapters:
        if start < 0 or start <= prev:
            raise ValueError(f"chapter {title!r} starts at {start}: chapter times must increase from 0")
        prev = start
        lines.append(f"{chapter_time(start)} {' '.join(str(title).split())}")
    if chapter_time(chapters[0][0]) != "00:00":
        raise ValueError(f"the first chapter must start at 00:00, not {chapters[0][0]}")
    return atomic_write(path, "\n".join(lines) + "\n")


def write_transcript(chapters, path, header: str = "# Transcript", chapter_times=None) -> Path:
    """transcript.md: the header, then `## Title` and its paragraphs for every chapter.

    `chapters` is a list of (title, [paragraph, ...]); `chapter_times`, if
    given, is one start time per chapter, shown as `## 01:23 Title`.
    """
    chapters = list(chapters)
    if chapter_times is not None and len(chapter_times) != len(chapters):
        raise ValueError(f"{len(chapter_times)} chapter times for {len(chapters)} chapters")
    parts = [header.rstrip() + "\n"] if header else []
    for i, (title, paragraphs) in enumerate(chapters):
        when = f"{chapter_time(chapter_times[i])} " if chapter_times is not None else ""
        parts.append(f"## {when}{' '.join(str(title).split())}\n")
        if isinstance(paragraphs, str):
            paragraphs = [paragraphs]
        for p in paragraphs:
            p = " ".join(str(p).split())
            if p:
                parts.append(p + "\n")
    return atomic_write(path, "\n".join(parts))
