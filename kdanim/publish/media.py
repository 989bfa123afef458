"""Assembling the published files with PyAV (no ffmpeg binary needed).

    track = build_audio_track([(0.0, "a.wav"), (2.4, "b.wav")], 10.0, "narration.wav")
    starts = concat_videos(["ch1.mp4", "ch2.mp4"], "video.mp4")     # stream copy
    mux("video.mp4", "narration.wav", "lesson.mp4",
        chapters=[(0.0, "Why distil?"), (starts[1], "Soft targets")], title="…")
    to_gif("lesson.mp4", "lesson.gif"); grab_frame("lesson.mp4", 3.0, "thumbnail.png")
    probe("lesson.mp4")  # streams, durations, chapters, audio RMS

Every output is written under a temporary name in its folder and renamed when
complete, so an interrupted run never leaves a half-written file under the
final name. This module does not import Manim.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import json
import os
import re
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import av.filter
import numpy as np

from kdanim.narration.voices import read_wav, write_wav
from kdanim.files import atomic_path

__all__ = ["build_audio_track", "narration_track", "concat_videos", "mux", "to_gif", "grab_frame", "frames_at", "probe", "encoding",
           "mp4_atoms", "loudness", "measure_loudness", "normalise_loudness", "Loudness", "LOUDNESS", "TRUE_PEAK",
           "AUDIO_RATE", "AUDIO_BIT_RATE", "ISO639_2", "FORMATS", "MediaError"]

FORMATS = ("mp4", "webm", "gif")
_AV_SYNC = 0.2   # audio and video must end within this many seconds


class MediaError(Exception):
    """A media file could not be read or written; the message names the file."""


@contextlib.contextmanager
def atomic(out, suffix: str = ""):
    """`kdanim.paths.atomic_path`, with a MediaError naming `out` when it cannot be written."""
    try:
        with atomic_path(out, suffix) as tmp:
            yield tmp
    except OSError as e:
        raise MediaError(f"cannot write {out}: {e.strerror or e}") from None


def open(path):
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: no such file")
    try:
        return av.open(str(path))
    except av.FFmpegError as e:
        raise MediaError(f"{path}: not a readable media file ({e})") from None


# ---------------------------------------------------------------- audio

def video_stream(container, path):
    """The first video stream of an open container; MediaError if it has none."""
    if not container.streams.video:
        raise MediaError(f"{path}: has no video stream")
    return container.streams.video[0]


def _resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """``x`` at ``rate_out``, resampled by FFmpeg's `aresample` (libswresample)."""
    if rate_in == rate_out or x.size == 0:
        return np.asarray(x, dtype=np.float32)
    out, _, _ = _filtered(x, rate_in, [("aresample", str(int(rate_out)))])
    n = int(round(x.size * rate_out / rate_in))
    return out[:n] if out.size >= n else np.pad(out, (0, n - out.size))


# -- loudness (ITU-R BS.1770 / EBU R128, measured by FFmpeg's ebur128 filter)

#: The narration track's integrated loudness, LUFS (the default of --loudness), and the most its
#: true peak may reach, dBTP; the published audio: AAC-LC at 48 kHz, 128 kbit/s.
LOUDNESS = -16.0
TRUE_PEAK = -1.0
AUDIO_RATE = 48_000
AUDIO_BIT_RATE = 128_000
#: A script's language (ISO 639-1) -> the ISO 639-2 code MP4 and Matroska tag the narration stream with.
ISO639_2 = {"en": "eng", "de": "deu"}
#: The true peak the normaliser aims at: 1 dB below TRUE_PEAK, room for the AAC encoder's overshoot (0.5 dB
#: was not enough: espeak-ng's German came out at −0.96 dBTP from an aim of −1.5).
_PEAK_AIM = TRUE_PEAK - 1.0
#: Below the absolute gate (−70 LUFS): silence, which no gain makes louder.
SILENCE = -70.0


@dataclass(frozen=True)
class Loudness:
    """A track's loudness as FFmpeg's `ebur128` filter measures it (ITU-R BS.1770-4, EBU R128)."""

    integrated: float   # LUFS; SILENCE (−70) when nothing is above the gate
    true_peak: float    # dBTP (4× oversampled)
    range: float        # LU, the loudness range (LRA)

    def as_dict(self) -> dict:
        return {"integrated_lufs": round(self.integrated, 2), "true_peak_dbtp": round(self.true_peak, 2),
                "range_lu": round(self.range, 2)}


def _db(linear: float) -> float:
    return 20.0 * np.log10(linear) if linear > 0 else -np.inf


def _filtered(x: np.ndarray, rate: int, chain, frame_size: int = 4096) -> tuple[np.ndarray, int, dict]:
    """Mono float samples through the FFmpeg filters ``chain`` [(name, args), ...] (PyAV's filter graph).

    Returns (samples out, their rate, the metadata of the last frame that had any: what a
    measuring filter such as ebur128 reports).
    """
    graph = av.filter.Graph()
    node = src = graph.add_abuffer(format="flt", sample_rate=int(rate), layout="mono", time_base=Fraction(1, int(rate)))
    for name, args in chain:
        nxt = graph.add(name, args)
        node.link_to(nxt)
        node = nxt
    sink = graph.add("abuffersink")
    node.link_to(sink)
    graph.configure()
    out, meta, out_rate = [], {}, int(rate)

    def drain():
        nonlocal meta, out_rate
        while True:
            try:
                f = graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return
            out_rate = f.sample_rate
            out.append(f.to_ndarray().reshape(-1).astype(np.float32))
            meta = dict(f.metadata) or meta

    x = np.ascontiguousarray(x, dtype=np.float32)
    for i in range(0, x.size, frame_size):
        f = av.AudioFrame.from_ndarray(x[i:i + frame_size].reshape(1, -1), format="flt", layout="mono")
        f.sample_rate, f.pts, f.time_base = int(rate), i, Fraction(1, int(rate))
        src.push(f)
        drain()
    src.push(None)
    drain()
    return (np.concatenate(out) if out else np.zeros(0, np.float32)), out_rate, meta


_EBUR128 = ("ebur128", "peak=true:metadata=1")


def _loudness(meta: dict) -> Loudness:
    if "lavfi.r128.I" not in meta:
        return Loudness(SILENCE, -np.inf, 0.0)
    return Loudness(float(meta["lavfi.r128.I"]), _db(float(meta["lavfi.r128.true_peak"])),
                    float(meta["lavfi.r128.LRA"]))


def measure_loudness(samples: np.ndarray, rate: int) -> Loudness:
    """The integrated loudness, true peak and loudness range of mono samples (FFmpeg's ebur128)."""
    return _loudness(_filtered(samples, rate, [_EBUR128])[2])


#: The loudness of files measured in this process, by (device, inode, size, modification time): the
#: lesson's track is measured for its manifest and again by the check, after the folder is renamed. An mp4
#: that :func:`mux` wrote is entered as it is written, measured from its AAC pieces (:func:`_composed`).
_MEASURED: dict[tuple, Loudness] = {}


def _file_key(path) -> tuple:
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def loudness(path, cache: Path | None = None) -> Loudness:
    """The loudness of the first audio stream of a media file, decoded as a player would.

    With ``cache`` (a folder), a stream of the same encoded bytes as one measured before is not decoded
    again: its measurement is read from there."""
    try:
        key = _file_key(path)
    except OSError:
        return _measure_file(path)  # says what is wrong with it
    if key not in _MEASURED:
        _MEASURED[key] = _measure_file(path) if cache is None else _measure_cached(path, Path(cache))
    return _MEASURED[key]


