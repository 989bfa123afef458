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


# ---------------------------------------------------------------- the caption rules

def test_readable_holds_a_fast_cue_into_the_pause_after_it():
    from kdanim.narration.subtitles import GAP_FRAMES, MAX_CPS, caption_problems, readable

    fast = "x" * 40 + " " + "y" * 40           # 81 characters spoken in 3 s: 27 characters/s
    cues = [Cue(0.0, 3.0, fast), Cue(6.0, 7.0, "The next one.")]
    shown = readable(cues, fps=15)
    assert shown[0].start == 0.0 and shown[0].end == pytest.approx(81 / MAX_CPS, abs=0.01)  # held, 20 cps
    assert shown[1] == Cue(6.0, 7.0, "The next one.")                  # slow enough: as spoken
    # never past 2 frames before the next cue: then it is too fast, and the check says so
    tight = readable([Cue(0.0, 3.0, fast), Cue(3.5, 4.5, "The next one.")], fps=15)
    assert tight[0].end == pytest.approx(3.5 - GAP_FRAMES / 15)
    assert any("characters/s" in p for p in caption_problems(tight, 15))
    assert caption_problems(shown, 15) == []


def test_readable_keeps_a_short_cue_on_for_five_sixths_and_splits_a_long_one():
    from kdanim.narration.subtitles import MAX_CUE, MIN_CUE, caption_problems, readable

    shown = readable([Cue(1.0, 1.4, "Why?"), Cue(3.0, 12.0, " ".join(["word"] * 30))], fps=30)
    assert shown[0].end - shown[0].start == pytest.approx(MIN_CUE, abs=0.01)
    parts = shown[1:]
    assert len(parts) == 2 and all(p.end - p.start <= MAX_CUE for p in parts)
    assert " ".join(p.text for p in parts) == " ".join(["word"] * 30) and parts[-1].end == 12.0
    assert caption_problems(shown, 30) == []


def test_sentence_rows_join_the_cues_of_a_sentence():
    from kdanim.narration.subtitles import sentence_rows

    cues = [Cue(0.0, 2.0, "The student has a single hidden layer of 114 units:"),
            Cue(2.15, 4.0, "about 8 thousand parameters, 15 times smaller."), Cue(4.5, 5.5, "Why?")]
    assert sentence_rows(cues) == [
        [0.0, 4.0, "The student has a single hidden layer of 114 units: about 8 thousand parameters, 15 times smaller."],
        [4.5, 5.5, "Why?"]]
