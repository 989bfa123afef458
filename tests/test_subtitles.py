from pathlib import Path

import pytest
import srt
import webvtt

from kdanim.narration.speech import split_cues
from kdanim.narration.subtitles import (
    Cue, chapter_time, srt_time, timeline, vtt_time, write_chapters_txt, write_srt,
    write_transcript, write_vtt,
)
from kdanim.narration.voices import SilentVoice, Utterance

TEXT = ("After 100 epochs the distilled student reaches 86 percent — 6 points above the same "
        "network trained from scratch. Why? Because the teacher's soft targets carry "
        "information: which classes resemble each other, and by how much.")


def _utterances():
    voice = SilentVoice()
    return [voice.synthesize(c) for c in split_cues(TEXT)]


def test_timeline_uses_the_utterance_durations():
    # durations as a real voice would give them (not round numbers)
    us = [Utterance("One.", Path("/a.wav"), 1.2345), Utterance("Two.", None, 0.8765),
          Utterance("Three.", Path("/c.wav"), 2.0001)]
    cues, placements, end = timeline(us, start=3.0, gap=0.2)
    assert [c.end - c.start for c in cues] == pytest.approx([1.2345, 0.8765, 2.0001])
    assert cues[1].start == pytest.approx(cues[0].end + 0.2)
    assert placements == [(3.0, Path("/a.wav")), (pytest.approx(cues[2].start), Path("/c.wav"))]
    assert end == pytest.approx(3.0 + 1.2345 + 0.2 + 0.8765 + 0.2 + 2.0001)


def test_srt_parses_and_times_equal_durations(tmp_path):
    us = _utterances()
    cues, _, _ = timeline(us, start=0.5)
    path = write_srt(cues, tmp_path / "lesson.srt")
    subs = list(srt.parse(path.read_text(encoding="utf-8")))
    assert len(subs) == len(us)
    for sub, cue, u in zip(subs, cues, us):
        assert sub.start.total_seconds() == pytest.approx(cue.start, abs=0.0011)
        dur = sub.end.total_seconds() - sub.start.total_seconds()
        assert dur == pytest.approx(u.duration, abs=0.0011)
        lines = sub.content.split("\n")
        assert len(lines) <= 2 and all(len(line) <= 42 for line in lines)
        assert " ".join(lines) == u.text


def test_vtt_parses_and_times_equal_durations(tmp_path):
    us = _utterances()
    cues, _, _ = timeline(us, start=0.25, gap=0.1)
    path = write_vtt(cues, tmp_path / "lesson.vtt")
    assert path.read_text(encoding="utf-8").startswith("WEBVTT\n")
    caps = list(webvtt.read(str(path)))
    assert len(caps) == len(us)
    for cap, cue, u in zip(caps, cues, us):
        start = cap.start_time.in_milliseconds() / 1000
        end = cap.end_time.in_milliseconds() / 1000
        assert start == pytest.approx(cue.start, abs=0.0011)
        assert end - start == pytest.approx(u.duration, abs=0.0011)
        assert len(cap.text.split("\n")) <= 2
        assert " ".join(cap.text.split("\n")) == u.text


def test_time_formats():
    assert srt_time(3723.4567) == "01:02:03,457"
    assert vtt_time(59.9996) == "00:01:00.000"
    assert chapter_time(0) == "00:00"
    assert chapter_time(83.9) == "01:23"
    assert chapter_time(3600 + 61) == "1:01:01"


def test_bad_cues_are_refused(tmp_path):
    with pytest.raises(ValueError, match="before it starts"):
        Cue(2.0, 1.0, "x")
    with pytest.raises(ValueError, match="no text"):
        Cue(0.0, 1.0, "  ")
    with pytest.raises(ValueError, match="before cue 1 ends"):
        write_srt([Cue(0, 2, "a"), Cue(1, 3, "b")], tmp_path / "x.srt")
    assert not (tmp_path / "x.srt").exists()
    # an arrow inside the text must not break the format
    write_srt([Cue(0, 1, "a --> b")], tmp_path / "y.srt")
    assert list(srt.parse((tmp_path / "y.srt").read_text()))[0].content == "a → b"


def test_atomic_write_leaves_no_temp_files(tmp_path):
    write_srt([Cue(0, 1, "a")], tmp_path / "a.srt")
    write_vtt([Cue(0, 1, "a")], tmp_path / "a.vtt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.srt", "a.vtt"]


def test_transcript(tmp_path):
    path = write_transcript(
        [("Why distil?", ["First  paragraph\nof the chapter.", "Second one."]),
         ("Soft targets", ["Tau equals 3."])],
        tmp_path / "transcript.md", header="# Knowledge distillation — transcript",
        chapter_times=[0.0, 75.2])
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Knowledge distillation — transcript\n")
    assert "## 00:00 Why distil?\n" in text and "## 01:15 Soft targets\n" in text
    assert "First paragraph of the chapter.\n" in text
    assert text.index("Second one.") < text.index("Tau equals 3.")


def test_chapters_txt(tmp_path):
    path = write_chapters_txt([(0.0, "Why distil?"), (75.2, "Soft targets"), (3700, "End")],
                              tmp_path / "chapters.txt")
    assert path.read_text().splitlines() == ["00:00 Why distil?", "01:15 Soft targets", "1:01:40 End"]
    with pytest.raises(ValueError, match="00:00"):
        write_chapters_txt([(3.0, "Late")], tmp_path / "c.txt")
    with pytest.raises(ValueError, match="increase"):
        write_chapters_txt([(0.0, "A"), (0.0, "B")], tmp_path / "c.txt")