def _measure_cached(path, cache: Path) -> Loudness:
    c = open(path)
    with c:
        if not c.streams.audio:
            raise MediaError(f"{path}: has no audio stream")
        a = c.streams.audio[0]
        h = hashlib.sha256(f"{_AUDIO_VERSION}|{av.__version__}|{a.codec_context.name}|{a.sample_rate}".encode())
        for pk in c.demux(a):
            h.update(struct.pack("<q", -1 if pk.pts is None else pk.pts))
            h.update(bytes(pk))
    entry = cache / f"loudness-{h.hexdigest()[:24]}.json"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        d = json.loads(entry.read_text())
        return Loudness(float(d["integrated"]), float(d["true_peak"]), float(d["range"]))
    got = _measure_file(path)
    with contextlib.suppress(OSError), atomic_path(entry, ".json") as tmp:
        tmp.write_text(json.dumps({"integrated": got.integrated, "true_peak": float(got.true_peak), "range": got.range}))
    return got


def _measure_file(path) -> Loudness:
    """The loudness of ``path``'s first audio stream: decoded on a thread of its own while FFmpeg's meter
    measures the frames already decoded (PyAV lets go of the GIL in both: a lesson's track measures in
    the meter's time, not in the decoder's and the meter's together)."""
    c = open(path)
    with c:
        if not c.streams.audio:
            raise MediaError(f"{path}: has no audio stream")
        a = c.streams.audio[0]
        graph = av.filter.Graph()
        src = graph.add_abuffer(template=a)
        meter = graph.add(*_EBUR128)
        sink = graph.add("abuffersink")
        src.link_to(meter)
        meter.link_to(sink)
        graph.configure()
        meta = {}

        def drain():
            nonlocal meta
            while True:
                try:
                    meta = dict(graph.pull().metadata) or meta
                except (av.error.BlockingIOError, av.error.EOFError):
                    return

        def decoded(batch: int = 64):  # frames in lists: a handover per frame would cost more than it saves
            frames = []
            for frame in c.decode(a):
                frames.append(frame)
                if len(frames) == batch:
                    yield frames
                    frames = []
            if frames:
                yield frames

        with ThreadPoolExecutor(1) as decoder:
            batches = decoded()
            ahead = decoder.submit(next, batches, None)
            while (frames := ahead.result()) is not None:
                ahead = decoder.submit(next, batches, None)
                for frame in frames:
                    src.push(frame)
                    drain()
        src.push(None)
        drain()
    return _loudness(meta)


# -- the loudness of a track from its pieces' decodes

#: ITU-R BS.1770's K-weighting at 48 kHz, the coefficients FFmpeg's ebur128 filters with: the pre-filter (a
#: high shelf), then the RLB high-pass; as second-order sections (b0, b1, b2, 1, a1, a2).
_K_WEIGHTING = np.array([[1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0, -1.69065929318241, 0.73248077421585],
                         [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621]])
#: A piece's K-weighted energy is kept in sums of this many samples: the pieces begin on AAC frames (1024
#: samples) and ebur128 steps by 100 ms (4800 samples), both whole numbers of them.
_ENERGY_BIN = 64
_STEP = 4800  # ebur128's step at 48 kHz: a gating block every 100 ms
_HIST = np.arange(8001) / 100 - 70  # ebur128's histogram: -70 to +10 LUFS by 0.01 LU


def _k_energy(y: np.ndarray, skip: int, n: int) -> np.ndarray:
    """The K-weighted energy of ``y[skip:skip + n]`` in sums of _ENERGY_BIN samples (the last one of what is
    left). The filters run over ``y`` from its start, so that the samples before ``skip`` (a piece's context)
    leave them in the state an unbroken track's would be in."""
    from scipy.signal import sosfilt  # imported here, or by _import_scipy_aside: it takes 0.6 s

    z = sosfilt(_K_WEIGHTING, np.asarray(y[:skip + n], np.float64))[skip:]
    e = z * z
    return np.pad(e, (0, -e.size % _ENERGY_BIN)).reshape(-1, _ENERGY_BIN).sum(axis=1)


@functools.cache
def _import_scipy_aside() -> None:
    """Start importing scipy.signal on a thread, once: a part of the narration is being normalised, so an
    AAC piece will be encoded and K-weighted (:func:`_k_energy`). The import takes 0.6 s, mostly beside the
    normaliser's FFmpeg filters, which let go of the GIL; every kdanim command imports this module, and
    a render that encodes nothing needs no scipy at all."""
    threading.Thread(target=importlib.import_module, args=("scipy.signal",), daemon=True).start()


def _gated(steps: np.ndarray, blocks: int, gate: float) -> tuple[np.ndarray, int] | None:
    """ebur128's histogram of the blocks of ``blocks`` 100 ms ``steps`` (one ending at every step from the
    first full one) above the absolute gate, and where its relative gate (``gate`` LU under their mean
    power) falls in it; None when no block is above the absolute gate."""
    if steps.size < blocks:
        return None
    power = (1e-12 + sum(steps[i:steps.size - blocks + 1 + i] for i in range(blocks))) / (blocks * _STEP)
    level = -0.691 + 10 * np.log10(power)
    kept = level >= SILENCE
    if not kept.any():
        return None
    hist = np.bincount(np.clip(((level[kept] - SILENCE) * 100).astype(np.int64), 0, _HIST.size - 1),
                       minlength=_HIST.size)
    relative = -0.691 + 10 * np.log10(power[kept].sum() / kept.sum()) + gate
    return hist, int(np.clip(int((relative - SILENCE) * 100), 0, _HIST.size - 1))


