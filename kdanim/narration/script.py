"""The lesson's words as data: a script file of spoken beats and on-screen words, filled from a run's facts.

    script = load("en")                        # kdanim/narration/scripts/en.md (or a path)
    words = script.fill(run_facts(trace))      # one run's words
    words.say("results.gain")                  # the beat's text, its variant chosen by the facts
    words.show("results.table_title")          # on-screen words

A script is Markdown, one file per language (see the comment at the top of ``scripts/en.md``):
``# key: Title`` starts a chapter, ``## chapter.beat`` a spoken beat, ``## chapter.name (on screen)``
words shown in the frame, and ``## on screen`` a list of short labels (``- name: text``). A beat may
have variants, ``- when `condition`:`` followed by its text, and ``- otherwise:``: the first variant
whose condition is true of the run is spoken. Texts are Jinja templates and conditions Jinja
expressions over the run's facts (:func:`kdanim.facts.run_facts`), in a sandbox where an unknown
name is an error, with the spoken and written number forms as filters (``{{ teacher.acc | percent }}``).
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from . import locale

__all__ = ["SCRIPT_VERSION", "SCRIPTS", "LANGUAGES", "CREDITS", "ScriptError", "Variant", "Entry", "Script", "Words",
           "load", "load_cached", "parse", "FILTERS"]

#: The version of the script format this kdanim reads (front matter ``kdanim-script: 1``).
SCRIPT_VERSION = 1
SCRIPTS = Path(__file__).resolve().parent / "scripts"
LANGUAGES = tuple(locale.LANGUAGES)  # the shipped scripts: scripts/<code>.md
#: The lesson's credits: front matter keys of a script (and options of the commands), the facts ``credits.*``.
CREDITS = ("title", "course", "author", "institution")


class ScriptError(ValueError):
    """A script that cannot be used; the message starts with ``file:line:``."""


#: The formatters a script may apply: spoken forms (narration.speech) and written ones (kdanim.facts).
#: Every language has the same names (kdanim.narration.locale); a script's ``language:`` picks its set.
FILTERS = locale.ENGLISH


@dataclass(frozen=True)
class Variant:
    """One text of an entry: spoken when ``condition`` (a Jinja expression) is true; None = otherwise."""

    condition: str | None
    text: str
    line: int
    lines: tuple[int, ...] = ()  # the script line of each line of ``text``


@dataclass(frozen=True)
class Entry:
    """A beat (``say``) or on-screen words (``show``) of a chapter, with its variants in order."""

    id: str
    kind: str
    variants: tuple[Variant, ...]
    line: int


@dataclass
class Script:
    """A parsed script: chapter titles, entries by id, the front matter, and the file it came from."""

    path: str
    meta: dict
    titles: dict[str, str]
    entries: dict[str, Entry]
    env: SandboxedEnvironment = field(repr=False, default=None)
    #: A user's script falls back to the shipped script of its language for on-screen words and titles it lacks.
    fallback: "Script | None" = field(repr=False, default=None)

    def __post_init__(self):
        try:
            self.lang = locale.language(self.language)
        except ValueError as e:
            raise ScriptError(f"{self.path}:1: language: {e}") from None
        self.env = _shared_environment(self.lang.filters)
        self.terms = locale.terms_of(self.meta)  # the glossary: front matter lines 'term.cat: Katze'
        self.term = locale.translate(self.terms)
        self._compiled = {}
        for entry in self.entries.values():
            for v in entry.variants:
                self._compiled[(entry.id, v.line)] = (self._compile(v.condition, v.line, expression=True),
                                                      self._compile(v.text, v.line, v.lines))

    @property
    def language(self) -> str:
        return self.meta.get("language", "en")

    def _compile(self, source, line, lines=(), expression=False):
        if source is None:
            return None
        key = (id(self.env), source, expression)
        try:
            if key not in _COMPILED:
                _COMPILED[key] = self.env.compile_expression(source) if expression else self.env.from_string(source)
            return _COMPILED[key]
        except TemplateSyntaxError as e:
            at = lines[e.lineno - 1] if not expression and 0 < (e.lineno or 0) <= len(lines) else line
            raise ScriptError(f"{self.path}:{at}: {_syntax(e, self.env, source if expression else None)}") from None

    def credits(self, given: dict | None = None) -> dict:
        """The lesson's credits (the facts ``credits.title`` ...): ``given`` (options) over the front matter's."""
        return {k: str((given or {}).get(k) or self.meta.get(k) or "").strip() for k in CREDITS}

    def fill(self, facts: dict) -> "Words":
        """This script's words for one run (its facts from :func:`kdanim.facts.run_facts`; ``credits``: the
        front matter's unless the facts have them)."""
        return Words(self, facts if "credits" in facts else {**facts, "credits": self.credits()})

    def chapter_ids(self, key: str) -> list[str]:
        """The ids of a chapter's entries, in script order (then on-screen words only the fallback has)."""
        own = [i for i in self.entries if i.split(".", 1)[0] == key]
        fb = self.fallback
        return own + ([i for i in fb.chapter_ids(key) if i not in self.entries and fb.entries[i].kind == "show"]
                      if fb is not None else [])

    def entry(self, entry_id: str) -> Entry | None:
        """The entry ``entry_id``: this script's, else (on-screen words) the fallback's."""
        found = self.entries.get(entry_id)
        if found is None and self.fallback is not None and entry_id in self.fallback.entries:
            fb = self.fallback.entries[entry_id]
            return fb if fb.kind == "show" else None
        return found


