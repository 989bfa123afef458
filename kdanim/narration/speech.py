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
    ['First sentence. Second one,', 'which is a little longer.']
"""

from __future__ import annotations

import math
import re

__all__ = [
    "percent", "points", "points_vs", "count", "count_rounding", "small", "widths", "decimal", "number", "ratio", "micros",
    "split_cues", "wrap_cue", "sentences", "SHORT_SENTENCE",
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
    about, r, digits, scale = count_rounding(v)
    if scale is None:
        return ("about " if about else "") + str(int(r))
    word = dict((sc, w) for sc, w in _SCALES)[scale]
    return ("about " if about else "") + f"{_fmt(r, digits)} {word}"


def count_rounding(v: float) -> tuple[bool, float, int, float | None]:
    """How a count ``v`` >= 0 is rounded to be said, in any language: (about, the rounded number, its
    decimals, its scale 1e3/1e6/1e9 or None when it is said as a whole number)."""
    if v < 9999.5 and v == round(v) and round(v) % 100 == 0:
        return False, round(v), 0, None  # round hundreds are said as they are: "1500", "2000"
    if v < 999.5:
        return round(v) != v, round(v), 0, None
    # the largest scale such that the 2-significant-figure value stays below 1000
    scale = next(sc for sc, _ in _SCALES if v >= 0.995 * sc or sc == 1e3)
    k = v / scale
    if k >= 9.95:
        mag = 10 ** (math.floor(math.log10(k)) - 1)
        r, digits = round(k / mag) * mag, 0
    elif k >= 2.95:
        r, digits = round(k * 2) / 2, 1
    else:
        r, digits = round(k, 1), 1
    return abs(r * scale - v) >= 0.5, r, digits, scale


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


#: Breaking a sentence between two words that are not a clause boundary costs as much, in the balance
#: of the pieces (sum of squared lengths), as a piece 20 characters longer; before a word that opens a
#: phrase ("and the student's prediction"), a quarter of that.
_WORD_BREAK, _PHRASE_BREAK = 20 ** 2, 10 ** 2
#: One piece more than the fewest possible is taken when it is at least this much better balanced.
_EXTRA_PIECE = 55 ** 2
_OPENERS = frozenset("and or but nor which that who while whereas with without between because so "
                     "where when though although than from".split())


def _balanced(atoms, max_chars: int) -> list[str]:
    """Pieces of at most ``max_chars`` (a fresh atom starts one; a lone longer atom stays whole), as even
    as they can be and cut at clause boundaries where possible.

    ``atoms`` are (text, fresh). The greedy packing gives the fewest pieces, k; among the cuttings into
    k (or k + 1, at a cost of ``_EXTRA_PIECE``), the one with the least sum of squared piece lengths
    plus a cost for every cut that is not at a clause boundary (after one of ``_CLAUSE_SEPS``): no short
    tail ("answers that.") is left on its own.
    """
    fewest = len(_pack(atoms, max_chars))
    k = fewest + 1
    n = len(atoms)
    if fewest <= 1 or n > 200:
        return _pack(atoms, max_chars)
    texts = [a for a, _ in atoms]
    start = [0]
    for t in texts:
        start.append(start[-1] + len(t) + 1)

    def length(i, j):  # atoms[i:j] joined by spaces
        return start[j] - start[i] - 1

    def cut_cost(j):  # a piece ends after atom j - 1
        if j == n or texts[j - 1].endswith(tuple(sep.strip() for sep in _CLAUSE_SEPS)):
            return 0
        return _PHRASE_BREAK if texts[j].lower() in _OPENERS else _WORD_BREAK

    inf = float("inf")
    best = [[inf] * (k + 1) for _ in range(n + 1)]
    back = [[0] * (k + 1) for _ in range(n + 1)]
    best[0][0] = 0
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):
            if i < j - 1 and (length(i, j) > max_chars or atoms[i + 1][1]):
                break  # longer pieces only get longer; a fresh atom inside cannot be crossed
            for m in range(1, k + 1):
                c = best[i][m - 1] + length(i, j) ** 2 + cut_cost(j)
                if c < best[j][m]:
                    best[j][m], back[j][m] = c, i
    k = min((fewest, k), key=lambda m: best[n][m] + _EXTRA_PIECE * (m - fewest))
    if best[n][k] == inf:
        return _pack(atoms, max_chars)
    pieces, j = [], n
    for m in range(k, 0, -1):
        i = back[j][m]
        pieces.append(" ".join(texts[i:j]))
        j = i
    return pieces[::-1]


def _split_sentence(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    # Clauses whole; a clause that is itself too long is cut at words, from a piece of its own.
    atoms = []
    for clause in _clauses(sentence):
        if len(clause) > max_chars:
            atoms += [(w, i == 0) for i, w in enumerate(clause.split())]
        else:
            atoms.append((clause, False))
    return _balanced(atoms, max_chars)


#: A sentence shorter than this many characters shares a cue with its neighbour when they fit
#: together: alone it would be spoken in less than the 5/6 s a caption must stay on screen.
SHORT_SENTENCE = 16


def split_cues(text: str, max_chars: int = 84, line_chars: int = 42) -> list[str]:
    """Cut narration into cue-sized chunks.

    A chunk is at most ``max_chars`` long (a single word longer than that is
    left whole) and holds one sentence or a piece of one, but for a sentence
    under ``SHORT_SENTENCE`` characters ("Why?", "To sum up."), which joins the
    next chunk (or else the previous one) when the two fit together. Long
    sentences are cut into the fewest pieces, as even as possible, at clause
    boundaries (' — ', '; ', ': ', ', ') where they can be and else at word
    boundaries, preferably before a word opening a phrase ("and", "which").
    Each chunk also fits in two lines of ``line_chars`` (see :func:`wrap_cue`);
    if it would not, it is cut further. Each chunk is synthesised on its own,
    so subtitle cue times are the real audio durations.
    """
    if max_chars < 8 or line_chars < 4:
        raise ValueError(f"split_cues: max_chars={max_chars}, line_chars={line_chars} are too small")
    limit = min(max_chars, 2 * line_chars + 1)
    chunks: list[tuple[str, bool]] = []  # (chunk, a whole short sentence)
    for s in sentences(text):
        pieces = [c for chunk in _split_sentence(s, limit) for c in _fit_two_lines(chunk, line_chars)]
        chunks += [(c, len(pieces) == 1 and len(s) < SHORT_SENTENCE) for c in pieces]

    def fits(a: str, b: str) -> bool:
        both = f"{a} {b}"
        return len(both) <= limit and len(_wrap_lines(both, line_chars)) <= 2

    out: list[str] = []
    i = 0
    while i < len(chunks):
        chunk, short = chunks[i]
        if short and i + 1 < len(chunks) and fits(chunk, chunks[i + 1][0]):
            chunks[i + 1] = (f"{chunk} {chunks[i + 1][0]}", chunks[i + 1][1] and len(chunk) < SHORT_SENTENCE)
        elif short and out and fits(out[-1], chunk):
            out[-1] = f"{out[-1]} {chunk}"
        else:
            out.append(chunk)
        i += 1
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
