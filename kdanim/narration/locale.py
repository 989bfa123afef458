"""The languages a lesson speaks: how each says and writes numbers, its glossary of the facts' words, its voice.

    lang = language("de")                       # ValueError listing the choices for an unknown code
    lang.filters["percent"](0.921, 1)           # '92,1 Prozent'  (spoken: narration and subtitles)
    lang.filters["pct"](0.921)                  # '92,1 %'        (written: on screen, the page)
    voice = voice_for("espeak", None, "de")     # espeak-ng -v de; piper needs a German --voice-model

Every language has the same formatters under the same names (``percent``, ``points``, ``count``, ``ratio``,
``micros``, ``decimal``, ``number``, ``small``, ``widths``, ``spoken_list``; written: ``pct``, ``thousands``,
``num``, ``signed``), so a translated script uses the templates of the English one; the script's front matter
(``language: de``) chooses the set. Written forms come from Babel (CLDR: decimal comma and a dot between
thousands in German); spoken forms keep digits, which the voices read in their language, and use words
(num2words) only where a lecturer says words ("drei Klassen").

The facts (kdanim.facts) stay language-neutral: class names, family names and the dataset's title are the
trace's own (English) words. A script translates them with ``term.`` lines in its front matter
(``term.cat: Katze``; ``term.digit {name}: Ziffer {name}`` for the class words the facts make from a
name), applied by :func:`apply_terms` to every string of the facts when the script is filled.
"""

from __future__ import annotations

import decimal
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol
from num2words import num2words

from kdanim import facts as factsmod

from . import speech
from .voices import DEFAULT_VOICE, get_voice

__all__ = ["Language", "LANGUAGES", "language", "choices", "apply_terms", "terms_of", "translate",
           "voice_for", "default_voice", "model_language", "GERMAN"]


# -- English (the spoken forms of narration.speech, the written ones of kdanim.facts) ----------------

def _spoken_list(items, last: str = "and") -> str:
    items = [str(i) for i in items]
    return ", ".join(items[:-1]) + f" {last} " + items[-1] if len(items) > 1 else "".join(items)


ENGLISH = {
    # spoken
    "percent": speech.percent, "points": speech.points, "count": speech.count, "number": speech.number,
    "small": speech.small, "ratio": speech.ratio, "micros": speech.micros, "decimal": speech.decimal,
    "widths": speech.widths, "spoken_list": _spoken_list,
    # written, on screen
    "pct": factsmod.fmt_pct, "thousands": factsmod.fmt_int,
    "num": lambda x, places=None: factsmod.fmt_num(x) if places is None else f"{x:.{places}f}",
    "signed": lambda x, places=1: f"{x:+.{places}f}",
}


# -- German ------------------------------------------------------------------------------------------
# The digits are rounded exactly as the English forms round them (Python's formatting), then written
# with the locale's symbols by Babel: the same run shows the same figures in every language.

_DE = "de"


