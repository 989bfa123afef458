"""Render progress on stderr: one bar per chapter on a terminal, one line per finished chapter elsewhere."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass

__all__ = ["ChapterProgress"]

BAR = 16  # characters of a bar


@dataclass
class _Row:
    number: int
    title: str
    expected_beats: int | None  # from an earlier render of the chapter, if any
    state: str = "waiting"  # waiting | rendering | done | cached
    beats: int = 0
    video: float = 0.0
    started: float | None = None
    seconds: float = 0.0


class ChapterProgress:
    """Receives render events and draws them.

    Events are tuples: ``("start", n)``, ``("beat", n, beats_done, video_seconds)``,
    ``("done", n, seconds, cached)``. On a terminal every chapter has a line with a
    bar (filled by beats, when an earlier render told how many a chapter has), its
    elapsed time, and the whole render's estimate of what is left; elsewhere (a log,
    CI) each finished chapter prints one line.
    """

    def __init__(self, chapters, expected_beats: dict[int, int] | None = None, stream=None,
                 tty: bool | None = None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        expected_beats = expected_beats or {}
        self.rows = {c.number: _Row(c.number, c.title, expected_beats.get(c.number)) for c in chapters}
        self.t0 = time.perf_counter()
        self._drawn = 0
        self._lock = threading.Lock()

    # -- events ------------------------------------------------------------
    def event(self, e: tuple) -> None:
        with self._lock:
            kind, n = e[0], e[1]
            row = self.rows[n]
            if kind == "start":
                row.state, row.started = "rendering", time.perf_counter()
            elif kind == "beat":
                row.beats, row.video = e[2], e[3]
                if row.started is None:
                    row.state, row.started = "rendering", time.perf_counter()
            elif kind == "done":
                row.state = "cached" if e[3] else "done"
                row.seconds = e[2]
                if not self.tty:
                    self._line(self._final_line(row))
            if self.tty:
                self._redraw()

    def message(self, text: str) -> None:
        """A line below the bars (e.g. "assembling …")."""
        with self._lock:
            self._line(text)
            self._drawn = 0

    # -- drawing -----------------------------------------------------------
    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def _eta(self) -> float | None:
        done = [r for r in self.rows.values() if r.state == "done"]
        left = [r for r in self.rows.values() if r.state in ("waiting", "rendering")]
        if not done:
            return None
        return sum(r.seconds for r in done) / len(done) * len(left) / max(1, self._parallel())

    def _parallel(self) -> int:
        return max(1, sum(r.state == "rendering" for r in self.rows.values()))

    def _final_line(self, row: _Row) -> str:
        finished = sum(r.state in ("done", "cached") for r in self.rows.values())
        elapsed = time.perf_counter() - self.t0
        how = "cached" if row.state == "cached" else f"{row.seconds:5.1f} s"
        eta = self._eta()
        left = f", about {eta:4.0f} s left" if eta is not None and finished < len(self.rows) else ""
        return (f"[{finished:2d}/{len(self.rows)}] {row.number:2d} {row.title:<28} {how:>8}   "
                f"elapsed {elapsed:5.0f} s{left}")

    def _bar(self, row: _Row) -> str:
        if row.state in ("done", "cached"):
            return "█" * BAR
        if row.state == "waiting":
            return "·" * BAR
        if row.expected_beats:
            filled = min(BAR - 1, int(BAR * row.beats / row.expected_beats))
            return "█" * filled + "░" * (BAR - filled)
        return ("░" * BAR)[:BAR]

    def _row_text(self, row: _Row) -> str:
        if row.state == "cached":
            status = "cached"
        elif row.state == "done":
            status = f"done in {row.seconds:.0f} s"
        elif row.state == "rendering":
            total = f"/{row.expected_beats}" if row.expected_beats else ""
            status = (f"beat {row.beats}{total} · {row.video:.0f} s of video · "
                      f"{time.perf_counter() - row.started:.0f} s")
        else:
            status = "waiting"
        return f"{row.number:2d} {row.title:<28} {self._bar(row)} {status}"

    def _redraw(self) -> None:
        lines = [self._row_text(r) for r in self.rows.values()]
        eta = self._eta()
        elapsed = time.perf_counter() - self.t0
        lines.append(f"   elapsed {elapsed:.0f} s" + (f", about {eta:.0f} s left" if eta is not None else ""))
        out = (f"\033[{self._drawn}F" if self._drawn else "") + "".join(f"\033[K{l}\n" for l in lines)
        self.stream.write(out)
        self.stream.flush()
        self._drawn = len(lines)
