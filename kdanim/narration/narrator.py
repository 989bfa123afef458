"""The narrator a chapter speaks through: a beat's text cut into cues, each synthesized by a voice,
slowed a little where its caption could not otherwise be read in time."""

from __future__ import annotations

from dataclasses import dataclass, field

from .speech import split_cues
from .subtitles import GAP_FRAMES, MAX_CPS, MIN_CUE, reading_chars
from .voices import Utterance, Voice

__all__ = ["Narrator", "MAX_SLOWER"]

#: A caption may stay on after its speech until GAP_FRAMES frames before the next cue; the narrator
#: counts on that at the lowest frame rate (15 fps), so the speech is the same at every quality.
_LOWEST_FPS = 15
#: The most a cue's speech is slowed down (1.25: a quarter slower).
MAX_SLOWER = 1.25


@dataclass(frozen=True)
class Narrator:
    """Speaks a beat: ``speak(text)`` is one cached `Utterance` per cue (see `speech.split_cues`).

    A cue's caption stays on after its speech for the silence that follows it (``gap`` between the
    cues of a beat, ``pause`` after its last) less two frames. If that is still too short to read it
    at MAX_CPS, or shorter than MIN_CUE, the cue is spoken slower, just enough (at most MAX_SLOWER),
    by the voice's own pace (Piper's length scale, espeak's words a minute); ``paced`` records
    (text, how much slower) of every such cue.
    """

    voice: Voice
    paced: list = field(default_factory=list, compare=False)

    def prepare(self, texts) -> None:
        """Get the voice ready to speak the beats ``texts`` (a model that must load starts loading now)."""
        self.voice.prepare([c for t in texts for c in split_cues(t)])

    def speak(self, text: str, gap: float = 0.15, pause: float = 0.45) -> list[Utterance]:
        chunks = split_cues(text)
        return [self._spoken(c, (gap if i + 1 < len(chunks) else pause) - GAP_FRAMES / _LOWEST_FPS)
                for i, c in enumerate(chunks)]

    def _spoken(self, chunk: str, hold: float) -> Utterance:
        u = self.voice.synthesize(chunk)
        need = max(reading_chars(chunk) / MAX_CPS, MIN_CUE) + 0.005  # the files state whole ms
        hold = max(hold, 0.0)
        slower = 1.0
        for _ in range(6):  # a voice's pace is not proportional (Piper rounds its phonemes' lengths): check again
            if u.duration + hold >= need or slower >= MAX_SLOWER:
                break
            slower = min(MAX_SLOWER, max(slower * 1.03, slower * (need - hold) / u.duration * 1.02))
            voice = self.voice.paced(slower)
            if voice is None:
                slower = 1.0
                break
            u = voice.synthesize(chunk)
        if slower > 1.0:
            self.paced.append((chunk, round(slower, 3)))
        return u
