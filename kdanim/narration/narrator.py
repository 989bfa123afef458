"""The narrator a chapter speaks through: a beat's text cut into cues, each synthesized by a voice."""

from __future__ import annotations

from dataclasses import dataclass

from .speech import split_cues
from .voices import Utterance, Voice

__all__ = ["Narrator"]


@dataclass(frozen=True)
class Narrator:
    """Speaks a beat: ``speak(text)`` is one cached `Utterance` per cue (see `speech.split_cues`)."""

    voice: Voice

    def speak(self, text: str) -> list[Utterance]:
        return [self.voice.synthesize(chunk) for chunk in split_cues(text)]
