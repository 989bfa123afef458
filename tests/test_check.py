"""`kdanim check` and what it checks: a lesson folder's files, encoding, loudness and captions.

The lesson is drawn by the fake renderer (tests/fake_chapters.py: Manim's encoder settings, each cue
voiced by a tone); everything after the drawing is the real code. The loudness is measured here by
meters other than the one that normalised the track (FFmpeg's ebur128): pyloudnorm for the
integrated loudness, a 4× oversampled peak (scipy) for the true peak. test_render.py checks the
real Manim and Piper lesson the same way.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import av
import numpy as np
import pyloudnorm
import pytest
import srt
from click.testing import CliRunner
from scipy.signal import resample_poly

from conftest import use_fake_chapters
from kdanim.cli import main
from kdanim.narration.subtitles import GAP_FRAMES, MAX_CPS, MAX_CUE, MIN_CUE
from kdanim.narration.voices import write_wav
from kdanim.publish import media
from kdanim.publish.check import check_folder

CHAPTERS = "2,5,9"
FPS = 15  # --quality low


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def render(trace_file, out, *extra):
    return invoke("render", "--trace", trace_file, "--quality", "low", "--voice", "piper", "--jobs", "1",
                  "--chapters", CHAPTERS, "--out", out, *extra)


@pytest.fixture(scope="module")
def lesson(fake_renderer, fake_cache, trace_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("checked") / "lesson"
    with pytest.MonkeyPatch.context() as mp:
        use_fake_chapters(mp, fake_renderer, fake_cache)
        result = render(trace_file, out)
    assert result.exit_code == 0, result.output
    return out, result


def decoded_audio(path):
    """(samples, rate) of the first audio stream, decoded as a player decodes it."""
    with av.open(str(path)) as c:
        rate = c.streams.audio[0].sample_rate
        x = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])
    return x.astype(np.float64), rate


def true_peak_dbtp(x):
    """ITU-R BS.1770-4 annex 2: the peak of the signal oversampled 4×."""
    return 20 * np.log10(np.max(np.abs(resample_poly(x, 4, 1))))


def test_render_ends_with_the_check(lesson):
    _, result = lesson
    assert "check: ✓ all" in result.output and "checks of the lesson" in result.output


def test_a_good_lesson_passes(lesson):
    out, _ = lesson
    result = invoke("check", out)
    assert result.exit_code == 0, result.output
    assert "✗" not in result.output and result.output.count("✓") >= 16
    for check in ("files and hashes", "lesson.mp4 GOP", "lesson.mp4 B-frames", "lesson.mp4 frame rate",
                  "lesson.mp4 loudness", "lesson.mp4 true peak", "reading speed", "cue length", "gap between cues"):
        assert check in result.output


def test_loudness_by_other_meters(lesson):
    """Within 1 LU of −16 LUFS by pyloudnorm, true peak under −1 dBTP, AAC-LC at 48 kHz and 128 kbit/s."""
    out, _ = lesson
    x, rate = decoded_audio(out / "lesson.mp4")
    assert rate == 48000
    assert pyloudnorm.Meter(rate).integrated_loudness(x) == pytest.approx(-16.0, abs=1.0)
    assert true_peak_dbtp(x) <= -1.0
    enc = media.encoding(out / "lesson.mp4")["audio"]
    assert (enc["codec"], enc["profile"], enc["sample_rate"]) == ("aac", "LC", 48000)
    assert enc["encoder_bit_rate"] >= 128_000
    audio = json.loads((out / "manifest.json").read_text())["audio"]  # the manifest records what was measured
    assert audio["integrated_lufs"] == pytest.approx(-16.0, abs=0.5) and audio["true_peak_dbtp"] <= -1.0


def test_the_loudness_option(fake_chapters, trace_file, tmp_path):
    result = render(trace_file, tmp_path / "quiet", "--loudness", "-23", "-q")
    assert result.exit_code == 0, result.output
    x, rate = decoded_audio(tmp_path / "quiet" / "lesson.mp4")
    assert pyloudnorm.Meter(rate).integrated_loudness(x) == pytest.approx(-23.0, abs=1.0)
    manifest = json.loads((tmp_path / "quiet" / "manifest.json").read_text())
    assert manifest["parameters"]["render"]["loudness"] == -23.0 and manifest["audio"]["target_lufs"] == -23.0


def test_the_video_is_encoded_to_the_upload_guides(lesson):
    out, _ = lesson
    v = media.encoding(out / "lesson.mp4")["video"]
    assert (v["codec"], v["profile"], v["pix_fmt"]) == ("h264", "High", "yuv420p")
    assert v["max_gop"] <= FPS // 2 and v["x264"]["open_gop"] == "0" and int(v["x264"]["bframes"]) <= 2
    assert v["constant_rate"]
    with av.open(str(out / "lesson.mp4")) as c:  # every frame one frame after the last, across the chapters' joins
        s = c.streams.video[0]
        pts = sorted(p.pts for p in c.demux(s) if p.pts is not None)
        step = round(1 / (s.time_base * FPS))
    assert set(np.diff(pts)) == {step}


def test_every_caption_rule_holds(lesson):
    out, _ = lesson
    cues = list(srt.parse((out / "lesson.srt").read_text()))
    assert cues
    for a, b in zip(cues, cues[1:]):
        assert (b.start - a.end).total_seconds() >= GAP_FRAMES / FPS - 1e-3
    for c in cues:
        d = (c.end - c.start).total_seconds()
        lines = c.content.splitlines()
        assert len(" ".join(lines)) / d <= MAX_CPS + 1e-6 and MIN_CUE - 1e-3 <= d <= MAX_CUE
        assert len(lines) <= 2 and all(len(line) <= 42 for line in lines)


# -- broken folders ---------------------------------------------------------------------------------

def broken_copy(lesson, tmp_path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(lesson[0], copy)
    return copy


def rehash(folder: Path, name: str) -> None:
    """Record ``name``'s new size and sha256 in the manifest: only the check under test should fail."""
    manifest = json.loads((folder / "manifest.json").read_text())
    for f in manifest["files"]:
        if f["name"] == name:
            f["bytes"] = (folder / name).stat().st_size
            f["sha256"] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def failing(folder) -> list[str]:
    result = invoke("check", folder)
    assert result.exit_code == 1, result.output
    assert "check: ✗" in result.output.splitlines()[-1]
    return [r.check for r in check_folder(folder).failed]


