import json
import os
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from kdanim.publish.media import (
    MediaError, build_audio_track, concat_videos, grab_frame, mp4_atoms, mux, probe, to_gif,
)
from kdanim.narration.subtitles import timeline
from kdanim.narration.voices import PiperVoice, read_wav, write_wav

FPS = 15
SIZE = (160, 90)
RED, GREEN, BLUE, YELLOW = (230, 20, 20), (20, 200, 20), (20, 20, 230), (230, 230, 20)


def make_video(path, colours, seconds, fps=FPS, size=SIZE):
    """A tiny H.264 (libx264, yuv420p) video: solid colours in turn, a moving white bar."""
    with av.open(str(path), "w") as oc:
        s = oc.add_stream("libx264", rate=fps)
        s.width, s.height = size
        s.pix_fmt = "yuv420p"
        n = int(round(seconds * fps))
        for i in range(n):
            arr = np.zeros((size[1], size[0], 3), np.uint8)
            arr[:] = colours[i * len(colours) // n]
            arr[:, (i * 7) % size[0]] = 255
            oc.mux(s.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")))
        oc.mux(s.encode(None))
    return Path(path)


def tone(path, seconds, hz=440.0, amp=0.5, rate=22050):
    t = np.arange(int(round(seconds * rate))) / rate
    return write_wav(path, amp * np.sin(2 * np.pi * hz * t), rate)


def colour_at(path, t):
    with av.open(str(path)) as c:
        best = None
        for f in c.decode(video=0):
            if f.time <= t + 1e-6:
                best = f
        arr = best.to_ndarray(format="rgb24")
    return arr[SIZE[1] // 2, SIZE[0] // 2 + 3].astype(int)


def near(c, want, tol=40):
    return np.all(np.abs(np.asarray(c) - np.asarray(want)) < tol)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    return [make_video(d / "ch1.mp4", [RED, GREEN], 1.0),
            make_video(d / "ch2.mp4", [BLUE], 2.0),
            make_video(d / "ch3.mp4", [YELLOW], 0.6)]


@pytest.fixture(scope="module")
def joined(clips, tmp_path_factory):
    out = tmp_path_factory.mktemp("joined") / "video.mp4"
    starts = concat_videos(clips, out)
    return out, starts


# ---------------------------------------------------------------- audio track

def test_build_audio_track_exact_length_and_placement(tmp_path):
    a = tone(tmp_path / "a.wav", 0.5)
    b = tone(tmp_path / "b.wav", 1.0, hz=300)
    out = build_audio_track([(0.25, a), (2.0, b), (3.5, b)], 4.0, tmp_path / "track.wav")
    x, rate = read_wav(out)
    assert rate == 48000 and x.size == 4 * 48000                # exact, last clip cut at 4 s

    def loud(t0, t1):
        return np.sqrt(np.mean(x[int(t0 * rate):int(t1 * rate)] ** 2))
    assert loud(0.0, 0.24) == 0 and loud(0.3, 0.7) > 0.1 and loud(0.8, 1.9) == 0   # silence stays silent
    assert loud(2.05, 2.95) > 0.1 and loud(3.55, 3.99) > 0.1
    assert loud(2.05, 2.95) == pytest.approx(loud(3.55, 3.99), rel=0.01)         # one gain for the whole track


def test_build_audio_track_overlap_is_mixed_without_clipping(tmp_path):
    a = tone(tmp_path / "a.wav", 1.0, amp=0.9)
    out = build_audio_track([(0.0, a), (0.0, a)], 1.0, tmp_path / "t.wav", sample_rate=16000, loudness=None)
    x, rate = read_wav(out)
    assert rate == 16000 and x.size == 16000                    # resampled from 22050
    assert np.max(np.abs(x)) <= 1.0 and np.max(np.abs(x)) > 0.95  # scaled, not clipped flat
    assert np.mean(np.abs(x) >= 32767 / 32768) < 0.01                  # not a flat top at full scale


def test_build_audio_track_normalises_each_chapter_and_caches_it(tmp_path, monkeypatch):
    """Chapter by chapter: a quiet chapter and a loud one both end at the target loudness; a second build
    reads both parts from the cache, and a changed chapter normalises that chapter only."""
    import kdanim.publish.media as media

    quiet, loud = tone(tmp_path / "q.wav", 1.5, amp=0.05), tone(tmp_path / "l.wav", 1.5, hz=300, amp=0.6)
    cache = tmp_path / "cache"
    calls = []
    real = media.normalise_loudness
    monkeypatch.setattr(media, "normalise_loudness", lambda x, *a, **k: calls.append(x.size) or real(x, *a, **k))
    first = build_audio_track([(0.2, quiet), (2.2, loud)], 4.0, tmp_path / "a.wav", chapters=[0.0, 2.0], cache=cache)
    x, rate = read_wav(first)
    for a, b in ((0.0, 2.0), (2.0, 4.0)):
        assert media.measure_loudness(x[int(a * rate):int(b * rate)], rate).integrated == pytest.approx(-16.0, abs=0.5)
    assert len(calls) == 2
    again = build_audio_track([(0.2, quiet), (2.2, loud)], 4.0, tmp_path / "b.wav", chapters=[0.0, 2.0], cache=cache)
    assert again.read_bytes() == first.read_bytes() and len(calls) == 2           # both parts from the cache
    other = tone(tmp_path / "o.wav", 1.0, hz=500, amp=0.3)
    build_audio_track([(0.2, quiet), (2.2, other)], 4.0, tmp_path / "c.wav", chapters=[0.0, 2.0], cache=cache)
    assert len(calls) == 3                                                          # the changed chapter only
    uncached = build_audio_track([(0.2, quiet), (2.2, loud)], 4.0, tmp_path / "d.wav", chapters=[0.0, 2.0])
    assert uncached.read_bytes() == first.read_bytes()                              # the cache changes nothing


def test_mux_encodes_the_track_in_cached_pieces_that_join_unheard(joined, tmp_path, monkeypatch):
    """Split at the chapters, the AAC track decodes as one unbroken encode does, to within the codec's noise,
    also across a join in the middle of a tone; a second mux copies every piece from the cache, and a change
    in one chapter's samples encodes again only the pieces whose samples (or context) changed."""
    import kdanim.publish.media as media

    video, starts = joined
    rate = 48000
    t = np.arange(int(3.6 * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 1.3 * t))   # no silence at any join
    wav = write_wav(tmp_path / "n.wav", x, rate)
    encoded = []
    real = media._encode_aac
    monkeypatch.setattr(media, "_encode_aac", lambda s, *a: encoded.append(s.size) or real(s, *a))
    whole = mux(video, wav, tmp_path / "whole.mp4")
    cache = tmp_path / "cache"
    split = mux(video, wav, tmp_path / "split.mp4", splits=starts[1:], cache=cache)
    assert len(encoded) == 1 + 3

    def decoded(path):
        with av.open(str(path)) as c:
            return np.concatenate([f.to_ndarray().ravel() for f in c.decode(audio=0)])
    a, b = decoded(whole), decoded(split)
    assert a.size == b.size
    ref = np.pad(x, (0, a.size - x.size))                 # the edit list hides the encoder's priming
    err_whole, err_split = np.sqrt(np.mean((a - ref) ** 2)), np.sqrt(np.mean((b - ref) ** 2))
    assert err_split < 1.1 * err_whole + 1e-5
    for s in starts[1:]:                                   # no click at a join: the error there is the codec's
        j = int(round(s * rate)) // 1024 * 1024
        assert np.max(np.abs(b[j - 2048:j + 2048] - ref[j - 2048:j + 2048])) < 0.05
    assert probe(split)["audio_duration"] == probe(whole)["audio_duration"]
    again = mux(video, wav, tmp_path / "again.mp4", splits=starts[1:], cache=cache)
    assert len(encoded) == 4 and again.read_bytes() == split.read_bytes()            # every piece cached
    y = x.copy()
    y[int(3.2 * rate):] *= 0.5                               # the last chapter (from 3.0 s) only
    mux(video, write_wav(tmp_path / "m.wav", y, rate), tmp_path / "m.mp4", splits=starts[1:], cache=cache)
    assert len(encoded) == 5


def test_a_chapter_made_longer_moves_the_later_narration_which_comes_from_the_cache(tmp_path, monkeypatch):
    """An edit that makes one chapter longer (by whole CHAPTER_STEPs: every chapter lasts a whole number of
    them) moves the later chapters' narration by whole AAC frames: their normalised parts and their encoded
    pieces are the cache's, the same packets as before; only the edited chapter's are made again. The cues
    start on half samples at 22,050 Hz, as a beat's cues 0.15 s apart do."""
    import kdanim.publish.media as media
    from kdanim.render.options import CHAPTER_STEP

    assert CHAPTER_STEP * media.AUDIO_RATE % 1024 == 0
    a, a2 = tone(tmp_path / "a.wav", 0.9, amp=0.1), tone(tmp_path / "a2.wav", 0.3, hz=350, amp=0.2)
    b, c = tone(tmp_path / "b.wav", 1.0, hz=300, amp=0.4), tone(tmp_path / "c.wav", 0.8, hz=500, amp=0.3)
    normalised, encoded = [], []
    real_norm, real_enc = media.normalise_loudness, media._encode_aac
    monkeypatch.setattr(media, "normalise_loudness", lambda x, *k, **kw: normalised.append(x.size) or real_norm(x, *k, **kw))
    monkeypatch.setattr(media, "_encode_aac", lambda s, *k: encoded.append(s.size) or real_enc(s, *k))
    cache = tmp_path / "cache"

    def build(longer: int):
        lengths = [(5 + longer) * CHAPTER_STEP, 4 * CHAPTER_STEP, 3 * CHAPTER_STEP]  # its last second silent
        starts = [0.0, lengths[0], lengths[0] + lengths[1]]
        cues = [(0.15, a), *([(1.2, a2)] if longer else []), (starts[1] + 0.15, b), (starts[2] + 0.45, c)]
        track, rate = media.narration_track(cues, sum(lengths), chapters=starts, cache=cache)
        x, _ = media._audio_samples((track, rate), media.AUDIO_RATE)
        packets, _ = media._aac_packets(x, rate, media.AUDIO_BIT_RATE, [round(t * rate) for t in starts[1:]], cache)
        return [(p - round(starts[1] * rate), d) for p, d in packets if p >= round(starts[1] * rate)]

    first = build(0)
    assert len(normalised) == 3 and len(encoded) == 3
    later = build(2)
    assert len(normalised) == 4, "only the edited chapter is normalised again"
    assert len(encoded) == 4, "only the edited chapter's piece is encoded again"
    assert later == first, "the later chapters' packets are the same, moved"


def test_a_piece_whose_aac_decode_peaks_over_the_limit_is_turned_down(joined, tmp_path, monkeypatch):
    """The AAC encoder overshoots the peaks it is given (Piper's speech in the default lesson: normalised
    to −2.4 dBTP, decoded at −0.8, over the check's −1). Each piece is decoded as it is encoded; one whose
    true peak is over the limit is turned down by as much and encoded again with its neighbours, and the
    others keep their level. Here the limit is set under the loud chapter's peak."""
    import kdanim.publish.media as media

    video, starts = joined
    quiet, loud = tone(tmp_path / "q.wav", 0.8, amp=0.05), tone(tmp_path / "l.wav", 1.8, hz=300, amp=0.5)
    wav = build_audio_track([(0.1, quiet), (starts[1] + 0.1, loud)], 3.6, tmp_path / "n.wav", chapters=starts,
                            loudness=None)

    def decoded(path):
        with av.open(str(path)) as c:
            return np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])
    plain = decoded(mux(video, wav, tmp_path / "plain.mp4", splits=starts[1:]))
    monkeypatch.setattr(media, "_AAC_PEAK", -12.0)
    out = mux(video, wav, tmp_path / "guarded.mp4", splits=starts[1:])
    got, rate = decoded(out), 48000
    assert media.loudness(out).true_peak <= -12.0 + 0.1                        # the loud chapter under the limit
    ch2 = slice(int((starts[1] + 0.2) * rate), int((starts[1] + 1.8) * rate))
    assert -12.6 < 20 * np.log10(np.abs(got[ch2]).max()) < -12.0             # turned down by as much, no more
    ch1 = slice(int(0.2 * rate), int(0.8 * rate))
    assert np.sqrt(np.mean(got[ch1] ** 2)) == pytest.approx(np.sqrt(np.mean(plain[ch1] ** 2)), rel=1e-3)  # kept


def test_build_audio_track_bad_input(tmp_path):
    with pytest.raises(ValueError, match="duration"):
        build_audio_track([], 0, tmp_path / "t.wav")
    with pytest.raises(ValueError, match="start time"):
        build_audio_track([(-1, tone(tmp_path / "a.wav", 0.1))], 1, tmp_path / "t.wav")
    assert not (tmp_path / "t.wav").exists()


# ---------------------------------------------------------------- concat

def test_concat_by_stream_copy(clips, joined):
    out, starts = joined
    assert starts == pytest.approx([0.0, 1.0, 3.0], abs=1e-3)
    p = probe(out, rms=False)
    assert p["video"]["codec"] == "h264" and p["audio"] is None
    assert p["video"]["duration"] == pytest.approx(3.6, abs=1e-3)
    assert p["video"]["frames"] == 15 + 30 + 9
    assert near(colour_at(out, 0.1), RED) and near(colour_at(out, 0.8), GREEN)
    assert near(colour_at(out, 1.5), BLUE) and near(colour_at(out, 3.3), YELLOW)
    # every frame decodes, in order, with increasing timestamps
    with av.open(str(out)) as c:
        times = [f.time for f in c.decode(video=0)]
    assert len(times) == 54 and all(b > a for a, b in zip(times, times[1:]))


def test_concat_refuses_mismatched_inputs(clips, tmp_path):
    odd = make_video(tmp_path / "odd.mp4", [RED], 0.4, size=(96, 54))
    with pytest.raises(MediaError, match="96x54"):
        concat_videos([clips[0], odd], tmp_path / "x.mp4")
    with pytest.raises(MediaError, match="no such file"):
        concat_videos([tmp_path / "missing.mp4"], tmp_path / "x.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    with pytest.raises(MediaError, match="junk.mp4"):
        concat_videos([tmp_path / "junk.mp4"], tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


# ---------------------------------------------------------------- mux

CHAPTERS = [(0.0, "Why distil?"), (1.0, "Soft targets"), (3.0, "Summary")]


@pytest.mark.parametrize("audio_seconds", [2.0, 3.6, 5.0])   # shorter, equal, longer than video
def test_mux_mp4(joined, tmp_path, audio_seconds):
    video, starts = joined
    wav = tone(tmp_path / "n.wav", audio_seconds)
    out = mux(video, wav, tmp_path / "lesson.mp4", chapters=CHAPTERS, title="A lesson")
    p = probe(out)
    assert [s["type"] for s in p["streams"]][:2] == ["video", "audio"]
    assert p["video"]["codec"] == "h264" and p["audio"]["codec"] == "aac"
    assert abs(p["audio"]["duration"] - p["video"]["duration"]) < 0.2
    assert p["video"]["duration"] == pytest.approx(3.6, abs=1e-3)
    assert p["audio"]["rms"] > 0.1 and p["audio_rms"] == p["audio"]["rms"]
    assert p["video_duration"] == p["video"]["duration"] and p["audio_duration"] == p["audio"]["duration"]
    assert p["metadata"]["title"] == "A lesson"
    assert [c["title"] for c in p["chapters"]] == ["Why distil?", "Soft targets", "Summary"]
    assert [c["start"] for c in p["chapters"]] == pytest.approx([0.0, 1.0, 3.0])
    assert p["chapters"][-1]["end"] == pytest.approx(3.6, abs=1e-3)
    atoms = mp4_atoms(out)
    assert atoms.index("moov") < atoms.index("mdat")             # faststart
    assert sorted(x.name for x in tmp_path.iterdir()) == ["lesson.mp4", "n.wav"]


def test_mux_audio_padding_is_silent(joined, tmp_path):
    video, _ = joined
    out = mux(video, tone(tmp_path / "n.wav", 1.0), tmp_path / "l.mp4")
    with av.open(str(out)) as c:
        x = np.concatenate([f.to_ndarray().ravel() for f in c.decode(audio=0)])
        rate = c.streams.audio[0].sample_rate
    assert np.sqrt(np.mean(x[int(0.2 * rate):int(0.8 * rate)] ** 2)) > 0.2
    assert np.sqrt(np.mean(x[int(1.3 * rate):] ** 2)) < 0.01
    assert probe(out)["chapters"] == []


def test_mux_without_audio(joined, tmp_path):
    out = mux(joined[0], None, tmp_path / "silent.mp4")
    p = probe(out)
    assert p["audio"] is None and p["video"]["duration"] == pytest.approx(3.6, abs=1e-3)
    assert p["audio_duration"] is None and p["audio_rms"] is None


def test_mux_webm(joined, tmp_path):
    video, _ = joined
    out = mux(video, tone(tmp_path / "n.wav", 3.0), tmp_path / "lesson.webm", fmt="webm",
              chapters=CHAPTERS, title="A lesson")
    p = probe(out)
    assert p["video"]["codec"] == "vp9" and p["audio"]["codec"] == "opus"
    assert abs(p["audio"]["duration"] - p["video"]["duration"]) < 0.2
    assert p["video"]["duration"] == pytest.approx(3.6, abs=0.1)
    assert p["audio"]["rms"] > 0.1
    assert [c["title"] for c in p["chapters"]] == ["Why distil?", "Soft targets", "Summary"]
    assert near(colour_at(out, 1.5), BLUE)


@pytest.mark.parametrize("fmt, language, tag", [("mp4", "en", "eng"), ("mp4", "de", "deu"), ("webm", "de", "deu"),
                                                ("mp4", None, "und")])
def test_mux_tags_the_narration_with_its_language(joined, tmp_path, fmt, language, tag):
    """The audio stream says the narration's language as ISO 639-2, as players list audio tracks."""
    out = mux(joined[0], tone(tmp_path / "n.wav", 1.0), tmp_path / f"lesson.{fmt}", fmt=fmt, language=language)
    with av.open(str(out)) as c:
        assert c.streams.audio[0].metadata.get("language", "und") == tag


def test_every_language_kdanim_speaks_has_an_iso639_2_code():
    from kdanim.narration import locale
    from kdanim.publish.media import ISO639_2

    assert set(locale.LANGUAGES) <= set(ISO639_2) and all(len(v) == 3 for v in ISO639_2.values())


def test_mux_failure_keeps_previous_output(joined, tmp_path):
    out = tmp_path / "lesson.mp4"
    out.write_bytes(b"previous render")
    with pytest.raises(ValueError, match="chapter"):
        mux(joined[0], None, out, chapters=[(0.0, "A"), (9.0, "Past the end")])
    assert out.read_bytes() == b"previous render"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["lesson.mp4"]
    with pytest.raises(ValueError, match="format"):
        mux(joined[0], None, out, fmt="avi")


# ---------------------------------------------------------------- pictures

def test_grab_frame(joined, tmp_path):
    video, _ = joined
    png = grab_frame(video, 1.5, tmp_path / "thumbnail.png")
    im = Image.open(png)
    assert im.size == (1280, 720)
    assert near(im.convert("RGB").getpixel((640, 100)), BLUE)
    late = Image.open(grab_frame(video, 99.0, tmp_path / "late.png", size=(320, 180)))
    assert late.size == (320, 180) and near(late.convert("RGB").getpixel((20, 90)), YELLOW)


def test_to_gif(joined, tmp_path):
    video, _ = joined
    gif = to_gif(video, tmp_path / "lesson.gif", fps=10, width=120)
    im = Image.open(gif)
    assert im.size == (120, 68) and im.n_frames == 36
    im.seek(15)                                                   # t = 1.5 s: blue
    assert near(im.convert("RGB").getpixel((30, 34)), BLUE)
    im.seek(33)
    assert near(im.convert("RGB").getpixel((30, 34)), YELLOW)
    assert probe(gif)["audio"] is None


# ---------------------------------------------------------------- end to end with a real voice

def test_real_voice_narration_end_to_end(joined, tmp_path):
    voice = PiperVoice(cache_dir=tmp_path / "cache")
    us = [voice.synthesize("Knowledge distillation."), voice.synthesize("Tau equals 3.")]
    cues, placements, end = timeline(us, start=0.2, gap=0.2)
    assert len(placements) == 2
    video, _ = joined
    track = build_audio_track(placements, 3.6, tmp_path / "narration.wav")
    out = mux(video, track, tmp_path / "lesson.mp4", chapters=CHAPTERS)
    p = probe(out)
    assert p["audio"]["codec"] == "aac" and p["audio"]["rms"] > 0.02
    assert abs(p["audio"]["duration"] - p["video"]["duration"]) < 0.2
    assert os.path.getsize(out) > 10_000
    # Piper's speech (a 20 dB peak-to-loudness ratio: compressed and limited first) at −16 LUFS by another
    # meter than the normaliser's ebur128 (pyloudnorm), its true peak (4× oversampled) under −1 dBTP
    import pyloudnorm
    from scipy.signal import resample_poly

    with av.open(str(out)) as c:
        x = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)]).astype(np.float64)
        assert c.streams.audio[0].sample_rate == 48000
    assert pyloudnorm.Meter(48000).integrated_loudness(x) == pytest.approx(-16.0, abs=1.0)
    assert 20 * np.log10(np.max(np.abs(resample_poly(x, 4, 1)))) <= -1.0