class Words:
    """A script filled with one run's facts: what is said and shown, each variant chosen by the facts."""

    def __init__(self, script: Script, facts: dict):
        self.script, self.facts = script, facts
        # the facts' own words (class and family names, the dataset's title) in the script's language
        self._named = locale.apply_terms(facts, script.term) if script.terms else facts
        self._filled: dict[str, tuple[Variant | None, str]] = {}

    def term(self, text: str) -> str:
        """A word of the trace (a class name: "cat") in the script's language, by its glossary ("Katze")."""
        return self.script.term(text)

    @property
    def language(self) -> str:
        """The script's language code ("en", "de")."""
        return self.script.lang.code

    @property
    def numerals(self) -> tuple[str, str]:
        """The decimal mark and thousands separator of the script's language ((".", ",") in English)."""
        return self.script.lang.numerals

    def written(self, kind: str, value, *args) -> str:
        """A number as the frame writes it in the script's language: ``kind`` is a written formatter
        (``pct``, ``thousands``, ``num``, ``signed``): written("pct", 0.921) -> '92.1%' / '92,1 %'."""
        return self.script.lang.filters[kind](value, *args)

    def title(self, key: str) -> str:
        """The chapter's title (as the script's ``# key: Title`` heading gives it)."""
        return self.script.titles.get(key, key)

    def say(self, beat_id: str) -> str:
        """The spoken text of a beat, whitespace folded ("" when the script has no such beat)."""
        return " ".join(self._fill(beat_id, "say")[1].split())

    def show(self, words_id: str) -> str:
        """On-screen words ("" when the script has none of that id)."""
        return self._fill(words_id, "show")[1].strip()

    def chosen(self, entry_id: str) -> Variant | None:
        """The variant this run speaks or shows for ``entry_id`` (None: not in the script)."""
        return self._fill(entry_id, None)[0]

    def chapter(self, key: str) -> dict[str, str]:
        """Every entry of a chapter, filled: what keys the chapter's render in the cache."""
        return {i: (self.say(i) if self.script.entry(i).kind == "say" else self.show(i))
                for i in self.script.chapter_ids(key)}

    def _fill(self, entry_id: str, kind: str | None) -> tuple[Variant | None, str]:
        if entry_id in self._filled:
            return self._filled[entry_id]
        entry = self.script.entries.get(entry_id)
        if entry is None and self.script.entry(entry_id) is not None:  # on-screen words the script lacks
            self._filled[entry_id] = Words(self.script.fallback, self.facts)._fill(entry_id, kind)
            return self._filled[entry_id]
        if entry is None:
            return None, ""
        if kind is not None and entry.kind != kind:
            raise ScriptError(f"{self.script.path}:{entry.line}: {entry_id} is "
                              f"{'a spoken beat' if entry.kind == 'say' else 'on-screen words'}, not "
                              f"{'a spoken beat' if kind == 'say' else 'on-screen words'}")
        for v in entry.variants:
            condition, template = self.script._compiled[(entry.id, v.line)]
            if condition is None or self._call(condition, v.line):
                text = self._call(template.render, v.line)
                self._filled[entry_id] = (v, text)
                return v, text
        raise ScriptError(f"{self.script.path}:{entry.line}: no variant of {entry_id} fits this run "
                          f"(add an '- otherwise:' variant)")

    def _call(self, fn, line):
        try:
            return fn(**self._named)
        except UndefinedError as e:
            raise ScriptError(f"{self.script.path}:{line}: {_unknown(e, self.facts)}") from None
        except (TypeError, ValueError, ZeroDivisionError) as e:
            raise ScriptError(f"{self.script.path}:{line}: {e}") from None


