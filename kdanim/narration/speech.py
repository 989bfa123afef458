"""How numbers are spoken, and how narration is cut into cues.

Every function here returns text meant to be *read aloud* by a TTS voice and
shown in the subtitles, so the forms are the ones a lecturer would say:
rounded, with units, digits rather than spelled-out words (Piper and espeak
read "86 percent" as "eighty-six percent").

    >>> percent(0.8612)
    '86 percent'
    >>> points(0.8612 - 0.8012)
    '6 points'
    >>> count(119_818)
    'about 120 thousand'
    >>> split_cues("First sentence. Second one, which is a little longer.", max_chars=30)
    ['First sentence.', 'Second one,', 'which is a little longer.']
"""

from __future__ import annotations

import math
import re

__all__ = [
    "percent", "points", "points_vs", "count", "small", "widths", "decimal", "number", "ratio", "micros",
    "split_cues", "wrap_cue", "sentences",
]


def _finite(x, what: str) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected a number, got {x!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{what}: expected a finite number, got {x!r}")
    return v


def _fmt(v: float, digits: int) -> str:
    """Fixed-point with `digits` decimals, trailing '.0' dropped, no '-0'."""
    s = f"{v:.{digits}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    if s in ("-0", ""):
        s = "0"
    if s.startswith("-"):
        s = "minus " + s[1:]
    return s


# ---------------------------------------------------------------- numbers

def percent(x, digits: int = 0) -> str:
    """A fraction as spoken percent: 0.8612 -> '86 percent', digits=1 -> '86.1 percent'.

    A value that would round to 100 (or 0) without being it is said the way a
    lecturer would: 0.997 -> 'over 99 percent', 0.003 -> 'under 1 percent'.
    """
    v = _finite(x, "percent") * 100.0
    step = 10.0 ** -digits
    if 100.0 - step / 2 <= v < 100.0:
        return f"over {_fmt(100.0 - step, digits)} percent"
    if 0.0 < v < step / 2:
        return f"under {_fmt(step, digits)} percent"
    return f"{_fmt(v, digits)} percent"


def number(x) -> str:
    """A parameter value as written by the user: 3.0 -> '3', 0.5 -> '0.5', 2.25 -> '2.25'."""
    return f"{_finite(x, 'number'):g}"


def points(diff, digits: int | None = None) -> str:
    """Size of a difference of two fractions in percentage points, always unsigned.

    0.06 -> '6 points', 0.01 -> '1 point', 0.004 -> '0.4 points'. By default
    whole points are used from 2 points up and one decimal below that (a
    lecturer says "half a point", not "0 points"). Use :func:`points_vs` for
    the direction.
    """
    v = abs(_finite(diff, "points") * 100.0)
    if digits is None:
        digits = 0 if v >= 1.95 else 1
    s = _fmt(v, digits)
    return f"{s} point" if s == "1" else f"{s} points"


def points_vs(diff, above: str = "above", below: str = "below",
              level: str = "level with") -> str:
    """'6 points above' / '2 points below' / 'level with' (when it rounds to 0)."""
    d = _finite(diff, "points_vs")
    s = points(d)
    if s == "0 points":
        return level
    return f"{s} {above if d > 0 else below}"


_SCALES = ((1e9, "billion"), (1e6, "million"), (1e3, "thousand"))


def count(n) -> str:
    """A count (e.g. parameters) the way a lecturer says it.

    Exact below 1000 ('850'); above, rounded with a scale word, and 'about'
    when the rounding changed the number: 119_818 -> 'about 120 thousand',
    7_850 -> 'about 8 thousand', 2_450 -> 'about 2.5 thousand',
    1_234_567 -> 'about 1.2 million'. Round hundreds below ten thousand stay
    exact (1_500 -> '1500', which a voice reads as "fifteen hundred").
    In its scale, a value of 10 or more keeps two significant figures, one
    from 3 to 10 is rounded to the nearest half, one below 3 to one decimal.
    """
    v = _finite(n, "count")
    if v < 0:
        return "minus " + count(-v)
    if v < 9999.5 and v == round(v) and round(v) % 100 == 0:
        return str(int(round(v)))  # round hundreds are said as they are: "1500", "2000"
    if v < 999.5:
        r = round(v)
        return ("" if r == v else "about ") + str(r)
    # the largest scale such that the 2-significant-figure value stays below 1000
    scale, word = next((s, w) for s, w in _SCALES if v >= 0.995 * s or s == 1e3)
    k = v / scale
    if k >= 9.95:
        mag = 10 ** (math.floor(math.log10(k)) - 1)
        r = round(k / mag) * mag
        text = str(int(round(r)))
    elif k >= 2.95:
        r = round(k * 2) / 2
        text = _fmt(r, 1)
    else:
        r = round(k, 1)
        text = _fmt(r, 1)
    exact = abs(r * scale - v) < 0.5
    return ("" if exact else "about ") + f"{text} {word}"


_SMALL = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def small(n) -> str:
    """A small whole number in words, as in prose: 3 -> 'three'; 11 and up stay digits."""
    v = int(_finite(n, "small"))
    return _SMALL[v] if 0 <= v < len(_SMALL) else str(v)


def widths(hidden) -> str:
    """Hidden layer widths in words: [228, 228, 228] -> 'three hidden layers of 228 units each'."""
    hidden = [int(w) for w in hidden]
    if len(hidden) == 1:
        return f"a single hidden layer of {hidden[0]} units"
    if len(set(hidden)) == 1:
        return f"{small(len(hidden))} hidden layers of {hidden[0]} units each"
    listed = ", ".join(str(w) for w in hidden[:-1]) + f" and {hidden[-1]}"
    return f"{small(len(hidden))} hidden layers of {listed} units"


def decimal(x, places: int = 2) -> str:
    """A plain decimal: 0.3149 -> '0.31'; negatives as 'minus 0.31'."""
    v = _finite(x, "decimal")
    s = f"{v:.{places}f}"
    if s.startswith("-") and float(s) != 0.0:
        return "minus " + s[1:]
    return s.lstrip("-")


def ratio(x) -> str:
    """A multiplicative factor: 15.3 -> '15 times', 2.46 -> '2.5 times'."""
    v = _finite(x, "ratio")
    digits = 0 if abs(v) >= 9.95 else 1
    return f"{_fmt(v, digits)} times"


def micros(x) -> str:
    """A time given in microseconds: 3.21 -> '3.2 microseconds', 48.7 -> '49 microseconds'."""
    v = _finite(x, "micros")
    if 0 < v < 0.05:
        return "under 0.1 microseconds"  # not "0 microseconds"
    digits = 0 if abs(v) >= 9.95 else 1
    s = _fmt(v, digits)
    return f"{s} microsecond" if s == "1" else f"{s} microseconds"


# ---------------------------------------------------------------- cues

# A sentence ends at . ! ? (optionally followed by a closing quote/bracket)
# followed by whitespace. A '.' between digits ("0.31") never matches because
# it is not followed by whitespace.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+")
_CLAUSE_SEPS = (" — ", " – ", "; ", ": ", ", ")


def sentences(text: str) -> list[str]:
    """Split text into sentences (whitespace normalised)."""
    text = " ".join(str(text).split())
    if not text:
        return []
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        out.append(text[start:m.start() + len(m.group(0).rstrip())].strip())
        start = m.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def _pack(atoms, max_chars: int) -> list[str]:
    """Greedy packing of (text, fresh) atoms into pieces of at most max_chars; a fresh atom starts a piece.

    An atom longer than max_chars stays whole, on a piece of its own.
    """
    pieces, cur = [], ""
    for a, fresh in atoms:
        if cur and (fresh or len(cur) + 1 + len(a) > max_chars):
            pieces.append(cur)
            cur = a
        else:
            cur = f"{cur} {a}" if cur else a
    if cur:
        pieces.append(cur)
    return pieces


def _split_words(text: str, max_chars: int) -> list[str]:
    """Greedy word packing into pieces of at most max_chars (a lone longer word stays whole)."""
    return _pack(((w, False) for w in text.split()), max_chars)


def _clauses(sentence: str) -> list[str]:
    """Cut a sentence after every clause separator, keeping the separator with its clause."""
    parts = [sentence]
    for sep in _CLAUSE_SEPS:
        nxt = []
        for p in parts:
            bits = p.split(sep)
            # keep the punctuation on the left piece; a dash goes to the left too
            for i, b in enumerate(bits):
                if i < len(bits) - 1:
                    nxt.append(b + sep.rstrip())
                else:
                    nxt.append(b)
        parts = nxt
    return [p.strip() for p in parts if p.strip()]


def _split_sentence(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    # Pack clauses greedily; a clause that is itself too long is cut at words, from a piece of its own.
    atoms = []
    for clause in _clauses(sentence):
        if len(clause) > max_chars:
            atoms += [(w, i == 0) for i, w in enumerate(clause.split())]
        else:
            atoms.append((clause, False))
    return _pack(atoms, max_chars)


def split_cues(text: str, max_chars: int = 84, line_chars: int = 42) -> list[str]:
    """Cut narration into cue-sized chunks.

    A chunk never spans two sentences and is at most ``max_chars`` long (a
    single word longer than that is left whole). Long sentences are cut at
    clause boundaries (' — ', '; ', ': ', ', ') and then at word boundaries.
    Each chunk also fits in two lines of ``line_chars`` (see :func:`wrap_cue`);
    if it would not, it is cut further. Each chunk is synthesised on its own,
    so subtitle cue times are the real audio durations.
    """
    if max_chars < 8 or line_chars < 4:
        raise ValueError(f"split_cues: max_chars={max_chars}, line_chars={line_chars} are too small")
    limit = min(max_chars, 2 * line_chars + 1)
    out: list[str] = []
    for s in sentences(text):
        for chunk in _split_sentence(s, limit):
            out.extend(_fit_two_lines(chunk, line_chars))
    return out


def _fit_two_lines(chunk: str, line_chars: int) -> list[str]:
    """Halve a chunk at the word boundary nearest its middle until it wraps into two lines."""
    if len(_wrap_lines(chunk, line_chars)) <= 2 or " " not in chunk:
        return [chunk]
    mid = len(chunk) / 2
    cut = min((i for i, c in enumerate(chunk) if c == " "), key=lambda i: abs(i - mid))
    return _fit_two_lines(chunk[:cut], line_chars) + _fit_two_lines(chunk[cut + 1:], line_chars)


def _wrap_lines(chunk: str, line_chars: int) -> list[str]:
    words = chunk.split()
    if not words:
        return [""]
    if len(chunk) <= line_chars:
        return [" ".join(words)]
    # Best balanced two-line break: minimise the longer line.
    best = None
    for i in range(1, len(words)):
        a, b = " ".join(words[:i]), " ".join(words[i:])
        key = (max(len(a), len(b)) > line_chars, max(len(a), len(b)))
        if best is None or key < best[0]:
            best = (key, [a, b])
    if best is not None and not best[0][0]:
        return best[1]
    return _split_words(chunk, line_chars)


def wrap_cue(chunk: str, line_chars: int = 42) -> str:
    """Wrap a cue into at most two balanced lines of at most ``line_chars``.

    A chunk from :func:`split_cues` always fits; for anything longer the
    lines beyond the second are joined onto the second (never dropped).
    """
    lines = _wrap_lines(" ".join(str(chunk).split()), line_chars)
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
    return "\n".join(lines)