def test_unwritable_output_is_a_clear_error(joined, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(MediaError, match="cannot write .*lesson.mp4"):
        mux(joined[0], None, blocker / "lesson.mp4")


def test_loudness_of_the_same_encoded_track_is_measured_once(joined, tmp_path, monkeypatch):
    """The manifest's measurement is kept by the encoded bytes: the same track in another file is read from
    the cache; another track is measured."""
    import kdanim.publish.media as media

    video, _ = joined
    measured = []
    real = media._measure_file
    monkeypatch.setattr(media, "_measure_file", lambda p: measured.append(p) or real(p))
    monkeypatch.setattr(media, "_MEASURED", {})
    wav = tone(tmp_path / "n.wav", 2.0)

    def written(*args, **kwargs):  # as another process finds the file: not measured as it was written
        out = mux(*args, **kwargs)
        media._MEASURED.clear()
        return out
    a = written(video, wav, tmp_path / "a.mp4")
    first = media.loudness(a, tmp_path / "cache")
    b = written(video, wav, tmp_path / "b.mp4", title="another title")
    assert media.loudness(b, tmp_path / "cache") == first and len(measured) == 1
    c = written(video, tone(tmp_path / "m.wav", 2.0, amp=0.1), tmp_path / "c.mp4")
    assert media.loudness(c, tmp_path / "cache").integrated < first.integrated - 10 and len(measured) == 2


def bursts(seconds, rate=48000, seed=0, level=0.3, silent=(0.0, 0.0)):
    """Speech-like mono samples: noise in bursts of changing level, with 100-500 ms between them; the first
    and last of ``silent`` seconds digitally silent."""
    rng = np.random.default_rng(seed)
    x, i = np.zeros(int(round(seconds * rate)), np.float32), int(silent[0] * rate)
    end = x.size - int(silent[1] * rate)
    while i < end:
        n = min(int(rng.uniform(0.2, 1.5) * rate), end - i)
        x[i:i + n] = level * rng.uniform(0.05, 1.0) * rng.standard_normal(n) * np.hanning(n)
        i += n + int(rng.uniform(0.1, 0.5) * rate)
    return np.clip(x, -1, 1)


@pytest.mark.parametrize("seconds, level", [(14.0, 0.3), (9.5, 0.02), (2.0, 0.3), (0.3, 0.3), (6.0, 0.0)])
def test_the_loudness_of_k_weighted_energy_is_what_ffmpegs_meter_reads(seconds, level):
    """The loudness composed from a track's K-weighted energy (the sums its AAC pieces keep) is FFmpeg's
    ebur128 reading of the same samples, to the thousandth it states: the gates, the histogram, the range's
    percentiles; a track shorter than a block, and silence."""
    import kdanim.publish.media as media

    x = bursts(seconds, seed=int(seconds * 10), level=level)
    got = media._composed(media._k_energy(x, 0, x.size), 0.0)
    want = media.measure_loudness(x, 48000)
    assert (got.integrated, got.range) == (want.integrated, want.range)
    if level and seconds > 1:
        assert want.integrated > media.SILENCE and (want.range > 0) == (seconds > 3)


def test_a_track_muxed_in_pieces_is_measured_from_them_as_a_player_decodes_it(tmp_path, monkeypatch):
    """An mp4 that `mux` writes in AAC pieces is measured from its pieces' own decodes as they are encoded
    (the pieces in the cache keep their K-weighted energy): the file is not decoded again, and the reading
    is the one of the whole file decoded, where each chapter begins and ends in silence as the lesson's do."""
    import kdanim.publish.media as media

    lengths = [5.0, 4.0, 6.0]
    videos = [make_video(tmp_path / f"v{i}.mp4", [c], s) for i, (c, s) in enumerate(zip([RED, GREEN, BLUE], lengths))]
    x = np.concatenate([bursts(s, seed=i, level=(0.4, 0.1, 0.25)[i], silent=(0.1, 1.1)) for i, s in enumerate(lengths)])
    wav = write_wav(tmp_path / "n.wav", x, 48000)
    splits = [lengths[0], lengths[0] + lengths[1]]
    measured = []
    real = media._measure_file
    monkeypatch.setattr(media, "_measure_file", lambda p: measured.append(p) or real(p))
    out = mux(media.plan_join(videos), wav, tmp_path / "lesson.mp4", splits=splits, cache=tmp_path / "cache")
    heard = media.loudness(out, tmp_path / "cache")
    assert measured == []
    decoded = media._measure_file(out)
    assert heard == decoded and heard.integrated > -30 and heard.range > 1
    # again from the cache (its pieces copied, not encoded): the same reading
    media._MEASURED.clear()
    again = mux(media.plan_join(videos), wav, tmp_path / "again.mp4", splits=splits, cache=tmp_path / "cache")
    assert media.loudness(again) == heard and len(measured) == 1


def test_a_plan_of_videos_muxes_into_the_file_their_join_would(clips, joined, tmp_path):
    """`plan_join` places the chapters where `concat_videos` does (one pass over their packets, nothing
    written), and `mux` given the plan writes the same file, to the byte, as `mux` of the joined video:
    narration, AAC pieces and chapter marks included, the video's packets read and written once."""
    import kdanim.publish.media as media

    video, starts = joined
    plan = media.plan_join(clips)
    info = probe(video, rms=False)
    assert plan.offsets == tuple(starts) and plan.duration == info["video_duration"] and plan.fps == FPS
    t = np.arange(int(round(plan.duration * 48000))) / 48000
    wav = write_wav(tmp_path / "n.wav", 0.3 * np.sin(2 * np.pi * 440 * t), 48000)
    marks = [(s, f"part {i}") for i, s in enumerate(starts)]
    a = mux(video, wav, tmp_path / "a.mp4", chapters=marks, title="T", splits=starts[1:], language="en")
    b = mux(plan, wav, tmp_path / "b.mp4", chapters=marks, title="T", splits=starts[1:], language="en")
    assert a.read_bytes() == b.read_bytes()
    with pytest.raises(ValueError, match="mp4 only"):
        mux(plan, wav, tmp_path / "c.webm", fmt="webm")


def test_a_file_is_measured_as_its_decoded_samples_are(joined, tmp_path):
    """The file's loudness (decoded on a thread beside FFmpeg's meter) is the meter's reading of all its
    samples decoded first, to the last digit: integrated loudness, true peak and range."""
    import kdanim.publish.media as media

    video, _ = joined
    rate = 48000
    t = np.arange(int(3.0 * rate)) / rate
    x = 0.4 * np.sin(2 * np.pi * 300 * t) * (t % 1.0 < 0.6)  # bursts, so the gate and the range have work
    out = mux(video, write_wav(tmp_path / "n.wav", x, rate), tmp_path / "m.mp4")
    with av.open(str(out)) as c:
        decoded = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])
    assert media._measure_file(out) == media.measure_loudness(decoded, rate)