def _syntax(e: TemplateSyntaxError, env, condition: str | None) -> str:
    """What is wrong with a template or a condition, in the script's words."""
    m = re.match(r"No (filter|test) named '([^']+)'", e.message or "")
    if m:
        known = env.filters if m.group(1) == "filter" else env.tests
        close = difflib.get_close_matches(m.group(2), sorted(known), n=3)
        what = "formatter" if m.group(1) == "filter" else "test"
        return f"unknown {what} {m.group(2)!r}" + (f" (did you mean: {', '.join(close)}?)" if close else "")
    return f"malformed condition `{condition}`: {e.message}" if condition is not None else f"template: {e.message}"


def _unknown(e: UndefinedError, facts: dict) -> str:
    """'unknown fact 'x' (did you mean: y, z?)' from Jinja's undefined error."""
    m = re.search(r"'([^']+)' is undefined|has no attribute '([^']+)'", str(e))
    name = next((g for g in m.groups() if g), None) if m else None
    if name is None:
        return str(e)
    known = sorted(set(facts) | {k for v in facts.values() if isinstance(v, dict) for k in v})
    close = difflib.get_close_matches(name, known, n=3)
    return f"unknown fact {name!r}" + (f" (did you mean: {', '.join(close)}?)" if close else "")


def _environment(filters: dict = FILTERS) -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters.update(filters)
    return env


#: One environment per language's filters, and every template compiled in it, by its source: a script
#: edited in one entry (or a user's script, mostly the shipped one's words) compiles only what is new,
#: where compiling a whole script takes about 0.4 s (Jinja's code generator and Python's compile()).
_ENVIRONMENTS: dict[int, tuple[dict, SandboxedEnvironment]] = {}
_COMPILED: dict[tuple[int, str, bool], object] = {}


def _shared_environment(filters: dict) -> SandboxedEnvironment:
    if id(filters) not in _ENVIRONMENTS:  # the filters dict is kept with it: its id is not reused
        _ENVIRONMENTS[id(filters)] = (filters, _environment(filters))
    return _ENVIRONMENTS[id(filters)][1]


# -- the file format -----------------------------------------------------------------------------

_CHAPTER = re.compile(r"^#\s+([a-z][a-z0-9_]*)\s*:\s*(.+?)\s*$")
_ENTRY = re.compile(r"^##\s+([a-z][a-z0-9_]*)\.([a-z][a-z0-9_.]*)\s*(\(on screen\))?\s*$")
_LABELS = re.compile(r"^##\s+on screen\s*$")
_WHEN = re.compile(r"^-\s+when\s+`(.+)`\s*:\s*(.*)$")
_OTHERWISE = re.compile(r"^-\s+otherwise\s*:\s*(.*)$")
_LABEL = re.compile(r"^-\s+([a-z][a-z0-9_.]*)\s*:\s*(.*)$")


@dataclass
class _Open:
    """An entry being read: its text before any variant, and its variants [condition, lines, line]."""

    id: str
    kind: str
    line: int
    loose: list = field(default_factory=list)
    variants: list = field(default_factory=list)
    otherwise: bool = False


@dataclass
class _Builder:
    path: str
    titles: dict = field(default_factory=dict)
    entries: dict = field(default_factory=dict)
    chapter: str | None = None
    entry: _Open | None = None
    labels: bool = False  # inside a '## on screen' list

    def fail(self, line, what):
        raise ScriptError(f"{self.path}:{line}: {what}")

    def close(self):
        e, self.entry = self.entry, None
        if e is None:
            return
        if e.variants and any(x.strip() for _, x in e.loose):
            self.fail(e.line, f"{e.id}: text before its first '- when' variant")
        found = e.variants or [[None, e.loose, e.line]]
        kept = [(c, [(n, t.strip()) for n, t in ls if t.strip()], at) for c, ls, at in found]
        # one text line per script line (a beat's whitespace is folded when it is said): errors name the line
        self.entries[e.id] = Entry(e.id, e.kind, tuple(
            Variant(c, "\n".join(t for _, t in ls), at, tuple(n for n, _ in ls)) for c, ls, at in kept), e.line)

    def start(self, eid, kind, line):
        self.close()
        if self.chapter is None:
            self.fail(line, f"{eid} comes before any chapter heading ('# key: Title')")
        if eid.split(".", 1)[0] != self.chapter:
            self.fail(line, f"{eid} is in chapter {self.chapter!r}: its id must start with '{self.chapter}.'")
        if eid in self.entries:
            self.fail(line, f"{eid} is given twice (first at line {self.entries[eid].line})")
        self.entry = _Open(eid, kind, line)

    def variant(self, condition, first, line):
        if self.entry.otherwise:
            self.fail(line, f"{self.entry.id}: a variant after '- otherwise:' (it must come last)")
        self.entry.otherwise = condition is None
        self.entry.variants.append([condition, [(line, first)], line])

    def text(self, line, n):
        (self.entry.variants[-1][1] if self.entry.variants else self.entry.loose).append((n, line))