def test_a_changed_file_fails(lesson, tmp_path):
    folder = broken_copy(lesson, tmp_path)
    with (folder / "transcript.md").open("a") as f:
        f.write("\nan edit\n")
    assert failing(folder) == ["files and hashes"]
    (folder / "trace.json").unlink()
    assert "trace.json missing" in check_folder(folder).failed[0].value


def test_a_too_loud_track_fails(lesson, tmp_path, monkeypatch):
    folder = broken_copy(lesson, tmp_path)
    x, rate = decoded_audio(folder / "lesson.mp4")
    loud = write_wav(tmp_path / "loud.wav", np.clip(x * 4, -1, 1), rate)  # +12 dB
    monkeypatch.setattr(media, "_AAC_PEAK", np.inf)  # mux would turn the peaks down: a file kdanim never writes
    media.mux(lesson[0] / "lesson.mp4", loud, folder / "lesson.mp4")
    rehash(folder, "lesson.mp4")
    assert failing(folder) == ["lesson.mp4 loudness", "lesson.mp4 true peak"]


def test_a_30_cps_cue_fails(lesson, tmp_path):
    folder = broken_copy(lesson, tmp_path)
    cues = list(srt.parse((folder / "lesson.srt").read_text()))
    c = cues[1]
    c.content = "x" * int(30 * (c.end - c.start).total_seconds())  # 30 characters a second
    (folder / "lesson.srt").write_text(srt.compose(cues))
    vtt = "WEBVTT\n\n" + "\n".join(f"{srt.timedelta_to_srt_timestamp(q.start).replace(',', '.')} --> "
                                   f"{srt.timedelta_to_srt_timestamp(q.end).replace(',', '.')}\n{q.content}\n" for q in cues)
    (folder / "lesson.vtt").write_text(vtt)
    rehash(folder, "lesson.srt")
    rehash(folder, "lesson.vtt")
    assert failing(folder) == ["reading speed", "cue lines"]


def test_what_is_not_a_published_folder(tmp_path):
    result = invoke("check", tmp_path)
    assert result.exit_code == 1 and "not a folder kdanim published" in result.output