def _finite(x, what: str) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected a number, got {x!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{what}: expected a finite number, got {x!r}")
    return v


def _written(text: str, places: int | None = None, sign: bool = False) -> str:
    """A number already rounded (``text`` as Python writes it) in German digits: '1234.5' -> '1.234,5'."""
    pattern = "#,##0" + ("." + "0" * places if places else ".##########" if places is None else "")
    return format_decimal(decimal.Decimal(text), format=(f"+{pattern};-{pattern}" if sign else pattern),
                          locale=_DE, decimal_quantization=False)


def _de(v: float, digits: int) -> str:
    """Spoken German digits: fixed point with ``digits`` decimals, a trailing ',0' dropped, 'minus' for < 0."""
    s = f"{v:.{digits}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    if s in ("-0", ""):
        s = "0"
    neg = s.startswith("-")
    s = _written(s.lstrip("-"))
    return "minus " + s if neg else s


def de_percent(x, digits: int = 0) -> str:
    """0.8612 -> '86 Prozent', digits=1 -> '86,1 Prozent'; 0.997 -> 'über 99 Prozent', 0.003 -> 'unter 1 Prozent'."""
    v = _finite(x, "percent") * 100.0
    step = 10.0 ** -digits
    if 100.0 - step / 2 <= v < 100.0:
        return f"über {_de(100.0 - step, digits)} Prozent"
    if 0.0 < v < step / 2:
        return f"unter {_de(step, digits)} Prozent"
    return f"{_de(v, digits)} Prozent"


def de_number(x) -> str:
    """A parameter value as the user wrote it, with a decimal comma: 3.0 -> '3', 0.5 -> '0,5'."""
    s = f"{_finite(x, 'number'):g}"
    if "e" in s:
        s = f"{float(s):f}".rstrip("0").rstrip(".")
    neg = s.startswith("-")
    s = _written(s.lstrip("-"))
    return "minus " + s if neg else s


def de_points(diff, digits: int | None = None) -> str:
    """A difference of two fractions in (percentage) points, unsigned: '6 Punkte', '1 Punkt', '0,4 Punkte'."""
    v = abs(_finite(diff, "points") * 100.0)
    if digits is None:
        digits = 0 if v >= 1.95 else 1
    s = _de(v, digits)
    return f"{s} Punkt" if s == "1" else f"{s} Punkte"


_DE_SCALES = ((1e9, "Milliarde", "Milliarden"), (1e6, "Million", "Millionen"), (1e3, "Tausend", "Tausend"))


def de_count(n) -> str:
    """A count as a lecturer says it, rounded as :func:`speech.count` rounds: 119_818 -> 'etwa 120 Tausend',
    2_450 -> 'etwa 2,5 Tausend', 1_234_567 -> 'etwa 1,2 Millionen', 850 -> '850', 1_500 -> '1500'."""
    v = _finite(n, "count")
    if v < 0:
        return "minus " + de_count(-v)
    about, r, digits, scale = speech.count_rounding(v)
    if scale is None:
        return ("etwa " if about else "") + str(int(r))
    text = _de(r, digits)
    one, many = next((o, m) for sc, o, m in _DE_SCALES if sc == scale)
    return ("etwa " if about else "") + f"{text} {one if text == '1' else many}"


def de_small(n) -> str:
    """A small whole number in words, as German prose writes them up to twelve: 3 -> 'drei'; 13 -> '13'.

    1 is 'eins' (the numeral): a script says 'ein'/'eine' itself, where the noun's gender decides.
    """
    v = int(_finite(n, "small"))
    return num2words(v, lang="de") if 0 <= v <= 12 else str(v)


def de_widths(hidden) -> str:
    """Hidden layer widths after 'mit' (dative): [228, 228, 228] -> 'drei verborgenen Schichten aus je 228
    Einheiten', [64] -> 'einer einzigen verborgenen Schicht aus 64 Einheiten'."""
    hidden = [int(w) for w in hidden]
    if len(hidden) == 1:
        return f"einer einzigen verborgenen Schicht aus {hidden[0]} Einheiten"
    if len(set(hidden)) == 1:
        return f"{de_small(len(hidden))} verborgenen Schichten aus je {hidden[0]} Einheiten"
    listed = ", ".join(str(w) for w in hidden[:-1]) + f" und {hidden[-1]}"
    return f"{de_small(len(hidden))} verborgenen Schichten aus {listed} Einheiten"


def de_decimal(x, places: int = 2) -> str:
    """A plain decimal: 0.3149 -> '0,31'; negatives as 'minus 0,31'."""
    v = _finite(x, "decimal")
    s = f"{v:.{places}f}"
    neg = s.startswith("-") and float(s) != 0.0
    s = _written(s.lstrip("-"), places)
    return "minus " + s if neg else s


def de_ratio(x) -> str:
    """A factor: 15.3 -> '15-mal', 2.46 -> '2,5-mal' ('15-mal kleiner', '2,5-mal so viele')."""
    v = _finite(x, "ratio")
    return f"{_de(v, 0 if abs(v) >= 9.95 else 1)}-mal"


def de_micros(x) -> str:
    """Microseconds: 3.21 -> '3,2 Mikrosekunden', 1.0 -> '1 Mikrosekunde', 0.01 -> 'unter 0,1 Mikrosekunden'."""
    v = _finite(x, "micros")
    if 0 < v < 0.05:
        return "unter 0,1 Mikrosekunden"
    s = _de(v, 0 if abs(v) >= 9.95 else 1)
    return f"{s} Mikrosekunde" if s == "1" else f"{s} Mikrosekunden"


def de_pct(x, places: int = 1) -> str:
    """On-screen percentage: 0.9134 -> '91,3 %' (a no-break space before the sign, as Babel's de writes it)."""
    return _written(f"{100 * _finite(x, 'pct'):.{places}f}", places) + "\u00a0%"


def de_thousands(n) -> str:
    """On-screen count: 120448 -> '120.448'."""
    return format_decimal(int(n), locale=_DE)


def de_num(x, places: int | None = None) -> str:
    """Short on-screen number: 3.0 -> '3', 0.5 -> '0,5'; ``places`` fixes the decimals (0.01234, 4 -> '0,0123')."""
    v = _finite(x, "num")
    if places is not None:
        return _written(f"{v:.{places}f}", places)
    s = f"{v:g}"
    return _written(f"{float(s):f}".rstrip("0").rstrip(".") if "e" in s else s)


def de_signed(x, places: int = 1) -> str:
    """A signed on-screen difference: 3.21 -> '+3,2', -0.4 -> '-0,4'."""
    return _written(f"{_finite(x, 'signed'):+.{places}f}", places, sign=True)


GERMAN = {
    "percent": de_percent, "points": de_points, "count": de_count, "number": de_number, "small": de_small,
    "ratio": de_ratio, "micros": de_micros, "decimal": de_decimal, "widths": de_widths,
    "spoken_list": lambda items: _spoken_list(items, "und"),
    "pct": de_pct, "thousands": de_thousands, "num": de_num, "signed": de_signed,
}


# -- the languages -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Language:
    """A language kdanim speaks: its formatters, the espeak-ng voice that reads it, its default voice."""

    code: str            # ISO 639-1, as in a script's front matter, <html lang> and <track srclang>
    name: str            # in the language itself, for a captions menu ("Deutsch")
    english: str         # for `--lang` help and messages
    espeak: str          # espeak-ng's voice for it (`espeak-ng -v ...`)
    default_voice: str   # the voice when --voice is not given: one that ships for this language
    filters: dict[str, Callable] = field(repr=False, default_factory=dict)

    @property
    def numerals(self) -> tuple[str, str]:
        """The decimal mark and the thousands separator the frame writes numbers with (Babel's CLDR data)."""
        return get_decimal_symbol(self.code), get_group_symbol(self.code)


LANGUAGES: dict[str, Language] = {
    "en": Language("en", "English", "English", "en-us", DEFAULT_VOICE, ENGLISH),
    # No German Piper voice ships in a package: espeak-ng's German by default, a downloaded Piper model
    # with --voice piper --voice-model PATH.onnx.
    "de": Language("de", "Deutsch", "German", "de", "espeak", GERMAN),
}


def choices() -> str:
    """'en (English), de (German)': the languages, for help and error messages."""
    return ", ".join(f"{c} ({l.english})" for c, l in LANGUAGES.items())


def language(code: str) -> Language:
    """The language ``code`` ('en', 'de'); ValueError naming the choices otherwise."""
    found = LANGUAGES.get(str(code).strip().lower())
    if found is None:
        raise ValueError(f"{code!r} is not a language kdanim speaks: choose one of {choices()}")
    return found


# -- the glossary: the facts' own words in the script's language ------------------------------------

def terms_of(meta: dict) -> dict[str, str]:
    """The glossary of a script's front matter: every ``term.ENGLISH: TRANSLATION`` line."""
    return {k[len("term."):].strip(): v for k, v in meta.items() if k.startswith("term.")}


def translate(terms: dict[str, str]) -> Callable[[str], str]:
    """A function giving a word of the facts in the glossary's language (unchanged when it has no entry).

    A term may hold ``{name}`` (``digit {name}: Ziffer {name}``): it matches any text of that form.
    """
    exact = {k: v for k, v in terms.items() if "{name}" not in k}
    patterns = [(re.compile("^" + re.escape(k).replace(re.escape("{name}"), "(?P<name>.+?)") + "$"), v)
                for k, v in terms.items() if "{name}" in k]

    def word(text: str) -> str:
        if text in exact:
            return exact[text]
        for rx, v in patterns:
            if m := rx.match(text):
                return v.replace("{name}", word(m.group("name")))
        return text

    return word


def apply_terms(value, word: Callable[[str], str]):
    """``value`` (facts: dicts, lists, strings, numbers) with every string put through ``word``."""
    if isinstance(value, str):
        return word(value)
    if isinstance(value, dict):
        return {k: apply_terms(v, word) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(apply_terms(v, word) for v in value)
    return value


# -- voices for a language ----------------------------------------------------------------------

def default_voice(code: str) -> str:
    """The voice a lesson in ``code`` gets when none is asked for (``piper`` for English, ``espeak`` for German)."""
    return language(code).default_voice


def model_language(model_path) -> str | None:
    """The language family of a Piper voice model ('de' for de_DE-thorsten-medium), from its .onnx.json."""
    import json

    try:
        cfg = json.loads(Path(f"{Path(model_path).expanduser()}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # the voice itself says what is wrong with its files
    lang = cfg.get("language") or {}
    family = lang.get("family") or (lang.get("code") or "").split("_")[0]
    return family or ((cfg.get("espeak") or {}).get("voice") or "").split("-")[0] or None


def voice_for(name: str | None, model_path, code: str, **options):
    """The voice ``name`` (None: the language's default) speaking language ``code``.

    espeak-ng gets the language's voice (``-v de``). Piper speaks the language of its model: the model
    shipped with kdanim is English, so another language needs ``model_path`` to a model of that language
    (one downloaded by hand; nothing is fetched). ValueError (a usage error) when the two do not fit,
    VoiceUnavailable when the voice cannot run here.
    """
    lang = language(code)
    name = (name or lang.default_voice).strip().lower()
    if name == "espeak":
        options.setdefault("voice", lang.espeak)
    if name == "piper":
        spoken = model_language(model_path) if model_path else "en"
        if model_path is None and lang.code != "en":
            raise ValueError(f"no {lang.english} Piper voice ships with kdanim: download one (a .onnx file and "
                             f"its .onnx.json) and pass --voice-model PATH.onnx, or use --voice espeak")
        if spoken is not None and spoken != lang.code:
            raise ValueError(f"the Piper voice {Path(model_path).name if model_path else '(default)'} speaks "
                             f"{spoken!r}, not {lang.english}: pass a {lang.code} voice with --voice-model")
    return get_voice(name, model_path=model_path, **options)
