"""Time the voices: Piper's model load and synthesis speed, and a cache hit.

    .venv/bin/python bench/bench_voice.py

Target on a 2-core machine: the first sentence (model load included) in under 30 s, and
synthesis faster than real time. Uses a fresh cache folder, so nothing is a hit by accident.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SENTENCES = [
    "The temperature tau equals 3.",
    "Distillation transfers the dark knowledge of a large teacher network to a much smaller student.",
    "The student learns from the teacher, slowly, over one hundred epochs.",
]


def main() -> None:
    from kdanim.narration.voices import PiperVoice

    with tempfile.TemporaryDirectory() as tmp:
        voice = PiperVoice(cache_dir=Path(tmp))
        t0 = time.perf_counter()
        first = voice.synthesize(SENTENCES[0])
        first_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        rest = [voice.synthesize(s) for s in SENTENCES[1:]]
        rest_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        voice.synthesize(SENTENCES[0])
        hit_s = time.perf_counter() - t0
    audio = sum(u.duration for u in rest)
    print(f"first sentence (model load included): {first_s:6.2f} s for {first.duration:.1f} s of speech (target < 30 s)")
    print(f"synthesis, model loaded:              {rest_s / audio:6.3f} s per second of speech (target < 1)")
    print(f"cache hit:                            {1000 * hit_s:6.1f} ms")


if __name__ == "__main__":
    main()
