"""Narration: spoken number forms, offline voices, subtitles and transcripts.

This package never imports Manim. See `speech` (how numbers are said, how text
is cut into cues), `voices` (the voice registry: Piper / espeak-ng / silent, cached on disk) and
`subtitles` (SRT, WebVTT, transcript.md, chapters.txt).
"""

from .speech import count, decimal, micros, percent, points, points_vs, ratio, split_cues, wrap_cue
from .narrator import Narrator
from .subtitles import Cue, timeline, write_chapters_txt, write_srt, write_transcript, write_vtt
from .voices import (
    DEFAULT_VOICE, VOICES, EspeakVoice, PiperVoice, SilentVoice, Utterance, Voice, VoiceUnavailable,
    get_voice, register,
)

__all__ = [
    "count", "decimal", "micros", "percent", "points", "points_vs", "ratio", "split_cues", "wrap_cue",
    "Narrator", "Cue", "timeline", "write_chapters_txt", "write_srt", "write_transcript", "write_vtt",
    "VOICES", "EspeakVoice", "PiperVoice", "SilentVoice", "Utterance", "Voice", "VoiceUnavailable",
    "get_voice", "register", "DEFAULT_VOICE",
]
