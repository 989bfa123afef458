"""Render progress on stderr with `rich.progress`: a bar per chapter on a terminal, a line per chapter elsewhere."""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from .options import BeatDone, Event, Finished

__all__ = ["ChapterProgress"]


class _TimeLeft(TimeRemainingColumn):
    """Rich's estimate of the time left, blank on a finished row."""

    def render(self, task):
        return Text("") if task.finished else super().render(task)


class ChapterProgress:
    """Receives render events and shows them; use it as a context manager around the render.

    Events (:data:`kdanim.render.Event`) are sent from this process or relayed from worker
    processes (see `kdanim.render.render_chapters`): ``Started``, ``BeatDone``, ``Finished``.
    On a terminal every chapter has a live row: a bar that moves after every
    beat (filled against the beat count of an earlier render when one is known),
    its elapsed time and estimate; a last row does the same for the whole
    render. Elsewhere (a log, CI) each finished chapter prints one line.
    """

    def __init__(self, titles: dict[int, str], expected_beats: dict[int, int] | None = None,
                 console: Console | None = None):
        """``titles``: the chapters to show, number -> title, in order."""
        self.console = console or Console(stderr=True)
        self.progress = Progress(  # all ten chapters fit 80 columns
            TextColumn("{task.description}"), BarColumn(bar_width=12), TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(), _TimeLeft(compact=True),
            console=self.console, refresh_per_second=2,
            speed_estimate_period=24 * 3600)  # the estimate averages over the whole render
        # A chapter's steps: its beats (as many as in an earlier render, if known), then writing its file.
        self.expected = dict(expected_beats or {})
        self.rows = {n: self.progress.add_task(f"{n:2d} {title}", start=False, total=self._steps(n),
                                               status="waiting") for n, title in titles.items()}
        self.titles = dict(titles)
        # The whole render, in chapters: rendered ones count, cached ones leave the total (no work to time).
        self.all = self.progress.add_task("   all chapters", total=len(self.rows), status="")
        self.fraction: dict[int, float] = {}  # part done of each rendering chapter whose beat count is known
        self.rendered = self.finished = 0
        # Rich estimates a speed from the steps it has seen since its first one: a tiny first step
        # anchors the estimate at the start (and again whenever a new total makes rich forget its steps).
        self.anchor = 1e-6
        self.progress.update(self.all, completed=self.anchor)
        self._lock = threading.Lock()  # events come from the relay thread of a parallel render

    def __enter__(self):
        if self.console.is_terminal:
            self.progress.start()
        return self

    def __exit__(self, *exc):
        if self.console.is_terminal:
            self.progress.stop()

    def event(self, e: Event) -> None:
        with self._lock:
            n, line = e.number, None
            row = self.rows[n]
            self.progress.start_task(row)  # a no-op once started
            if isinstance(e, BeatDone):
                beats, video, known = e.beats, e.video, self.expected.get(n)
                if known:
                    known = self.expected[n] = max(known, beats)  # more beats than last time
                    self.fraction[n] = beats / self._steps(n)
                self.progress.update(row, completed=beats, total=self._steps(n),
                                     status=f"beat {beats}{f'/{known}' if known else ''} · {video:.0f} s video")
            elif isinstance(e, Finished):
                seconds, cached = e.seconds, e.cached
                self.fraction.pop(n, None)
                self.finished += 1
                if cached:
                    self.progress.update(self.all, total=self._all().total - 1)
                    self.anchor += 1e-6
                else:
                    self.rendered += 1
                done = self._steps(n) or 1
                self.progress.update(row, total=done, completed=done,
                                     status="cached" if cached else f"done in {seconds:.0f} s")
                line = "cached" if cached else f"{seconds:5.1f} s"
            else:  # start: anchor the row's estimate here
                self.progress.update(row, completed=1e-6, status="rendering")
            self.progress.update(self.all, completed=self.anchor + self.rendered + sum(self.fraction.values()),
                                 status=f"{self.finished}/{len(self.rows)} chapters")
            if line and not self.console.is_terminal:
                self._line(n, line)

    def message(self, text: str) -> None:
        """A line above the bars (e.g. "assembling …")."""
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def _steps(self, n: int) -> int | None:
        return self.expected[n] + 1 if self.expected.get(n) else None

    def _all(self):
        return next(t for t in self.progress.tasks if t.id == self.all)

    def _line(self, n: int, how: str) -> None:
        task = self._all()
        left = task.time_remaining
        left = f", about {left:4.0f} s left" if left is not None and not task.finished else ""
        self.message(f"[{self.finished:2d}/{len(self.rows)}] {n:2d} {self.titles[n]:<28} {how:>8}   "
                     f"elapsed {task.elapsed:5.0f} s{left}")