def _composed(energy: np.ndarray, true_peak: float) -> Loudness:
    """The loudness of a 48 kHz track whose K-weighted energy is ``energy`` (sums of _ENERGY_BIN samples
    from its start) and whose true peak is ``true_peak`` dBTP, as FFmpeg's ebur128 measures it: 400 ms
    blocks every 100 ms gated at −70 LUFS and 10 LU under their mean (integrated), 3 s ones at −70 and
    20 LU under, between their 10th and 95th percentiles (range), on its histogram of 0.01 LU."""
    per = _STEP // _ENERGY_BIN
    steps = energy[:energy.size // per * per].reshape(-1, per).sum(axis=1)  # the energy of each 100 ms
    integrated, spread = SILENCE, 0.0
    if (got := _gated(steps, 4, -10.0)) is not None:
        hist, g = got
        integrated = -0.691 + 10 * np.log10((hist[g:] * 10 ** ((_HIST[g:] + 0.691) / 10)).sum() / hist[g:].sum())
    if (got := _gated(steps, 30, -20.0)) is not None:
        hist, g = got
        n = hist[g:].sum()
        low = _HIST[g + int(np.argmax(np.cumsum(hist[g:]) >= int(10 * n / 100 + 0.5)))]
        high = _HIST[_HIST.size - 1 - int(np.argmax(n - np.cumsum(hist[::-1]) < int(95 * n / 100 + 0.5)))]
        spread = high - low
    # as the meter's metadata states them: to a thousandth
    return Loudness(round(float(integrated), 3), true_peak, round(float(spread), 3))


def normalise_loudness(samples: np.ndarray, rate: int, target: float = LOUDNESS,
                       out_rate: int = AUDIO_RATE) -> tuple[np.ndarray, Loudness, Loudness]:
    """Speech at ``target`` LUFS integrated with its true peak at _PEAK_AIM (1 dB under TRUE_PEAK) or under.

    The samples are resampled to ``out_rate`` (FFmpeg's aresample) and measured (ebur128).
    The loudness is then reached by one constant gain, as a two-pass linear normaliser
    (FFmpeg's loudnorm in linear mode) does: nothing pumps, and the silence between beats stays
    digital silence. Speech has a higher peak-to-loudness ratio than −16 LUFS at −1 dBTP allows
    (Piper's is about 20 dB, and that gain would leave peaks 4 dB over full scale), so first its
    peaks are brought down, by a gentle compressor (acompressor, 3:1 above the speech's own
    level) and a look-ahead limiter (alimiter), its ceiling lowered until the gain fits under the
    true-peak aim. Returns (samples at ``out_rate``, loudness before, loudness after).
    """
    x, _, meta = _filtered(samples, rate, [("aresample", str(int(out_rate))), _EBUR128])
    n = int(round(samples.size * out_rate / rate))
    x = x[:n] if x.size >= n else np.pad(x, (0, n - x.size))
    before = _loudness(meta)
    if before.integrated <= SILENCE + 1e-6:
        return x, before, before
    shaped, now, short = x, before, 0.0
    if now.true_peak + (target - now.integrated) > _PEAK_AIM:
        threshold = min(max(10 ** ((before.integrated + 4.0) / 20), 0.001), 1.0)  # acompressor's range
        compressor = ("acompressor", f"threshold={threshold:.6f}:ratio=3:attack=10:release=150:knee=4")
        tried = []  # (ceiling, how far the peaks would end over the aim): a secant search on the ceiling
        best = None  # (over, shaped, loudness) of the try that came closest
        ceiling = _PEAK_AIM - (target - before.integrated)
        for _ in range(8):
            ceiling = min(max(ceiling, _LIMIT_FLOOR), 0.0)  # alimiter's range: 1/16 to 1
            limiter = ("alimiter", f"limit={10 ** (ceiling / 20):.6f}:attack=5:release=50:level=disabled")
            shaped, _, meta = _filtered(x, out_rate, [compressor, limiter, _EBUR128])
            now = _loudness(meta)
            over = now.true_peak + (target - now.integrated) - _PEAK_AIM
            if best is None or over < best[0]:
                best = (over, shaped, now)
            if -0.3 <= over <= 0:
                break
            tried.append((ceiling, over))
            (c0, o0), (c1, o1) = tried[-2:] if len(tried) > 1 else ((ceiling + 1.0, over + 1.0), tried[-1])
            if abs(o1 - o0) < 0.05 or c1 == c0:  # the last step did not move the peaks: a plain step down
                ceiling = c1 - max(o1, 0.0) - 1.0
            else:
                ceiling = c1 - (o1 + 0.1) * (c1 - c0) / (o1 - o0)
        over, shaped, now = best
        # A short stretch of speech (one clip: a chapter that says one sentence) can keep a peak-to-loudness
        # ratio that no ceiling brings under the aim: it is then left that far under the target loudness,
        # its true peak at the aim, within the check's tolerance; further than that is an error.
        short = max(over, 0.0)
        if short > 1.0:
            raise MediaError(f"the narration's peaks cannot be brought under {_PEAK_AIM:g} dBTP at {target:g} LUFS "
                             f"(only at {target - short:.1f} LUFS)")
    gain = 10 ** ((target - short - now.integrated) / 20)
    y = (shaped[:x.size] * gain).astype(np.float32)
    after = Loudness(target - short, now.true_peak + (target - short - now.integrated), now.range)
    return y, before, after


#: The lowest ceiling alimiter takes, dB (its limit is at least 0.0625).
_LIMIT_FLOOR = 20 * np.log10(0.0625)


def build_audio_track(placements, duration: float, out_wav, sample_rate: int = AUDIO_RATE,
                      loudness: float | None = LOUDNESS, chapters=(0.0,), cache: Path | None = None) -> Path:
    """The :func:`narration_track` written to ``out_wav``, a mono 16-bit WAV; returns its path."""
    out, rate = narration_track(placements, duration, sample_rate, loudness, chapters, cache)
    with atomic(out_wav, ".wav") as tmp:
        write_wav(tmp, out, rate)
    return Path(out_wav)


def narration_track(placements, duration: float, sample_rate: int = AUDIO_RATE, loudness: float | None = LOUDNESS,
                    chapters=(0.0,), cache: Path | None = None) -> tuple[np.ndarray, int]:
    """Mono 16-bit samples (and their rate) of exactly `duration` seconds at `sample_rate`, each clip placed
    at its start; :func:`mux` takes them as they are (the published lesson's track is not written as a WAV).

    `placements` is a list of (start seconds, WAV path); `chapters` the start times of the parts the track
    is made of (the lesson's chapters). Each part is mixed at the voice's own rate (overlaps add; a clip
    runs at most to the end of its part, where the next one begins), then resampled and, unless `loudness`
    is None, normalised to `loudness` LUFS with its true peak under TRUE_PEAK (:func:`normalise_loudness`),
    part by part, so every chapter speaks at the same loudness and an edit to one re-normalises only that
    one. Without normalisation a part that would clip is scaled down to fit. With `cache` (a folder), a
    part made of the same samples before is read from it, not normalised again.
    """
    duration = float(duration)
    if not np.isfinite(duration) or duration <= 0:
        raise ValueError(f"narration track: duration must be > 0 seconds, got {duration}")
    clips = []
    for start, path in placements:
        start = float(start)
        if not np.isfinite(start) or start < 0:
            raise ValueError(f"narration track: clip {path} has start time {start}")
        clips.append((start, *read_wav(path)))
    rates = [r for _, _, r in clips]
    mix_rate = max(set(rates), key=rates.count) if rates else sample_rate  # the voice's own rate
    starts = sorted({0.0, *(float(c) for c in chapters if 0 < float(c) < duration)})
    bounds = list(zip(starts, starts[1:] + [duration]))
    m = int(round(duration * sample_rate))
    out = np.zeros(m, dtype=np.int16)

    def part(bound):
        # Sample positions counted from the part's own start, so that a part moved later in the track (the
        # chapter before it made longer) mixes to the same samples and is taken from the cache.
        a, b = bound
        size = int(round((b - a) * mix_rate))
        mix = np.zeros(size, dtype=np.float64)
        for start, x, rate in clips:
            if not a <= start < b:
                continue
            # a cue starts on a half sample (a 0.15 s gap is 3307.5 samples at 22,050 Hz), and `start - a`
            # carries the float error of the chapter's offset: halves round up whatever that error is
            i = int(np.floor((start - a) * mix_rate + 0.5 + 1e-6))
            if i >= size:
                continue
            seg = _resample(x, rate, mix_rate)[: size - i]
            mix[i:i + seg.size] += seg
        return _part(mix, mix_rate, sample_rate, loudness, cache)

    for (a, b), y in zip(bounds, _in_threads(part, bounds)):
        j0, j1 = int(round(a * sample_rate)), min(int(round(b * sample_rate)), m)
        out[j0:j1] = y[: j1 - j0] if y.size >= j1 - j0 else np.pad(y, (0, j1 - j0 - y.size))
    return out, sample_rate


def _in_threads(fn, items) -> list:
    """``[fn(x) for x in items]``, on a thread per core: FFmpeg's filters and encoders (PyAV) let go of
    the GIL, so the chapters' parts of the narration are normalised and encoded side by side (1.7-2× on
    2 cores). Each result depends on its item only: the same whatever the threads' order."""
    items = list(items)
    if len(items) < 2:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(min(len(items), os.cpu_count() or 1)) as pool:
        return list(pool.map(fn, items))


#: Bumped when the way a part of the narration is normalised or encoded changes: the cache's entries go stale.
_AUDIO_VERSION = "4"


def _cache_key(*parts) -> str:
    h = hashlib.sha256(f"{_AUDIO_VERSION}|{av.__version__}".encode())
    for p in parts:
        h.update(p.tobytes() if isinstance(p, np.ndarray) else repr(p).encode())
        h.update(b"|")
    return h.hexdigest()[:24]


def _part(mix: np.ndarray, mix_rate: int, rate: int, loudness: float | None, cache: Path | None) -> np.ndarray:
    """One part of the narration at ``rate``, normalised to ``loudness`` (or only kept from clipping), as
    16-bit samples; from ``cache`` when it holds this part."""
    path = None
    if cache is not None:
        path = Path(cache) / f"part-{_cache_key(mix, mix_rate, rate, loudness)}.npy"
        with contextlib.suppress(OSError, ValueError):
            got = np.load(path)
            if got.dtype == np.int16:
                return got
    _import_scipy_aside()
    if loudness is not None:
        y, _, _ = normalise_loudness(mix, mix_rate, loudness, rate)
    else:
        peak = float(np.max(np.abs(mix))) if mix.size else 0.0
        y = _resample((mix / peak if peak > 1.0 else mix).astype(np.float32), mix_rate, rate)
    n = int(round(mix.size * rate / mix_rate))
    y = y[:n] if y.size >= n else np.pad(y, (0, n - y.size))
    pcm = (np.clip(y.astype(np.float64), -1.0, 1.0) * 32767.0).round().astype(np.int16)  # as write_wav does
    if path is not None:
        with contextlib.suppress(OSError), atomic_path(path, ".npy") as tmp:
            np.save(tmp, pcm)
    return pcm


# -- the AAC track, encoded in pieces

#: FFmpeg's AAC encoder's options. Its "fast" coder (a constant quantiser, without twoloop's per-band
#: adjustments) is, in FFmpeg's own words, worse under 64 kbit/s but better and much faster at higher
#: bit rates: on the default lesson's speech at 128 kbit/s mono it encodes 2.5× faster, and the decoded
#: error against the source is 0.5% rms against twoloop's 3.2%.
_AAC_OPTIONS = {"aac_coder": "fast"}


#: Samples of the neighbouring pieces an AAC piece's encoder is given before and after it (and whose
#: packets are dropped): AAC frames overlap by 1024 samples and the encoder looks ahead, and a fresh
#: encoder takes most of a second to settle its quantisers (with 4096 samples before a join, a steady tone
#: decoded 17× worse for half a second after it). With a second before, every frame is coded as in an
#: unbroken encode: the joined track's error against its source equals the unbroken one's (tests: 1.5e-4
#: rms both, on a tone with no silence at the joins), for about 2.5% more encoding over a lesson.
_AAC_BEFORE, _AAC_AFTER = 49152, 2048


#: The true peak each AAC piece may decode at, dBTP: TRUE_PEAK, less 0.1 dB for the joins (a player decodes a
#: piece's first frame after its neighbour's last packet, not after the packets of its own context).
_AAC_PEAK = TRUE_PEAK - 0.1


def _aac_packets(samples: np.ndarray, rate: int, bit_rate: int, splits, cache: Path | None):
    """The AAC-LC packets of ``samples`` (pts, bytes) as one encode would give them, encoded piece by piece
    between the sample times ``splits`` (put on the 1024-sample frame grid), each piece from ``cache`` when
    it holds the piece's samples and context already; and the loudness of the track they decode to (None
    unless at 48 kHz).

    That loudness is measured from the pieces' own decodes, each decoded as it is encoded, with its
    context: a player decodes the same samples but at the joins (where the next chapter begins, silent),
    so a render where one chapter changed measures that chapter's piece, not the whole track again.

    The encoder overshoots the peaks it is given: Piper's speech, normalised with its true peak at −2.4
    dBTP, decoded at −0.8 in the default lesson with FFmpeg's twoloop coder (less with the fast one,
    _AAC_OPTIONS, but not never). So each piece is decoded and measured as it is encoded,
    and a piece whose true peak is over _AAC_PEAK is turned down by as much (its chapter a few tenths of a
    LU quieter) and encoded again, with its neighbours, whose context it is."""
    frame = 1024  # a whole number of _ENERGY_BIN: each piece's energy starts on a bin of the track's
    cuts = sorted({int(s) // frame * frame for s in splits if 0 < int(s) // frame * frame < samples.size})
    edges = [-_AAC_PREROLL, *cuts, None]
    spans = list(zip(edges, edges[1:]))
    pieces: list = [None] * len(spans)
    todo, samples = list(range(len(spans))), samples.copy()  # turned down here, not in the caller's array
    for _ in range(4):
        for k, got in zip(todo, _in_threads(lambda k: _aac_piece(samples, rate, bit_rate, *spans[k], cache), todo)):
            pieces[k] = got
        over = {k: peak - _AAC_PEAK for k, (_, peak, _) in enumerate(pieces) if peak > _AAC_PEAK}
        if not over:
            break
        for k, excess in over.items():
            lo, hi = spans[k]
            samples[max(lo, 0):hi] *= np.float32(10 ** (-(excess + 0.05) / 20))
        todo = sorted({j for k in over for j in (k - 1, k, k + 1) if 0 <= j < len(spans)})
    energy = np.concatenate([e for _, _, e in pieces])
    heard = None  # each piece's own samples as decoded, end to end: the whole track, when at 48 kHz
    if rate == AUDIO_RATE and energy.size == -(-samples.size // _ENERGY_BIN):  # ebur128's 48 kHz filters
        heard = _composed(energy, max(peak for _, peak, _ in pieces))
    return [pk for packets, _, _ in pieces for pk in packets], heard


def _aac_piece(samples: np.ndarray, rate: int, bit_rate: int, lo: int, hi: int | None, cache: Path | None):
    """The packets (pts, bytes) of samples ``lo`` to ``hi`` (None: the end; a negative ``lo``: the first
    piece, its encoder's priming and the silence before the track included), the true peak (dBTP) they
    decode to there, and the K-weighted energy of what they decode to there (:func:`_k_energy`)."""
    start = lo - (_AAC_BEFORE if lo > 0 else 0)
    end = samples.size if hi is None else min(samples.size, hi + _AAC_AFTER)
    src = samples[max(start, 0):end]
    if start < 0:
        src = np.concatenate([np.zeros(-start, np.float32), src])
    path = None
    if cache is not None:
        path = Path(cache) / f"aac-{_cache_key(src, start - lo, hi is None, rate, bit_rate)}.npz"
        with contextlib.suppress(OSError, ValueError, KeyError):
            with np.load(path) as z:
                data, sizes, pts, peak = z["data"].tobytes(), z["sizes"], z["pts"], float(z["true_peak"])
                energy = z["energy"]
            offsets = np.concatenate([[0], np.cumsum(sizes)])
            return [(int(p) + lo, data[offsets[k]:offsets[k + 1]]) for k, p in enumerate(pts)], peak, energy
    dec = av.CodecContext.create("aac", "r")
    decoded, first = [], None

    def opened(cc):
        dec.extradata = cc.extradata

    every = list(_encode_aac(src, start, rate, bit_rate, opened))
    for p, b in every:  # the whole encode decoded, context included, so the piece's first frame decodes whole
        first = p if first is None else first
        decoded += [f.to_ndarray().reshape(-1) for f in dec.decode(av.Packet(b))]
    decoded += [f.to_ndarray().reshape(-1) for f in dec.decode(None)]
    y = np.concatenate(decoded) if decoded else np.zeros(0, np.float32)
    skip = max(lo, 0) - first  # sample i decodes at time first + i
    own = y[skip:(samples.size if hi is None else hi) - first]  # not the encoder's flush after the end
    peak = measure_loudness(own, rate).true_peak if own.size else -np.inf
    energy = _k_energy(y, skip, own.size)
    got = [(p, b) for p, b in every if (lo < 0 or p >= lo) and (hi is None or p < hi)]  # the first keeps the priming
    if path is not None:
        with contextlib.suppress(OSError), atomic_path(path, ".npz") as tmp:
            np.savez(tmp, data=np.frombuffer(b"".join(b for _, b in got), np.uint8),
                     sizes=np.array([len(b) for _, b in got], np.int64),
                     pts=np.array([p - lo for p, _ in got], np.int64), true_peak=np.float64(peak), energy=energy)
    return got, peak, energy


def _encode_aac(samples: np.ndarray, first: int, rate: int, bit_rate: int, opened=None):
    """Yield (pts, bytes) of every packet of ``samples`` encoded alone, its first sample at time ``first``;
    ``opened`` is handed the encoder once it is open (a decoder needs its extradata)."""
    cc = av.CodecContext.create("aac", "w")  # as _audio_stream sets the mp4's stream up: its extradata fits
    cc.sample_rate, cc.layout, cc.format, cc.bit_rate, cc.profile = rate, "mono", "fltp", bit_rate, "LC"
    cc.options = dict(_AAC_OPTIONS)
    cc.time_base = Fraction(1, rate)
    cc.open()
    if opened is not None:
        opened(cc)
    for f in _audio_frames(samples, rate, "fltp", 1024):
        f.pts += first
        for pk in cc.encode(f):
            yield pk.pts, bytes(pk)
    for pk in cc.encode(None):
        yield pk.pts, bytes(pk)


# ---------------------------------------------------------------- video

def _video_end(container, stream) -> float:
    """End time (seconds) of a video stream: max(pts + duration) over its packets."""
    end = None
    for pkt in container.demux(stream):
        if pkt.pts is None:
            continue
        e = pkt.pts + (pkt.duration or 0)
        end = e if end is None or e > end else end
    container.seek(0)
    return 0.0 if end is None else float(end * stream.time_base)


def concat_videos(paths, out) -> list[float]:
    """Join video files of the same codec, size and frame rate by stream copy.

    Packets are remuxed with their timestamps offset by the end of the
    previous file, so nothing is re-encoded; at a constant frame rate every frame is put on
    the frame grid (see `_Joined`), so the output has one. Audio streams of the inputs are
    dropped (the narration is muxed afterwards). Returns each input's start
    time in the output, in seconds. (:func:`mux` joins them itself, given a :func:`plan_join`.)
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("concat_videos: no input files")
    out = Path(out)
    fmt = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}.get(out.suffix.lower(), "mp4")
    with _opened(paths) as (inputs, streams, scans):
        with atomic(out, out.suffix) as tmp:
            with av.open(str(tmp), "w", format=fmt) as oc:
                joined = _Joined(oc, streams[0], max(scan.delay for scan in scans))
                return [joined.append(c, s, scan.first) for c, s, scan in zip(inputs, streams, scans)]


@dataclass(frozen=True)
class Join:
    """Video files to join end to end by stream copy, as :func:`concat_videos` joins them: where each
    starts in the joined video (seconds), how long that lasts, and its frame rate (:func:`plan_join`)."""

    paths: tuple[Path, ...]
    offsets: tuple[float, ...]
    duration: float
    fps: float
    scans: tuple = field(default=(), repr=False, compare=False)  # each file's `_scan`, for mux to copy by


def plan_join(paths) -> Join:
    """How ``paths`` join (one pass over each file's packets, nothing written): :func:`mux` given the plan
    writes the joined video into the published file itself, so its packets are read and written once."""
    paths = tuple(Path(p) for p in paths)
    if not paths:
        raise ValueError("plan_join: no input files")
    with _opened(paths) as (_, streams, scans):
        placer = _Joined(None, streams[0], max(scan.delay for scan in scans))
        offsets = tuple(placer.plan(s, scan) for s, scan in zip(streams, scans))
        ref = streams[0]
        return Join(paths, offsets, float(placer.offset * placer.tb), float(ref.base_rate or ref.guessed_rate),
                    tuple(scans))


@contextlib.contextmanager
def _opened(paths, scans=None):
    """The open inputs, their video streams (checked joinable) and a `_scan` of each (``scans``: those made
    already); closed afterwards."""
    inputs = []
    try:
        for p in paths:
            inputs.append(open(p))
        streams = [video_stream(c, p) for p, c in zip(paths, inputs)]
        _check_joinable(paths, streams)
        if not scans:
            scans = [_scan(path, c, s) for path, c, s in zip(paths, inputs, streams)]
        yield inputs, streams, list(scans)
    finally:
        for c in inputs:
            c.close()


def _check_joinable(paths, streams):
    """MediaError unless every stream has the first one's codec, size and frame rate."""
    def kind(s):
        # The nominal rate: a file's *average* rate drifts with its length (15.0001 fps).
        return s.codec_context.name, s.codec_context.width, s.codec_context.height, s.base_rate or s.guessed_rate

    a = kind(streams[0])
    for p, s in zip(paths[1:], streams[1:]):
        b = kind(s)
        if a != b:
            raise MediaError(f"{p}: {b[0]} {b[1]}x{b[2]} at {b[3]} fps cannot be joined to "
                             f"{paths[0].name} ({a[0]} {a[1]}x{a[2]} at {a[3]} fps) without re-encoding")


def _rescale(v, scale):
    return None if v is None else int(round(v * scale))


def _rescaler(scale):
    """``_rescale`` by ``scale``, as a function of one value (the same value when ``scale`` is 1, as when every
    chapter has the time base of the first: a Fraction product per packet is most of a join's time)."""
    return (lambda v: v) if scale == 1 else (lambda v: _rescale(v, scale))


class _Joined:
    """One output video stream that inputs are appended to, each starting where the last ended.

    At a constant frame rate (a whole number of time-base ticks per frame, as Manim writes) every
    frame is put on the output's frame grid: presentation times are frame k at k frames, so the
    joined video keeps a constant frame rate across the joins (Manim's own joins of its animation
    segments can be a few ticks off), and decode times are the packet's place in decode order less
    the largest B-frame reorder delay of all inputs (`delay`, in frames), so they always increase
    and never pass a packet's presentation time.
    """

    def __init__(self, oc, ref, delay: int = 0):
        self.oc = oc  # None: only place the packets (`plan`), write nothing
        self.stream = oc.add_stream_from_template(ref) if oc is not None else None
        self.tb = ref.time_base
        if self.stream is not None:
            self.stream.time_base = ref.time_base
        tpf = 1 / (Fraction(ref.base_rate or ref.guessed_rate) * Fraction(ref.time_base))
        self.tpf = int(tpf) if tpf.denominator == 1 else None   # ticks per frame (None: no grid)
        self.delay = delay
        self.offset = 0          # in tb units: where the next input starts
        self.last_dts = None
        self.count = 0           # packets written

    def _start(self, s, first) -> tuple[Fraction, int]:
        """The time-base scale and the shift of the input stream ``s`` whose earliest (pts, dts) are ``first``."""
        scale = Fraction(s.time_base) / Fraction(self.tb)
        first_pts, first_dts = (_rescale(t, scale) for t in first)
        shift = self.offset - first_pts
        if self.tpf is None and self.last_dts is not None and first_dts + shift <= self.last_dts:
            shift = self.last_dts + 1 - first_dts   # keep decode order strictly increasing
        return scale, shift

    def append(self, c, s, first) -> float:
        """Copy the packets of stream ``s`` of the open input ``c``, whose earliest (pts, dts) in its own time
        base are ``first`` (`_scan`); its start time in seconds."""
        scale, shift = self._start(s, first)
        self.offset = self._copy(c, s, scale, shift)
        return float((_rescale(first[0], scale) + shift) * self.tb)

    def plan(self, s, scan) -> float:
        """As :meth:`append` would place the packets `_scan` listed, nothing written; the start in seconds."""
        scale, shift = self._start(s, scan.first)
        end, rescale = self.offset, _rescaler(scale)
        for pts, dts, dur in scan.times:
            pts, _, dur = self._place(rescale(pts), rescale(dts), rescale(dur) or 0, shift)
            if pts is not None:
                end = max(end, pts + dur)
        self.offset = end
        return float((_rescale(scan.first[0], scale) + shift) * self.tb)

    def _place(self, pts, dts, dur, shift):
        """A packet's (pts, dts, duration) in the output, in tb units; counts it."""
        if self.tpf is not None and pts is not None:
            pts = round((pts + shift) / self.tpf) * self.tpf
            dts, dur = (self.count - self.delay) * self.tpf, self.tpf
        else:
            pts = None if pts is None else pts + shift
            dts = None if dts is None else dts + shift
        if dts is not None:
            self.last_dts = dts if self.last_dts is None else max(self.last_dts, dts)
        self.count += 1
        return pts, dts, dur

    def _copy(self, c, s, scale, shift) -> int:
        """Mux the packets with their times in tb units, shifted; returns where the last one ends."""
        end = self.offset
        rescale = _rescaler(scale)
        for pk in c.demux(s):
            if pk.pts is None and pk.dts is None:
                continue   # the flushing packet demux yields at the end
            pts, dts, dur = self._place(rescale(pk.pts), rescale(pk.dts), rescale(pk.duration) or 0, shift)
            pk.stream = self.stream
            pk.time_base = self.tb
            pk.pts, pk.dts, pk.duration = pts, dts, dur
            if pk.pts is not None:
                end = max(end, pk.pts + dur)
            self.oc.mux(pk)
        return end


@dataclass(frozen=True)
class _Scan:
    first: tuple[int, int]  # the earliest pts and the earliest dts, in the stream's own time base
    delay: int              # how many frames a packet is decoded ahead of its place in presentation order
    times: list             # (pts, dts, duration) of every packet but the flushing one, in demux order


def _scan(path, c, s) -> _Scan:
    """A first pass over stream ``s`` of the open input ``c``, packets not kept: its earliest pts and earliest
    dts (in its own time base), how many frames a packet is decoded ahead of its place in presentation
    order (B-frames: x264's is 1 or 2), and every packet's times."""
    pts, first_dts, times = [], None, []
    for pk in c.demux(s):
        if pk.pts is None and pk.dts is None:
            continue
        times.append((pk.pts, pk.dts, pk.duration))
        if pk.pts is not None:
            pts.append(pk.pts)
        d = pk.dts if pk.dts is not None else pk.pts
        if d is not None:
            first_dts = d if first_dts is None else min(first_dts, d)
    if not pts:
        raise MediaError(f"{path}: has no video packets")
    c.seek(0)
    rank = {p: i for i, p in enumerate(sorted(pts))}
    return _Scan((min(pts), first_dts), max([0] + [i - rank[p] for i, p in enumerate(pts)]), times)


def _audio_samples(audio, sample_rate: int | None) -> tuple[np.ndarray, int]:
    """The samples of ``audio`` (a WAV, or 16-bit samples and their rate: :func:`narration_track`) as float
    in [-1, 1], as read_wav reads them, resampled to `sample_rate` if given; (samples, rate)."""
    if isinstance(audio, tuple):
        pcm, rate = audio
        x = np.asarray(pcm, np.int16).astype(np.float32) / 32768.0
    else:
        x, rate = read_wav(audio)
    if not sample_rate or x.size == 0:
        return x, rate
    return _resample(x, rate, sample_rate), sample_rate


def _audio_stream(oc, rate: int, codec: str, bit_rate: int, language: str | None = None):
    """A mono audio output stream, tagged with ``language`` (ISO 639-1 or -2; "und" if unknown); PyAV
    re-chunks the frames to the encoder's frame size."""
    stream = oc.add_stream(codec, rate=rate)
    if language:
        stream.metadata["language"] = ISO639_2.get(language, language if len(language) == 3 else "und")
    stream.layout = "mono"
    stream.bit_rate = bit_rate
    if codec == "aac":
        stream.codec_context.profile = "LC"
        stream.codec_context.options = dict(_AAC_OPTIONS)
    formats = stream.codec_context.codec.audio_formats
    fmt = formats[0].name if formats else "fltp"
    return stream, fmt, stream.codec_context.frame_size or 1024


#: Silence the AAC encoder is given before the track, at negative times (the MP4's edit list hides it, as it
#: hides the encoder's own priming): started on speech, its first frames overshoot the peak by 2 dB.
_AAC_PREROLL = 4096


def _audio_frames(samples: np.ndarray, rate: int, fmt: str, frame_size: int):
    kind = {"flt": np.float32, "fltp": np.float32, "s16": np.int16, "s16p": np.int16}.get(fmt)
    if kind is None:
        raise MediaError(f"unsupported encoder sample format {fmt}")
    if kind is np.int16:
        data = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
    else:
        data = samples.astype(np.float32)
    for i in range(0, data.size, frame_size):
        chunk = data[i:i + frame_size]
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format=fmt, layout="mono")
        frame.sample_rate = rate
        frame.pts = i
        frame.time_base = Fraction(1, rate)
        yield frame


def _set_chapters(oc, chapters, total: float):
    chapters = sorted((float(t), str(title)) for t, title in chapters)
    if not chapters:
        return
    entries = []
    for i, (t, title) in enumerate(chapters):
        end = chapters[i + 1][0] if i + 1 < len(chapters) else total
        if t < 0 or end <= t:
            raise ValueError(f"chapter {title!r}: start {t:.3f}s is not before its end {end:.3f}s")
        entries.append({"id": i + 1, "start": int(round(t * 1000)), "end": int(round(end * 1000)),
                        "time_base": Fraction(1, 1000), "metadata": {"title": title}})
    oc.set_chapters(entries)


def mux(video, audio_wav, out, *, chapters=(), fmt: str = "mp4", title: str | None = None,
        metadata: dict | None = None, audio_bit_rate: int = AUDIO_BIT_RATE, crf: int = 32,
        language: str | None = None, splits=(), cache: Path | None = None) -> Path:
    """Combine a video file and the narration (a WAV, or :func:`narration_track`'s samples and rate) into the
    published file.

    mp4: the H.264 video is stream-copied, the audio encoded to AAC-LC at 48 kHz
    (`audio_bit_rate`), the moov atom placed at the front (`+faststart`). webm: the
    video is re-encoded to VP9 (constant quality `crf`) and the audio to Opus at 48 kHz. The audio is
    trimmed or padded with silence to the video's length, so both streams end
    together. `chapters` is a list of (start seconds, title); the last runs to
    the end. `title` and `metadata` go into the container's tags, `language` (the narration's: "en",
    "de") into the audio stream's, as ISO 639-2 ("eng", "deu").

    The AAC track is encoded in pieces that begin at the times `splits` (the chapters), each coded with
    its neighbours' samples around it so that the joins decode as one encode would (`_AAC_BEFORE`); with
    `cache` (a folder) a piece of the same samples as before is copied from it, not encoded again.
    """
    if fmt not in ("mp4", "webm"):
        raise ValueError(f"mux: format must be mp4 or webm, got {fmt!r} (use to_gif for gif)")
    if isinstance(video, Join):
        if fmt != "mp4":
            raise ValueError("mux: a plan of videos to join is muxed into mp4 only (join them first for webm)")
        with _opened(video.paths, video.scans) as inputs:
            return _mux(None, inputs, video, audio_wav, Path(out), chapters, fmt, title, metadata,
                        audio_bit_rate, crf, language, splits, cache)
    video, out = Path(video), Path(out)
    ic = open(video)
    with ic:
        vin = video_stream(ic, video)
        return _mux((ic, vin), None, None, audio_wav, out, chapters, fmt, title, metadata, audio_bit_rate, crf,
                    language, splits, cache)


def _mux(single, inputs, join: Join | None, audio_wav, out: Path, chapters, fmt, title, metadata, audio_bit_rate,
         crf, language, splits, cache) -> Path:
    """:func:`mux` of one open video (``single``: container and stream), or of the open ``inputs`` joined
    as ``join`` plans (``inputs``: `_opened`'s containers, streams and scans)."""
    if single is not None:
        ic, vin = single
        v_end = _video_end(ic, vin)
        if v_end <= 0:
            raise MediaError(f"{ic.name}: video stream is empty")
    else:
        v_end = join.duration
    samples = None
    if audio_wav is not None:
        samples, rate = _audio_samples(audio_wav, AUDIO_RATE)
        n = int(round(v_end * rate))
        samples = samples[:n] if samples.size >= n else np.pad(samples, (0, n - samples.size))
    options = {"movflags": "+faststart"} if fmt == "mp4" else {}
    heard = None
    with atomic(out, f".{fmt}") as tmp:
        with av.open(str(tmp), "w", format=fmt, options=options) as oc:
            _set_tags(oc, title, metadata)
            _set_chapters(oc, chapters, v_end)
            if single is not None:
                vout = _video_out(oc, vin, fmt, crf)
            else:  # the joined video's stream, from the first input's, as concat_videos writes it
                conts, streams, scans = inputs
                joined = _Joined(oc, streams[0], max(scan.delay for scan in scans))
                # the muxer states max(this, the average it counts) as the stream's highest bit rate: not the
                # first chapter's own rate, but the average, as a file joined first states it
                joined.stream.codec_context.bit_rate = 0
            if samples is not None:  # every stream is added before the first packet is written
                acodec = "aac" if fmt == "mp4" else "libopus"
                aout, afmt, fsize = _audio_stream(oc, rate, acodec, audio_bit_rate, language)
            if single is not None:
                _write_video(oc, ic, vin, vout, fmt)
            else:
                starts = [joined.append(c, s, scan.first) for c, s, scan in zip(conts, streams, scans)]
                if tuple(starts) != join.offsets or float(joined.offset * joined.tb) != join.duration:
                    raise MediaError(f"{out}: the videos joined otherwise than planned (changed meanwhile?)")
            if samples is not None and fmt == "mp4":  # AAC in pieces split at the chapters, each cached
                packets, heard = _aac_packets(samples, rate, audio_bit_rate, [round(t * rate) for t in splits], cache)
                for pts, data in packets:
                    pk = av.Packet(data)
                    pk.pts = pk.dts = pts
                    pk.duration, pk.time_base, pk.stream, pk.is_keyframe = fsize, Fraction(1, rate), aout, True
                    oc.mux(pk)
            elif samples is not None:
                for frame in _audio_frames(samples, rate, afmt, fsize):
                    oc.mux(aout.encode(frame))
                oc.mux(aout.encode(None))
    if heard is not None:  # measured already, as its pieces decode
        with contextlib.suppress(OSError):
            _MEASURED[_file_key(out)] = heard
    return out


def _set_tags(oc, title, metadata):
    if title:
        oc.metadata["title"] = str(title)
    for k, v in (metadata or {}).items():
        oc.metadata[str(k)] = str(v)


def _video_out(oc, vin, fmt: str, crf: int):
    """The output video stream: a copy of ``vin``'s for mp4, a VP9 encoder for webm."""
    if fmt == "mp4":
        return oc.add_stream_from_template(vin)
    vout = oc.add_stream("libvpx-vp9", rate=vin.average_rate or 30)
    vout.width, vout.height = vin.codec_context.width, vin.codec_context.height
    vout.pix_fmt = "yuv420p"
    vout.options = {"crf": str(crf), "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"}
    return vout


def _write_video(oc, ic, vin, vout, fmt: str):
    """The video into ``vout``: its packets copied (mp4), or every frame re-encoded (webm)."""
    if fmt == "mp4":
        for pk in ic.demux(vin):
            if pk.dts is None and pk.pts is None:
                continue
            pk.stream = vout
            oc.mux(pk)
        return
    ic.seek(0)
    vtb = Fraction(1, 1) / Fraction(vout.codec_context.framerate or vin.average_rate)
    for i, frame in enumerate(ic.decode(vin)):
        frame = frame.reformat(format="yuv420p")
        frame.pts, frame.time_base = i, vtb
        oc.mux(vout.encode(frame))
    oc.mux(vout.encode(None))


# ---------------------------------------------------------------- pictures

def _frames_at(container, stream, times):
    """Yield (t, frame) for the last decoded frame whose time is ≤ each t (times ascending)."""
    times = list(times)
    k = 0
    prev = None
    for frame in container.decode(stream):
        ft = float(frame.time) if frame.time is not None else 0.0
        while k < len(times) and ft > times[k] + 1e-6:
            yield times[k], (prev if prev is not None else frame)
            k += 1
        if k >= len(times):
            return
        prev = frame
    while k < len(times) and prev is not None:
        yield times[k], prev
        k += 1


def frames_at(container, stream, times):
    """Yield (t, frame) for the frame shown at each of ``times`` (ascending), seeking to the key frame before
    each: a few frames decoded per time (the GOP is half a second), not the whole video."""
    for t in times:
        t = max(0.0, float(t))
        container.seek(int(t / stream.time_base) if t > 0 else 0, stream=stream, backward=True, any_frame=False)
        got = next((f for _, f in _frames_at(container, stream, [t])), None)
        if got is None:
            raise MediaError(f"{container.name}: no frame at {t:.2f}s")
        yield t, got


def to_gif(video, out, fps: float = 10, width: int = 640) -> Path:
    """An animated GIF of the video (no audio) at `fps` frames/s and `width` pixels wide.

    One 256-colour palette is computed from frames sampled across the video
    (lessons use few colours) and every frame is mapped to it; frames are
    streamed, never all held in memory.
    """
    from PIL import Image

    if fps <= 0 or width < 16:
        raise ValueError(f"to_gif: fps must be > 0 and width ≥ 16 (got {fps}, {width})")
    out = Path(out)
    ic = open(video)
    with ic:
        vs = video_stream(ic, video)
        end = _video_end(ic, vs)
        w0, h0 = vs.codec_context.width, vs.codec_context.height
        w = int(width) // 2 * 2
        h = max(2, int(round(h0 * w / w0)) // 2 * 2)
        times = list(np.arange(0.0, max(end, 1e-3), 1.0 / fps))

        # palette from up to 16 frames spread over the video
        pick = times[:: max(1, len(times) // 16)][:16]
        samples = [f.to_image().resize((w, h), Image.LANCZOS) for _, f in _frames_at(ic, vs, pick)]
        ic.seek(0)
        montage = Image.new("RGB", (w, h * len(samples)))
        for i, im in enumerate(samples):
            montage.paste(im, (0, i * h))
        pal_img = montage.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        pal = np.zeros((256, 3), dtype=np.uint8)
        raw = np.frombuffer(bytes(pal_img.getpalette()[: 256 * 3]), dtype=np.uint8)
        pal[: raw.size // 3] = raw.reshape(-1, 3)
        argb = np.concatenate([np.full((256, 1), 255, np.uint8), pal], axis=1)

        with atomic(out, ".gif") as tmp:
            with av.open(str(tmp), "w", format="gif") as oc:
                gs = oc.add_stream("gif", rate=Fraction(fps).limit_denominator(1000))
                gs.width, gs.height, gs.pix_fmt = w, h, "pal8"
                for i, (_, frame) in enumerate(_frames_at(ic, vs, times)):
                    im = frame.to_image().resize((w, h), Image.LANCZOS)
                    idx = np.asarray(im.quantize(palette=pal_img, dither=Image.Dither.NONE), dtype=np.uint8)
                    vf = av.VideoFrame.from_ndarray((idx, argb), format="pal8")
                    vf.pts = i
                    oc.mux(gs.encode(vf))
                oc.mux(gs.encode(None))
    return out


def grab_frame(video, t: float, out_png, size=(1280, 720)) -> Path:
    """Save the frame shown at time `t` (clamped to the video) as a PNG of `size` pixels.

    The frame is scaled to cover `size` and centre-cropped if the aspect differs.
    """
    from PIL import Image

    out_png = Path(out_png)
    W, H = (int(size[0]), int(size[1]))
    if W < 1 or H < 1:
        raise ValueError(f"grab_frame: bad size {size}")
    ic = open(video)
    with ic:
        vs = video_stream(ic, video)
        im = next(frames_at(ic, vs, [t]))[1].to_image()
    k = max(W / im.width, H / im.height)
    im = im.resize((max(W, round(im.width * k)), max(H, round(im.height * k))), Image.LANCZOS)
    x, y = (im.width - W) // 2, (im.height - H) // 2
    im = im.crop((x, y, x + W, y + H))
    with atomic(out_png, ".png") as tmp:
        im.save(tmp, format="PNG")
    return out_png


# ---------------------------------------------------------------- inspection

def mp4_atoms(path) -> list[str]:
    """The names of the top-level MP4 boxes in file order (e.g. ['ftyp', 'moov', 'free', 'mdat'])."""
    names = []
    with Path(path).open("rb") as f:  # not open(): this module's open() opens a container
        size_total = os.fstat(f.fileno()).st_size
        pos = 0
        while pos + 8 <= size_total:
            f.seek(pos)
            size, kind = struct.unpack(">I4s", f.read(8))
            if size == 1:
                size = struct.unpack(">Q", f.read(8))[0]
            elif size == 0:
                size = size_total - pos
            if size < 8:
                break
            names.append(kind.decode("latin-1"))
            pos += size
    return names


def probe(path, rms: bool = True) -> dict:
    """What a media file holds.

    Returns {"format", "duration", "metadata", "chapters": [{"start", "end",
    "title"}], "streams": [{"type", "codec", ...}], "video": {...} | None,
    "audio": {... "duration", "rms"} | None, "video_duration", "audio_duration",
    "audio_rms"} (the last three None when absent). Durations are measured from the
    packets (end of the last one), not taken from headers; `rms` decodes the
    audio to measure its loudness (0 = silence, 1 = full scale).
    """
    path = Path(path)
    c = open(path)
    with c:
        info = {"path": str(path), "format": c.format.name, "size": path.stat().st_size,
                "duration": (c.duration / 1e6) if c.duration else None,
                "metadata": dict(c.metadata), "chapters": [], "streams": [],
                "video": None, "audio": None}
        for ch in c.chapters():
            tb = ch["time_base"]
            info["chapters"].append({"start": float(ch["start"] * tb), "end": float(ch["end"] * tb),
                                     "title": ch["metadata"].get("title", "")})
        ticks = {}  # per stream, in its time base: one Fraction per stream, not per packet
        for pk in c.demux():
            if pk.pts is None:
                continue
            e, i = pk.pts + (pk.duration or 0), pk.stream.index
            if i not in ticks or e > ticks[i]:
                ticks[i] = e
        ends = {s.index: ticks[s.index] * s.time_base for s in c.streams if s.index in ticks}
        for s in c.streams:
            cc = s.codec_context
            d = {"index": s.index, "type": s.type,
                 "codec": cc.name if cc is not None else None,
                 "duration": float(ends[s.index]) if s.index in ends else None}
            if s.type == "video":
                d.update(width=s.codec_context.width, height=s.codec_context.height,
                         fps=float(s.average_rate) if s.average_rate else None,
                         frames=s.frames, pix_fmt=s.codec_context.pix_fmt)
                info["video"] = info["video"] or d
            elif s.type == "audio":
                d.update(sample_rate=s.codec_context.sample_rate, channels=s.codec_context.channels)
                info["audio"] = info["audio"] or d
            info["streams"].append(d)
        if rms and info["audio"] is not None:
            c.seek(0)
            acc, n = 0.0, 0
            for frame in c.decode(audio=0):
                x = frame.to_ndarray().astype(np.float64)
                if frame.format.name in ("s16", "s16p"):
                    x /= 32768.0
                elif frame.format.name in ("s32", "s32p"):
                    x /= 2 ** 31
                acc += float(np.sum(x * x))
                n += x.size
            info["audio"]["rms"] = (acc / n) ** 0.5 if n else 0.0
    info["video_duration"] = info["video"]["duration"] if info["video"] else None
    info["audio_duration"] = info["audio"]["duration"] if info["audio"] else None
    info["audio_rms"] = info["audio"].get("rms") if info["audio"] else None
    return info


_X264_SEI = re.compile(rb"x264 - core \d+.*? - H\.264/MPEG-4 AVC codec - .*? - options: ([ -~]*)")


def encoding(path) -> dict:
    """How a media file is encoded, read from its packets (nothing is decoded).

    {"video": {"codec", "profile", "pix_fmt", "width", "height", "fps", "frames", "max_gop" (frames from
    a key frame to the next, the last GOP included), "constant_rate" (every frame one frame's time after
    the one before, in presentation order, to the time base's tick), "bit_rate" (bits/s over the stream's length), "x264"
    ({option: value} of the x264 settings the encoder wrote into the stream, {} if none)} | None,
    "audio": {"codec", "profile", "sample_rate", "channels", "bit_rate"} | None}.
    """
    c = open(path)
    with c:
        info = {"video": None, "audio": None}
        sizes, pts, keys, options = {}, [], [], {}
        v = c.streams.video[0] if c.streams.video else None
        a = c.streams.audio[0] if c.streams.audio else None
        ends = {}
        for pk in c.demux():
            if pk.pts is None:
                continue
            i = pk.stream.index
            sizes[i] = sizes.get(i, 0) + pk.size
            e = float((pk.pts + (pk.duration or 0)) * pk.time_base)
            ends[i] = max(ends.get(i, e), e)
            if v is not None and i == v.index:
                if pk.is_keyframe:
                    keys.append(len(pts))
                    if not options:
                        m = _X264_SEI.search(bytes(pk))
                        if m:
                            options = dict(o.split("=", 1) for o in m.group(1).decode("ascii").split() if "=" in o)
                pts.append(pk.pts)
        if v is not None:
            cc = v.codec_context
            fps = Fraction(v.base_rate or v.guessed_rate or 0)
            steps = {b - a for a, b in zip(sorted(pts), sorted(pts)[1:])}
            frame = 1 / (fps * Fraction(v.time_base)) if fps else None
            gops = [b - a for a, b in zip(keys, keys[1:] + [len(pts)])]
            info["video"] = {"codec": cc.name, "profile": cc.profile, "pix_fmt": cc.pix_fmt,
                             "width": cc.width, "height": cc.height, "fps": float(fps) if fps else None,
                             "frames": len(pts), "max_gop": max(gops) if gops else 0,
                             # every step one frame (to the tick: WebM counts whole milliseconds, 66 and 67 at 15 fps)
                             "constant_rate": frame is not None and all(abs(st - frame) < 1 for st in steps),
                             "bit_rate": sizes.get(v.index, 0) * 8 / ends[v.index] if ends.get(v.index) else 0.0,
                             "x264": options}
        if a is not None:
            cc = a.codec_context
            info["audio"] = {"codec": cc.name, "profile": cc.profile, "sample_rate": cc.sample_rate,
                             "channels": cc.channels,
                             "bit_rate": sizes.get(a.index, 0) * 8 / ends[a.index] if ends.get(a.index) else 0.0,
                             "encoder_bit_rate": _mp4_audio_max_rate(path) if c.format.name.startswith("mov") else None}
    return info


def _mp4_audio_max_rate(path) -> int | None:
    """The bit rate an MP4's AAC track was encoded at: the maximum its `btrt` box (after `mp4a`) states.

    The average (what the packets add up to) is lower where the narration is silent or simple."""
    with Path(path).open("rb") as f:  # not open(): this module's open() opens a container
        data = f.read(min(os.fstat(f.fileno()).st_size, 8 << 20)) if "moov" in mp4_atoms(path)[:2] else f.read()
    i = data.find(b"mp4a")
    j = data.find(b"btrt", i) if i >= 0 else -1
    if j < 0:
        return None
    _, max_rate, _ = struct.unpack(">III", data[j + 4:j + 16])
    return max_rate
