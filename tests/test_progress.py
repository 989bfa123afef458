"""Render progress (kdanim.render.progress): live rich bars on a terminal, one line per chapter in a log,
nothing with -q."""

import io
import json
import re

import pytest
from click.testing import CliRunner
from rich.console import Console

from kdanim.cli import main
from kdanim.render import BeatDone, Finished, Started
from kdanim.render.progress import ChapterProgress

CHAPTERS = {1: "The idea", 2: "The task"}
TEN = {n: f"Chapter {n}" for n in range(1, 11)} | {4: "Soft labels and temperature"}


class Clock:
    """rich's clock, moved by hand: elapsed times and estimates are exact."""

    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def screen(p: ChapterProgress) -> list[str]:
    """What the live display shows now, as plain text lines."""
    out = Console(file=io.StringIO(), width=120, color_system=None)
    out.print(p.progress.make_tasks_table(p.progress.tasks))
    return out.file.getvalue().splitlines()


def test_terminal_shows_a_live_bar_per_chapter_that_moves_every_beat():
    clock, term = Clock(), io.StringIO()
    console = Console(file=term, force_terminal=True, width=120, get_time=clock)
    with ChapterProgress(CHAPTERS, {1: 4}, console=console) as p:
        rows = screen(p)
        assert len(rows) == 3 and all("waiting" in r for r in rows[:2]) and "all chapters" in rows[2]
        p.event(Started(1))
        for beat, seconds in ((1, 8), (2, 2)):
            clock.t += seconds
            p.event(BeatDone(1, beat, 5.0 * beat))
            assert p.progress.tasks[0].completed == beat  # the bar moves after every beat
        rows = screen(p)
        # filled against the earlier render's 4 beats (and writing the file, a fifth step):
        # 2 of 5 steps in 10 s → 15 s left (rich rounds its estimate up to the next second)
        assert re.search(r"^ 1 The idea .* beat 2/4 · 10 s video\s+0:00:10\s+00:1[56]$", rows[0]), rows[0]
        assert p.progress.tasks[0].percentage == 40
        assert "waiting" in rows[1]
        # the whole render: 0.4 of 2 chapters in 10 s → 40 s left
        assert re.search(r"all chapters .* 0/2 chapters\s+0:00:10\s+00:4[01]$", rows[2]), rows[2]
        clock.t += 20
        for beat in (4, 5):  # the last beat, then more beats than last time: the bar is not full before the end
            p.event(BeatDone(1, beat, 30.0))
            assert p.progress.tasks[0].percentage < 100 and f"beat {beat}/{beat}" in screen(p)[0]
        p.event(Finished(1, 30.0, False))
        p.event(Started(2))
        p.event(Finished(2, 0.0, True))
        rows = screen(p)
        assert "done in 30 s" in rows[0] and "cached" in rows[1] and "2/2 chapters" in rows[2]
        assert all(t.finished for t in p.progress.tasks)
        p.message("assembling video")
    drawn = term.getvalue()
    assert "\x1b[" in drawn  # drawn live, with cursor moves
    assert "assembling video" in drawn and "done in 30 s" in drawn and "cached" in drawn


def test_a_chapter_without_an_earlier_render_counts_its_beats():
    p = ChapterProgress({1: CHAPTERS[1]}, console=Console(file=io.StringIO(), force_terminal=True, width=120))
    p.event(Started(1))
    p.event(BeatDone(1, 3, 12.0))
    assert p.progress.tasks[0].total is None and "beat 3 · 12 s video" in screen(p)[0]
    p.event(Finished(1, 14.0, False))
    assert p.progress.tasks[0].finished and "done in 14 s" in screen(p)[0]


def test_all_ten_chapters_fit_80_columns():
    p = ChapterProgress(TEN, {4: 12}, console=Console(file=io.StringIO(), force_terminal=True))
    p.event(Started(4))
    p.event(BeatDone(4, 11, 123.0))
    out = Console(file=io.StringIO(), width=80, color_system=None)
    out.print(p.progress.make_tasks_table(p.progress.tasks))
    rows = out.file.getvalue().splitlines()
    assert len(rows) == 11 and max(map(len, rows)) <= 80
    assert re.search(r"^ 4 Soft labels and temperature .* beat 11/12 · 123 s video\s+0:00:0\d\s+(--:--|\d\d:\d\d)$", rows[3]), rows[3]


def test_elsewhere_one_plain_line_per_finished_chapter():
    clock, log = Clock(), io.StringIO()
    with ChapterProgress(CHAPTERS, {1: 4}, console=Console(file=log, get_time=clock)) as p:
        p.event(Started(1))
        clock.t += 10
        p.event(BeatDone(1, 2, 10.0))
        assert log.getvalue() == ""  # a log gets no redraws, only finished chapters
        clock.t += 20
        p.event(Finished(1, 30.0, False))
        p.event(Started(2))
        p.event(Finished(2, 0.0, True))
        p.message("assembling video")
    lines = log.getvalue().splitlines()
    assert lines == [
        f"[ 1/2]  1 {'The idea':<28}   30.0 s   elapsed    30 s, about   30 s left",
        f"[ 2/2]  2 {CHAPTERS[2]:<28}   cached   elapsed    30 s",
        "assembling video",
    ]
    assert "\x1b" not in log.getvalue()


@pytest.mark.parametrize("quiet", [False, True])
def test_render_command_reports_progress_unless_quiet(quiet, fake_chapters, trace_file, tmp_path, monkeypatch):
    """The command feeds the display with the render's events (stderr is not a terminal here): a line per
    chapter, drawn (its seconds) or from the cache."""
    def render(*chapters, out=tmp_path / "o", quiet=False):
        args = ["render", "--trace", trace_file, "--voice", "none", "--quality", "low", "--jobs", "1",
                "--chapters", ",".join(map(str, chapters)), "--out", out] + (["-q"] if quiet else [])
        return CliRunner().invoke(main, [str(a) for a in args])

    monkeypatch.setenv("KDANIM_CACHE", str(tmp_path / "cache"))  # a cache of this test's own
    assert render(5, out=tmp_path / "first", quiet=True).exit_code == 0  # chapter 5 is in the cache now
    result = render(2, 5, quiet=quiet)
    assert result.exit_code == 0, result.output
    assert [n for n, _, _ in fake_chapters.calls] == [5, 2]
    if quiet:
        assert result.output == ""
        return
    lines = result.output.splitlines()
    assert re.match(r"\[ 1/2\]  2 \S.* +\d+\.\d s   elapsed", lines[0]), lines
    assert re.match(r"\[ 2/2\]  5 \S.* cached   elapsed", lines[1]), lines
    assert lines[2:] == ["assembling video, narration, subtitles and chapters",
                         f"wrote {tmp_path / 'o'}/lesson.mp4 ({json.loads((tmp_path / 'o' / 'manifest.json').read_text())['duration']:.0f} s, "
                         "2 chapters) and its subtitles, transcript and manifest",
                         f"check: ✓ all 14 checks of the lesson {tmp_path / 'o'} pass"]  # silent voice: no loudness rows