def _front_matter(lines, path) -> tuple[dict, int]:
    """The ``--- key: value ---`` block after the leading comment; (meta, index of the next line)."""
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i < len(lines) and lines[i].lstrip().startswith("<!--"):
        while i < len(lines) and "-->" not in lines[i]:
            i += 1
        i += 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines) or lines[i].strip() != "---":
        raise ScriptError(f"{path}:{i + 1}: a script starts with front matter: '---', 'kdanim-script: "
                          f"{SCRIPT_VERSION}', 'language: en', '---'")
    meta, i = {}, i + 1
    at = i + 1  # the line that should say the version: the front matter's first
    while i < len(lines) and lines[i].strip() != "---":
        key, sep, value = lines[i].partition(":")
        if lines[i].strip() and not sep:
            raise ScriptError(f"{path}:{i + 1}: front matter lines are 'key: value', got {lines[i].strip()!r}")
        if sep:
            meta[key.strip()] = value.strip()
            at = i + 1 if key.strip() == "kdanim-script" else at
        i += 1
    version = meta.get("kdanim-script")
    if version != str(SCRIPT_VERSION):
        raise ScriptError(f"{path}:{at}: this is a script for kdanim script version {version or '(none)'}; this "
                          f"kdanim reads version {SCRIPT_VERSION} (export a fresh one with `kdanim script`)")
    return meta, i + 1


def parse(text: str, path: str = "<script>") -> Script:
    """A :class:`Script` from the text of a script file; ScriptError naming ``path:line`` otherwise."""
    lines = text.splitlines()
    meta, start = _front_matter(lines, path)
    b = _Builder(path)
    in_comment = False
    for n, raw in enumerate(lines[start:], start + 1):
        line = raw.rstrip()
        if in_comment or line.lstrip().startswith("<!--"):
            in_comment = "-->" not in line
            continue
        indented = raw.startswith((" ", "\t"))
        if m := _CHAPTER.match(line):
            b.close()
            b.chapter = m.group(1)
            b.titles[b.chapter] = m.group(2)
        elif _LABELS.match(line):
            b.close()
            b.labels = True
        elif m := _ENTRY.match(line):
            b.labels = False
            b.start(f"{m.group(1)}.{m.group(2)}", "show" if m.group(3) else "say", n)
        elif line.startswith("#"):
            b.fail(n, f"a heading must be '# key: Title', '## chapter.beat', '## chapter.name (on screen)' "
                      f"or '## on screen', got {line!r}")
        elif b.labels and not indented and (m := _LABEL.match(line)):
            b.start(f"{b.chapter}.{m.group(1)}", "show", n)
            b.text(m.group(2), n)
        elif b.labels and not indented and line.strip():
            b.fail(n, f"an on-screen list item is '- name: text', got {line.strip()[:40]!r}")
        elif b.entry is not None and not b.labels and not indented and (m := _WHEN.match(line)):
            b.variant(m.group(1), m.group(2), n)
        elif b.entry is not None and not b.labels and not indented and (m := _OTHERWISE.match(line)):
            b.variant(None, m.group(1), n)
        elif b.entry is not None:
            b.text(line, n)
        elif line.strip():
            b.fail(n, f"text outside a beat: {line.strip()[:40]!r} (start a beat with '## chapter.beat')")
    b.close()
    return Script(path, meta, b.titles, b.entries)


def load(source="en") -> Script:
    """The script of a language shipped with kdanim (``"en"``), or a script file's path."""
    path = SCRIPTS / f"{source}.md" if str(source) in LANGUAGES else Path(source)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ScriptError(f"{path}:{text_line(path, e.start)}: not UTF-8 text (byte {e.start})") from None
    script = parse(text, str(path))
    if str(source) not in LANGUAGES:  # a user's script: the shipped one of its language behind it
        script.fallback = load_cached(script.language if script.language in LANGUAGES else "en")
        for key, title in script.fallback.titles.items():
            script.titles.setdefault(key, title)
    return script


@functools.lru_cache(maxsize=8)
def _load_once(source: str, mtime_ns: int) -> Script:
    return load(source)


def load_cached(source="en") -> Script:
    """:func:`load`, parsed once per process while the file is unchanged (a lesson fills it per chapter)."""
    path = SCRIPTS / f"{source}.md" if str(source) in LANGUAGES else Path(source)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = -1  # let load() say what is wrong
    return _load_once(str(source), mtime)


def text_line(path: Path, offset: int) -> int:
    """The line number of byte ``offset`` of a file."""
    return path.read_bytes()[:offset].count(b"\n") + 1