def test_a_ceiling_search_that_stops_moving_the_peaks_ends_near_the_target(monkeypatch):
    """A short clip whose true peak the limiter stops taking down while its loudness keeps falling (one
    Piper sentence, a chapter of its own, did this): the search once jumped to a ceiling above full scale,
    which FFmpeg refuses. Now it keeps to alimiter's range and ends with the peak at the aim, the loudness
    as near the target as that allows (at best 0.2 LU under), within the check's tolerance."""
    import re as re_
    import kdanim.publish.media as media

    real = media._filtered
    ceilings = []

    def limiter_with_a_floor(x, rate, chain, *a, **k):
        out, r, meta = real(x, rate, chain, *a, **k)
        meta = {"lavfi.r128.I": "-20.6", "lavfi.r128.LRA": "2", "lavfi.r128.true_peak": str(10 ** (0.05 / 20))}
        for name, args in chain:
            if name == "alimiter":
                limit = float(re_.search(r"limit=([0-9.]+)", args).group(1))
                if not 1 / 16 <= limit <= 1:
                    raise OverflowError(34, "Numerical result out of range")   # as FFmpeg does
                c = 20 * np.log10(limit)
                ceilings.append(c)
                # loudness falls with the ceiling, the true peak no lower than -11.9 dBTP
                meta = {"lavfi.r128.I": str(-20.6 + 0.45 * c), "lavfi.r128.LRA": "2",
                        "lavfi.r128.true_peak": str(10 ** (max(c + 0.3, -11.9) / 20))}
        return out, r, meta

    monkeypatch.setattr(media, "_filtered", limiter_with_a_floor)
    x = np.concatenate([np.zeros(22050), 0.3 * np.sin(np.arange(22050 * 3) * 0.05), np.zeros(22050)])
    y, before, after = media.normalise_loudness(x, 22050, -16.0, 48000)
    assert ceilings and all(20 * np.log10(1 / 16) - 1e-9 <= c <= 0 for c in ceilings)
    assert after.true_peak <= media._PEAK_AIM + 1e-6 and -17.0 <= after.integrated < -16.0



def test_the_contact_sheet_decodes_a_chapter_once(clips, tmp_path, monkeypatch):
    """Each chapter's beat pictures are kept by the video file and the beats' times: a second sheet of the
    same chapters decodes nothing, with the same pixels, whether its timeline is fresh or read from the chapter
    cache; another video is decoded."""
    from kdanim.publish import contact

    decoded = []
    real = contact.beat_frames
    monkeypatch.setattr(contact, "beat_frames", lambda v, *a: decoded.append(v) or real(v, *a))
    # a fresh render's timeline has its spans as tuples; the same timeline read back from timeline.json, as lists
    timeline = {"chapter": 1, "title": "Colours", "beats": ["red", "green"], "beat_spans": [(0.0, 0.4), (0.4, 1.0)]}
    first = contact.cached_beat_frames(clips[0], timeline, cache=tmp_path / "pictures")
    again = contact.cached_beat_frames(clips[0], json.loads(json.dumps(timeline)), cache=tmp_path / "pictures")
    assert decoded == [clips[0]] and len(again) == 2
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(first, again))
    assert near(np.asarray(again[0])[72, 100], RED) and near(np.asarray(again[1])[72, 100], GREEN)
    contact.cached_beat_frames(clips[1], {**timeline, "beat_spans": [[0.0, 1.0], [1.0, 2.0]]}, cache=tmp_path / "pictures")
    assert decoded == [clips[0], clips[1]]
