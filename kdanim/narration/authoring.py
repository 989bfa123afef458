"""Your own lesson: the facts a script may name, a script checked in full before a render, and a fact check
of the numbers written in its words.

    print(listing(facts, script.env.filters))    # `kdanim script --facts`: every fact, its value, its meaning
    check(script, shipped)                       # parse-time: beat ids, facts' names, formatters (ScriptError)
    check_filled(words, ["idea", "results"])     # every entry of these chapters filled for this run
    number_warnings(words, ["results"])          # "my.md:57: "95 percent" does not match this run: ..."

Every fact a script may use is in :data:`FACT_NOTES`, with its unit and what it means: the one list the
static check, `kdanim script --facts` and the fact check read (a test checks it against real runs).
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from jinja2 import nodes

from kdanim.files import atomic_write

from .script import CREDITS, SCRIPTS, Entry, Script, ScriptError, Variant, Words

__all__ = ["FACT_NOTES", "FORMATTER_NOTES", "schema", "flatten", "listing", "check", "check_filled",
           "number_warnings", "export", "LESSON_CONSTANTS"]

# -- the facts -------------------------------------------------------------------------------------

#: Units of the facts: what a number written in a script is compared with.
FRACTION, DIFF, POINTS, RATIO, COUNT, NUMBER, MICROS = "fraction", "difference", "points", "ratio", "count", "number", "µs"
FLAG, TEXT, LIST, DECIMAL = "yes/no", "text", "list", "decimal"


def _models() -> dict:
    out = {}
    for m, who in (("teacher", "the teacher"), ("scratch", "the student trained from scratch (labels only)"),
                   ("distilled", "the distilled student")):
        out.update({
            f"{m}.acc": (FRACTION, f"test accuracy of {who}"),
            f"{m}.params": (COUNT, f"parameters of {who}"),
            f"{m}.layers": (COUNT, f"hidden layers of {who}"),
            f"{m}.hidden": (LIST, f"hidden layer widths of {who}"),
            f"{m}.hidden.*": (COUNT, "the width of one hidden layer"),
            f"{m}.agreement": (FRACTION, f"share of test inputs where {who} predicts the teacher's class"),
            f"{m}.latency_us": (MICROS, f"measured time of one forward pass of {who} per input (0: not measured)"),
        })
    return out


def _setting(prefix: str, what: str) -> dict:
    return {f"{prefix}.tau": (NUMBER, f"τ of {what}"), f"{prefix}.alpha": (NUMBER, f"α of {what}"),
            f"{prefix}.gap": (FRACTION, f"share of the gap recovered by {what}, mean over seeds"),
            f"{prefix}.acc": (FRACTION, f"distilled accuracy of {what}, mean over seeds")}


#: Every fact a script may name: dotted name (``*`` = any item of a list) -> (unit, meaning).
FACT_NOTES: dict[str, tuple[str, str]] = {
    # the run's settings
    "tau": (NUMBER, "the distillation temperature τ"),
    "alpha": (NUMBER, "the weight α of the soft (KL) term: 0 = hard labels only, 1 = soft labels only"),
    "tau_sq": (NUMBER, "τ², the factor of the soft term"),
    "epochs": (COUNT, "student training epochs"),
    "seed": (NUMBER, "the root seed of the run"),
    "no_distillation": (FLAG, "α = 0: nothing is distilled"),
    "soft_only": (FLAG, "α = 1: the student never sees a label"),
    "sharpening": (FLAG, "τ < 1: dividing by τ sharpens the teacher's output"),
    "tau_is_one": (FLAG, "τ = 1: the soft labels are the teacher's own probabilities"),
    "softening": (FLAG, "τ > 1: the soft labels are softened"),
    "short_training": (FLAG, "fewer than 10 epochs"),
    # the data
    "dataset.name": (TEXT, "the dataset's name (rings, digits)"),
    "dataset.title": (TEXT, "what the dataset is, in words"),
    "dataset.view": (TEXT, "what the task chapter's scatter plot shows"),
    "dataset.images": (FLAG, "the examples are images"),
    "dataset.height": (COUNT, "image height in pixels (none without images)"),
    "dataset.width": (COUNT, "image width in pixels (none without images)"),
    "classes": (LIST, "the class names"),
    "classes.*": (TEXT, "a class name"),
    "class_words": (LIST, "the classes as said in a sentence ('digit 3')"),
    "class_words.*": (TEXT, "a class as said"),
    "n_classes": (COUNT, "how many classes"),
    "families": (LIST, "the classes' families (empty when the dataset has none)"),
    "families.*.name": (TEXT, "a family's name"),
    "families.*.members": (LIST, "the classes of a family"),
    "families.*.members.*": (TEXT, "a class of a family"),
    "pairs": (LIST, "the three class pairs the teacher finds most alike"),
    "pairs.*.a": (TEXT, "a pair's first class, as said"),
    "pairs.*.b": (TEXT, "a pair's second class, as said"),
    "pairs.*.a_name": (TEXT, "a pair's first class name"),
    "pairs.*.b_name": (TEXT, "a pair's second class name"),
    "pairs.*.p": (FRACTION, "the teacher's mean soft probability of the other class of the pair"),
    "n_features": (COUNT, "numbers per example"),
    "n_train": (COUNT, "labelled examples the students learn from"),
    "per_class": (COUNT, "labelled examples per class"),
    "n_transfer": (COUNT, "unlabelled inputs the distilled student learns the teacher's soft labels on"),
    "teacher_n_train": (COUNT, "labelled examples the teacher learned from"),
    "n_test": (COUNT, "held-out test examples every accuracy is measured on"),
    # the three networks
    **_models(),
    "gain": (DIFF, "distilled − scratch accuracy (a fraction: say it with points)"),
    "gain_points": (POINTS, "the same difference in points"),
    "helps": (FLAG, "the gain is at least 1 point"),
    "level": (FLAG, "the gain is within 1 point either way"),
    "hurts": (FLAG, "the distilled student is at least 1 point below the student from scratch"),
    "gap": (DIFF, "teacher − scratch accuracy (a fraction)"),
    "gap_points": (POINTS, "the same gap in points"),
    "gap_share": (FRACTION, "share of the teacher–scratch gap the distilled student closes"),
    "vs_teacher": (DIFF, "distilled − teacher accuracy (a fraction)"),
    "vs_teacher_points": (POINTS, "the same difference in points"),
    "reaches_teacher": (FLAG, "the distilled student is at least as accurate as the teacher"),
    "size_ratio": (RATIO, "teacher parameters / student parameters"),
    "latency_measured": (FLAG, "both latencies were measured"),
    "speed_ratio": (RATIO, "teacher latency / student latency (none when not measured)"),
    # the probe: the one test input the lesson follows
    "probe.word": (TEXT, "its class, as said ('cat', 'digit 3')"),
    "probe.name": (TEXT, "its class name"),
    "probe.teacher.word": (TEXT, "the teacher's prediction, as said"),
    "probe.teacher.name": (TEXT, "the teacher's prediction, a class name"),
    "probe.teacher.p": (FRACTION, "the teacher's probability for its prediction (τ = 1)"),
    "probe.teacher.right": (FLAG, "the teacher is right on the probe"),
    "probe.student.word": (TEXT, "the distilled student's prediction, as said"),
    "probe.student.name": (TEXT, "the distilled student's prediction, a class name"),
    "probe.student.p": (FRACTION, "the distilled student's probability for its prediction"),
    "probe.student.right": (FLAG, "the distilled student is right on the probe"),
    "probe.agree": (FLAG, "teacher and student predict the same class"),
    "probe.tau1.p": (FRACTION, "the teacher's probability for the true class at τ = 1"),
    "probe.tau1.second": (TEXT, "the runner-up class at τ = 1, as said"),
    "probe.tau1.p_second": (FRACTION, "the runner-up's probability at τ = 1"),
    "probe.soft.p": (FRACTION, "the teacher's probability for the true class at the run's τ"),
    "probe.soft.second": (TEXT, "the runner-up class at τ, as said"),
    "probe.soft.p_second": (FRACTION, "the runner-up's probability at τ"),
    "probe.soft.p_of_tau1_second": (FRACTION, "at τ, the probability of the runner-up at τ = 1"),
    "probe.soft.top_is_true": (FLAG, "at τ the true class is still the most probable"),
    "probe.kl": (DECIMAL, "KL(teacher ‖ student) on the probe at τ"),
    "probe.close": (FLAG, "that KL is at most 0.05"),
    "probe.max_diff": (DIFF, "the largest difference between the two distributions (τ = 1)"),
    "probe.follows": (FLAG, "every probability within 5 points of the teacher's"),
    # how soft the teacher's labels are
    "soft.true_p": (FRACTION, "the teacher's mean probability for the true class at τ, on the test set"),
    "soft.uniform": (FRACTION, "a blind guess: 1 / classes"),
    "soft.entropy_share": (FRACTION, "the soft labels' mean entropy as a share of the largest possible"),
    "soft.nearly_uniform": (FLAG, "that share is at least 0.95"),
    # training
    "training.first.combined": (DECIMAL, "the combined loss after the first epoch"),
    "training.half_epoch": (COUNT, "the epoch halfway through"),
    "training.half.combined": (DECIMAL, "the combined loss halfway"),
    "training.last.hard": (DECIMAL, "the hard (cross-entropy) loss at the end"),
    "training.last.soft": (DECIMAL, "the soft (KL) loss at the end"),
    "training.last.combined": (DECIMAL, "the combined loss at the end"),
    "training.last.acc": (FRACTION, "the distilled student's test accuracy at the end"),
    "training.loss_fell": (FLAG, "the combined loss fell over training"),
    "training.half_fell": (FLAG, "it had fallen by halfway"),
    "kl.first": (DECIMAL, "mean KL(teacher ‖ student) after the first epoch"),
    "kl.last": (DECIMAL, "the same at the end"),
    "kl.fell": (FLAG, "the KL fell"),
    "kl.half_closer": (FLAG, "the KL was lower halfway than at the start"),
    "kl.probe_half_closer": (FLAG, "the probe's bars were closer to the teacher's halfway than at the start"),
    "kl.stops": (LIST, "the distinct stops of the KL chapter: start, middle, end"),
    "kl.stops.*": (TEXT, "a stop"),
    **{f"kl.{stop}.{k}": (unit, f"{what} at the {stop} stop") for stop in ("start", "middle", "end")
       for k, unit, what in (("epoch", COUNT, "the epoch"), ("kl", DECIMAL, "the probe's KL"),
                             ("student_p", FRACTION, "the student's probability for the probe's class"),
                             ("teacher_p", FRACTION, "the teacher's probability for it (at τ)"))},
    "trace_hash": (TEXT, "the first 16 digits of the trace's content hash"),
    # a sweep (--sweep)
    "sweep.n_runs": (COUNT, "runs in the sweep"),
    "sweep.epochs": (COUNT, "epochs of every run"),
    "sweep.taus": (LIST, "the grid's τ values"),
    "sweep.taus.*": (NUMBER, "a τ of the grid"),
    "sweep.alphas": (LIST, "the grid's α values"),
    "sweep.alphas.*": (NUMBER, "an α of the grid"),
    "sweep.n_seeds": (COUNT, "seeds per setting"),
    "sweep.n_settings": (COUNT, "(τ, α) settings"),
    "sweep.n_distilling": (COUNT, "settings with α > 0"),
    "sweep.n_compared": (COUNT, "settings compared (those that distil; all when none does)"),
    "sweep.teacher": (FRACTION, "the teacher's mean accuracy"),
    "sweep.scratch": (FRACTION, "the student from scratch's mean accuracy"),
    **_setting("sweep.best", "the best setting"), **_setting("sweep.worst", "the worst setting"),
    **_setting("sweep.best_ties.*", "a setting tied with the best"),
    **_setting("sweep.worst_ties.*", "a setting tied with the worst"),
    "sweep.best_ties": (LIST, "settings tied with the best, as the heatmap rounds them"),
    "sweep.worst_ties": (LIST, "settings tied with the worst"),
    "sweep.best_helps": (FLAG, "the best setting recovers some of the gap"),
    "sweep.ranked": (FLAG, "the settings can be ranked (several, not all tied, a gap to recover)"),
    "sweep.gap_open": (FLAG, "in every run the teacher beats the student from scratch"),
    "sweep.any_negative": (FLAG, "some setting did worse than the student from scratch"),
    "sweep.has_alpha0": (FLAG, "the grid has α = 0"),
    "sweep.all_alpha0": (FLAG, "every setting has α = 0"),
    "sweep.seed_spread_max": (DIFF, "the most the seed moves a setting's accuracy (a fraction)"),
    "sweep.seed_spread_mean": (DIFF, "how much the seed moves it on average"),
    "sweep.setting_range": (DIFF, "the span of the settings' mean accuracies"),
    "sweep.best_tau_by_seed": (LIST, "per seed, the τ of its best run (several when they tie)"),
    "sweep.best_tau_by_seed.*": (LIST, "one seed's best τ values"),
    "sweep.best_tau_by_seed.*.*": (NUMBER, "a best τ"),
    "sweep.best_taus": (LIST, "each best τ with how many seeds have it"),
    "sweep.best_taus.*.tau": (NUMBER, "a best τ"),
    "sweep.best_taus.*.seeds": (COUNT, "seeds whose best run has it"),
    "sweep.tied_seeds": (COUNT, "seeds whose best runs tie between temperatures"),
    "sweep.choice_matters": (FLAG, "the settings' span is larger than the seed's mean effect"),
    "sweep.seed_matters": (FLAG, "the seed's mean effect is larger than the settings' span"),
    # the lesson's credits (options, or the script's front matter)
    **{f"credits.{k}": (TEXT, f"the lesson's {k} (--{k}, or '{k}:' in the front matter; empty when none)")
       for k in CREDITS},
}

#: The formatters, what each does and an example: `kdanim script --facts` shows them with this language's output.
FORMATTER_NOTES = {
    "percent": ("a fraction as spoken percent (decimals)", 0.9213, (1,)),
    "points": ("a difference of fractions in points, unsigned", 0.026, ()),
    "count": ("a count as a lecturer says it", 120389, ()),
    "number": ("a setting as the user wrote it", 0.5, ()),
    "small": ("a small whole number in words", 3, ()),
    "ratio": ("a factor", 15.08, ()),
    "micros": ("microseconds", 3.21, ()),
    "decimal": ("a plain decimal (places)", 0.29446, (4,)),
    "widths": ("hidden layer widths in words", [228, 228, 228], ()),
    "spoken_list": ("a list said with its last 'and'", ["cat", "dog", "fox"], ()),
    "pct": ("on screen: a percentage (decimals, default 1)", 0.9213, ()),
    "thousands": ("on screen: a count with separators", 120389, ()),
    "num": ("on screen: a short number", 0.5, ()),
    "signed": ("on screen: a signed number (decimals)", 2.6, ()),
}

#: Numbers that name the method's reference points, not the run's setting: τ = 1, α = 0, α = 1.
LESSON_CONSTANTS = {"tau": {1.0}, "alpha": {0.0, 1.0}}


def schema() -> set[str]:
    """Every fact name a script may use (``*``: an item of a list)."""
    return set(FACT_NOTES)


def flatten(value, prefix: str = "") -> list[tuple[str, object]]:
    """The facts as dotted names (Jinja's: ``pairs[0].a``) and values; a list of plain values stays whole."""
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in flatten(v, f"{prefix}.{k}" if prefix else k)]
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return [x for i, v in enumerate(value) for x in flatten(v, f"{prefix}[{i}]")]
    return [(prefix, value)]


def _schema_name(name: str) -> str:
    return re.sub(r"\[\d+\]", ".*", name)


def _shown(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "none" if v is None else json.dumps(v, ensure_ascii=False)


def listing(facts: dict, filters: dict) -> str:
    """`kdanim script --facts`: every fact of this run with its value and meaning, then the formatters."""
    rows = [(n, _shown(v), FACT_NOTES.get(_schema_name(n), ("", ""))[1]) for n, v in flatten(facts)]
    w = max(len(n) for n, _, _ in rows)
    out = ["# The facts of this run: write {{ name }} in a script's text, or name them in a `- when` condition.",
           "# Fractions are fractions (0.921): say them with a formatter, {{ distilled.acc | percent(1) }}.", ""]
    out += [f"{n:<{w}}  {v:<22} {what}" if len(v) <= 22 else f"{n:<{w}}  {v}\n{'':<{w + 25}}{what}"
            for n, v, what in rows]
    out += ["", "# Formatters: {{ fact | name }} or {{ fact | name(argument) }}; Jinja's own too (join, length, round)."]
    for name, (what, example, args) in FORMATTER_NOTES.items():
        call = f"{name}({', '.join(map(str, args))})" if args else name
        try:
            said = filters[name](example, *args)
        except Exception:  # a language without this example's form
            said = "?"
        out.append(f"{call:<12} {_shown(example) + ' → ' + said:<50} {what}")
    return "\n".join(out)


# -- the static check: ids, the facts' names, formatters -------------------------------------------

def _line(v: Variant, lineno: int | None) -> int:
    return v.lines[lineno - 1] if v.lines and lineno and 0 < lineno <= len(v.lines) else v.line


def _display(path: str) -> str:
    return path.replace(".*", "[i]")


def _names(tree) -> list[tuple[str, int]]:
    """The fact paths a template reads, with their template lines (loop variables followed to their list)."""
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    aliases: dict[str, str | None] = {}
    found: list[tuple[str, int]] = []

    def path_of(node):
        if isinstance(node, nodes.Name):
            if node.name in aliases:
                return aliases[node.name]
            if node.name in assigned or node.name == "loop":
                return None
            return node.name
        if isinstance(node, nodes.Getattr):
            base = path_of(node.node)
            return base and f"{base}.{node.attr}"
        if isinstance(node, nodes.Getitem):
            base = path_of(node.node)
            if base is None:
                return None
            arg = node.arg
            return f"{base}.{arg.value}" if isinstance(arg, nodes.Const) and isinstance(arg.value, str) else f"{base}.*"
        return None

    def visit(node):
        if isinstance(node, nodes.For):
            visit(node.iter)
            base = path_of(node.iter) if isinstance(node.iter, (nodes.Name, nodes.Getattr, nodes.Getitem)) else None
            if isinstance(node.target, nodes.Name):
                aliases[node.target.name] = base and f"{base}.*"
            for child in (*node.body, *node.else_, *([node.test] if node.test else [])):
                visit(child)
            return
        if isinstance(node, (nodes.Name, nodes.Getattr, nodes.Getitem)) and getattr(node, "ctx", "load") == "load":
            p = path_of(node)
            if p is not None:
                found.append((p, node.lineno))
            if isinstance(node, nodes.Getitem):
                visit(node.arg)
            inner = node
            while isinstance(inner, (nodes.Getattr, nodes.Getitem)):
                inner = inner.node
                if isinstance(inner, nodes.Getitem):
                    visit(inner.arg)
            if not isinstance(inner, nodes.Name):
                visit(inner)
            return
        for child in node.iter_child_nodes():
            visit(child)

    visit(tree)
    return found


def _prefix_of(parts: list[str], key: list[str]) -> bool:
    """``parts`` names ``key`` or a part around it (``*``: any item or key, kl[s] for kl.start)."""
    return len(parts) <= len(key) and all(p == k or "*" in (p, k) for p, k in zip(parts, key))


def _known(path: str, known: set[str]) -> bool:
    keys = [k.split(".") for k in known]
    parts = path.split(".")
    if any(_prefix_of(parts, k) for k in keys):
        return True
    # a method or attribute of a plain value: dataset.title.upper
    return any(any(len(k) == i and _prefix_of(parts[:i], k) for k in keys)
               and not any(len(k) > i and _prefix_of(parts[:i], k) for k in keys) for i in range(1, len(parts)))


def _close(name: str, choices) -> str:
    close = difflib.get_close_matches(name, sorted(choices), n=3, cutoff=0.6)
    return f" (did you mean: {', '.join(close)}?)" if close else ""


def _trees(script: Script, v: Variant):
    """(template tree, is condition) of a variant's text and condition."""
    yield script.env.parse(v.text), False
    if v.condition is not None:
        yield script.env.parse("{{ " + v.condition + " }}"), True


def check(script: Script, shipped: Script) -> None:
    """Fail (ScriptError, ``file:line: ...``) on the first entry the shipped script does not have, the first
    fact no run has and the first formatter that does not exist. Syntax was checked when it was parsed."""
    path = script.path
    known = schema()
    globals_ = set(script.env.globals)
    for entry in script.entries.values():
        _check_id(script, shipped, entry)
        for v in entry.variants:
            for tree, is_condition in _trees(script, v):
                for node in tree.find_all((nodes.Filter, nodes.Test)):
                    table = script.env.filters if isinstance(node, nodes.Filter) else script.env.tests
                    if node.name not in table:
                        what = "formatter" if isinstance(node, nodes.Filter) else "test"
                        at = v.line if is_condition else _line(v, node.lineno)
                        raise ScriptError(f"{path}:{at}: unknown {what} {node.name!r}{_close(node.name, table)}")
                for name, lineno in _names(tree):
                    if name.split(".")[0] in globals_ or _known(name, known):
                        continue
                    at = v.line if is_condition else _line(v, lineno)
                    raise ScriptError(f"{path}:{at}: unknown fact {_display(name)!r}"
                                      f"{_close(_display(name), {_display(k) for k in known})}")


def _check_id(script: Script, shipped: Script, entry: Entry) -> None:
    where = f"{script.path}:{entry.line}"
    theirs = shipped.entries.get(entry.id)
    kind = "beat" if entry.kind == "say" else "on-screen words"
    if theirs is None:
        key = entry.id.split(".", 1)[0]
        if key not in shipped.titles:
            raise ScriptError(f"{where}: unknown chapter {key!r}{_close(key, shipped.titles)} "
                              f"(`kdanim chapters` lists them)")
        same = [i for i, e in shipped.entries.items() if e.kind == entry.kind]
        raise ScriptError(f"{where}: unknown {kind} {entry.id!r}: the lesson has no such {kind}"
                          f"{_close(entry.id, same)}")
    if theirs.kind != entry.kind:
        raise ScriptError(f"{where}: {entry.id} is {'a spoken beat' if theirs.kind == 'say' else 'on-screen words'}"
                          f" in the lesson, not {'a spoken beat' if entry.kind == 'say' else 'on-screen words'}")


def check_filled(words: Words, keys) -> None:
    """Fill every entry of the chapters ``keys`` (and the fallback's on-screen words) with this run's facts."""
    for key in keys:
        for i in words.script.chapter_ids(key):
            words.say(i) if words.script.entry(i).kind == "say" else words.show(i)


# -- the fact check of written numbers ----------------------------------------------------------------

@dataclass(frozen=True)
class _Words:
    """How a language writes numbers and their units (regular expressions, matched case-insensitively)."""

    number: str  # a number with its thousands and decimal separators: groups (integer part, decimals)
    group: str
    percent: str
    points: str
    times: str
    micros: str
    scales: dict
    about: str
    over: str
    under: str
    nouns: dict  # noun after the number -> fact name patterns
    before: dict  # word before the number -> fact kinds (tau, alpha, seed, epoch)
    subjects: dict  # a word of the sentence -> fact name patterns it is about


_COUNTS = ["n_train", "n_test", "n_transfer", "teacher_n_train", "per_class"]
_EN = _Words(
    number=r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?", group=",",
    percent=r"\s*%|\s+per\s?cent\b", points=r"\s+(?:percentage\s+)?points?\b", times=r"\s*[×x](?![^\W\d_])|\s+times\b|-fold\b",
    micros=r"\s*(?:µs|microseconds?)\b", scales={"thousand": 1e3, "million": 1e6, "billion": 1e9},
    about=r"about|around|roughly|nearly|almost|approximately|some|close to",
    over=r"over|more than|above|at least", under=r"under|below|less than|at most|within|up to",
    nouns={r"epochs?": ["epochs", "sweep.epochs", "training.half_epoch"], r"param(?:eter)?s?|weights": ["*.params"],
           r"class(?:es)?": ["n_classes"], r"labels?|labell?ed": ["n_train", "teacher_n_train", "per_class"],
           r"examples?|inputs?|images?|samples?": _COUNTS, r"features|numbers": ["n_features"],
           r"(?:hidden\s+)?layers?": ["*.layers"], r"units|neurons|nodes": ["*.hidden[*]"],
           r"runs?": ["sweep.n_runs"], r"seeds": ["sweep.n_seeds"], r"settings": ["sweep.n_settings"],
           r"pixels?": ["dataset.height", "dataset.width"]},
    before={r"seed": "seed", r"tau|τ|temperature": "tau", r"alpha|α": "alpha", r"epoch": "epoch"},
    subjects={r"teacher": ["teacher.*", "probe.teacher.*", "sweep.teacher"],
              r"distilled(?:\s+student)?": ["distilled.*", "probe.student.*", "training.last.acc", "sweep.best.*"],
              r"student\s+from\s+scratch|scratch|baseline|on\s+its\s+own": ["scratch.*", "sweep.scratch"],
              r"student": ["distilled.*", "scratch.*", "probe.student.*", "training.last.acc"]},
)
_DE = _Words(
    number=r"(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?", group=".",
    percent=r"\s*%|\s+Prozent\b(?!punkt)", points=r"\s+(?:Prozent)?[Pp]unkte?\b|\s+Prozentpunkte?n?\b",
    times=r"\s*[×x](?![^\W\d_])|-?mal\b|-fach\b", micros=r"\s*(?:µs|Mikrosekunden?)\b",
    scales={"tausend": 1e3, "millionen": 1e6, "million": 1e6, "milliarden": 1e9, "milliarde": 1e9},
    about=r"etwa|ungefähr|rund|circa|fast|beinahe|knapp", over=r"über|mehr als|mindestens",
    under=r"unter|weniger als|höchstens|innerhalb von|bis zu",
    nouns={r"Epochen?": ["epochs", "sweep.epochs", "training.half_epoch"], r"Parametern?|Gewichte": ["*.params"],
           r"Klassen?": ["n_classes"], r"Labels?|gelabelte": ["n_train", "teacher_n_train", "per_class"],
           r"Beispielen?|Beispiele|Eingaben?|Bilder[n]?|Punkte": _COUNTS, r"Merkmalen?|Zahlen": ["n_features"],
           r"(?:verborgenen?\s+)?Schichten?": ["*.layers"], r"Einheiten|Neuronen|Knoten": ["*.hidden[*]"],
           r"Läufen?|Läufe": ["sweep.n_runs"], r"Seeds": ["sweep.n_seeds"], r"Pixeln?": ["dataset.height", "dataset.width"]},
    before={r"Seed": "seed", r"tau|τ|Temperatur": "tau", r"alpha|α": "alpha", r"Epoche": "epoch"},
    subjects={r"Lehrer\w*": ["teacher.*", "probe.teacher.*", "sweep.teacher"],
              r"destillierte\w*(?:\s+Schüler\w*)?": ["distilled.*", "probe.student.*", "training.last.acc"],
              r"Schüler\w*\s+ohne\s+Lehrer|ohne\s+Lehrer|von\s+Grund\s+auf|allein": ["scratch.*", "sweep.scratch"],
              r"Schüler\w*": ["distilled.*", "scratch.*", "probe.student.*", "training.last.acc"]},
)
_LANG_WORDS = {"en": _EN, "de": _DE}
_BEFORE_FACTS = {"seed": ["seed"], "tau": ["tau", "sweep.taus[*]", "sweep.best.tau", "sweep.worst.tau"],
                 "alpha": ["alpha", "sweep.alphas[*]", "sweep.best.alpha", "sweep.worst.alpha"],
                 "epoch": ["epochs", "training.half_epoch", "kl.*.epoch", "sweep.epochs"]}


@dataclass(frozen=True)
class _Literal:
    text: str  # as written: "95 percent"
    value: float  # in its unit: 95.0 (percent), 120000 (a count)
    decimals: int
    unit: str  # percent, points, times, micros, count, number
    patterns: tuple  # fact name patterns it is compared with
    modifier: str | None  # about, over, under
    offset: int
    zeros: int = 0  # trailing zeros of a whole number as written ("about 90 percent": to the ten)


def _untemplated(text: str) -> str:
    """The text with every Jinja tag replaced by a mark (its newlines kept, so lines still count)."""
    return re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", lambda m: "□" + "\n" * m.group(0).count("\n"), text, flags=re.S)


def _literals(text: str, w: _Words):
    """The numbers written in ``text`` that claim something of a run: with a unit, a counted noun, or a setting."""
    plain = _untemplated(text)
    flags = re.I
    for m in re.finditer(r"(?<![\w.,□])" + w.number, plain):
        rest, before = plain[m.end():], plain[:m.start()]
        if re.match(r"[^\W\d_]", rest) and not re.match(w.times, rest, flags):
            continue  # part of a word: 3D, 2nd, L2
        whole = m.group(1).replace(w.group, "")
        value = float(whole + ("." + m.group(2) if m.group(2) else ""))
        decimals = len(m.group(2) or "")
        mod = next((k for k, rx in (("about", w.about), ("over", w.over), ("under", w.under))
                    if re.search(rf"\b(?:{rx})\s*$", before, flags)), None)
        unit, patterns, end = None, (), m.end()
        for name, rx, pats in (("percent", w.percent, ("@fraction",)), ("points", w.points, ("@difference",)),
                               ("times", w.times, ("@ratio",)), ("micros", w.micros, ("@µs",))):
            if u := re.match(rx, rest, flags):
                unit, patterns, end = name, pats, m.end() + u.end()
                break
        if unit is None:
            scale = re.match(r"\s+(" + "|".join(w.scales) + r")\b", rest, flags)
            after = rest[scale.end():] if scale else rest
            noun = next(((pats, n.end()) for rx, pats in w.nouns.items()
                         if (n := re.match(rf"[\s-]+(?:more\s+|weitere\s+)?(?:{rx})\b", after, flags))), None)
            setting = re.search(r"(?:^|[\s(])(" + "|".join(w.before) + r")\s*(?:=|:)?\s*$", before, flags)
            if noun:
                unit, patterns = "count", tuple(noun[0])
                end = m.end() + (scale.end() if scale else 0) + noun[1]
            elif scale:
                unit, patterns, end = "count", ("@count",), m.end() + scale.end()
            elif setting:
                kind = next(k for rx, k in w.before.items() if re.fullmatch(rx, setting.group(1), flags))
                if value in LESSON_CONSTANTS.get(kind, ()):
                    continue  # τ = 1, α = 0: the method's reference points
                unit, patterns = "number", tuple(_BEFORE_FACTS[kind])
            else:
                continue  # a number that claims nothing of the run: a year, "digit 3", "step 2"
            if scale:
                value *= w.scales[scale.group(1).lower()]
                decimals -= round(math.log10(w.scales[scale.group(1).lower()]))
        zeros = len(whole) - len(whole.rstrip("0")) if not m.group(2) and whole.strip("0") else 0
        yield _Literal(plain[m.start():end].strip(), value, decimals, unit, patterns, mod, m.start(), zeros)


def _numbers(facts: dict) -> list[tuple[str, float]]:
    """Every number among the facts (list items too: ``teacher.hidden[0]``)."""
    out = []

    def walk(v, name):
        if isinstance(v, bool) or v is None:
            return
        if isinstance(v, (int, float)):
            if math.isfinite(v):
                out.append((name, float(v)))
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{name}.{k}" if name else k)
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, f"{name}[{i}]")

    walk(facts, "")
    return out


def _unit(name: str) -> str:
    return FACT_NOTES.get(_schema_name(name), ("", ""))[0]


def _candidates(lit: _Literal, numbers) -> list[tuple[str, float, str, int]]:
    """(fact, its value in the literal's unit, how to write it, rank) of every fact the literal may mean; the
    rank is the order of the patterns that found it ("50 epochs": epochs before the epoch halfway)."""
    out = []
    for name, x in numbers:
        unit = _unit(name)
        for rank, pattern in enumerate(lit.patterns):
            if pattern.startswith("@"):
                want = pattern[1:]
                if lit.unit == "percent" and unit in (FRACTION, DIFF):
                    out.append((name, 100 * abs(x), name, rank))
                elif lit.unit == "points" and unit == DIFF:
                    out.append((name, 100 * abs(x), name, rank))
                elif lit.unit == "times" and unit == RATIO and x:
                    out += [(name, x, name, rank), (name, 1 / x, f"(1 / {name})", rank)]
                elif unit == want and lit.unit not in ("percent", "points", "times"):
                    out.append((name, x, name, rank))
                else:
                    continue
                break
            if fnmatch(name, pattern.replace("[*]", "[[]*[]]")) or name == pattern:
                out.append((name, x, name, rank))
                break
    return out


def _matches(lit: _Literal, x: float) -> bool:
    step = 10.0 ** -lit.decimals
    if lit.modifier == "over":
        return x > lit.value - 1e-9
    if lit.modifier == "under":
        return x < lit.value + 1e-9
    if lit.modifier == "about":
        return abs(x - lit.value) <= max(0.5 * step * 10 ** lit.zeros, 0.05 * abs(lit.value)) + 1e-9
    return abs(x - lit.value) <= 0.5 * step + 1e-9


def _subject(before: str, w: _Words) -> list[str] | None:
    """The fact patterns the sentence is about, by the nearest subject word before the number."""
    sentence = re.split(r"[.!?;]\s|\n", before)[-1]  # its sentence (a line, on screen)
    best = None
    for rx, pats in w.subjects.items():
        for m in re.finditer(rf"\b(?:{rx})\b", sentence, re.I):
            if best is None or m.end() > best[0] or (m.end() == best[0] and m.start() < best[1]):
                best = (m.end(), m.start(), pats)
    return best[2] if best else None


def _formatter(lit: _Literal, kind: str, name: str) -> str:
    spoken = kind == "say"
    if lit.unit == "percent":
        d = max(lit.decimals, 1 if name.endswith(".acc") else 0)  # accuracies: to a tenth, as the lesson says them
        return (f"percent({d})" if d else "percent") if spoken else (f"pct({d})" if d != 1 else "pct")
    if lit.unit == "points":
        return f"points({lit.decimals})" if lit.decimals > 0 else "points"
    if lit.unit == "times":
        return "ratio"
    if lit.unit == "micros":
        return "micros"
    if lit.unit == "number":
        return "number" if spoken else "num"
    if spoken and (lit.modifier == "about" or lit.decimals < 0):
        return "count"
    return "thousands" if lit.value >= 1000 else ""


def _write(filters: dict, fmt: str, value: float) -> str:
    name, _, args = fmt.partition("(")
    try:
        return filters[name](value, *[int(a) for a in args.rstrip(")").split(",") if a]) if name else f"{value:g}"
    except Exception:
        return f"{value:g}"


def number_warnings(words: Words, keys, language: str | None = None) -> list[str]:
    """One line per number written in the words of the chapters ``keys`` (as this run says or shows them)
    that is not a fact of this run: where, the nearest fact of its kind, and the placeholder to write.

    A number that is this run's (as a formatter would write it, at the precision written) passes in
    silence. Only numbers that claim something are read: with a unit (percent, points, times, µs), a
    counted noun ("50 epochs", "120 thousand parameters") or after a setting's name ("seed 3", "τ = 2").
    """
    script = words.script
    w = _LANG_WORDS.get(language or script.language, _EN)
    numbers = _numbers(words.facts)
    out = []
    for key in keys:
        for i in script.chapter_ids(key):
            if i not in script.entries:
                continue  # the shipped script's words (a fallback)
            v = words.chosen(i)
            if v is None:
                continue
            plain = _untemplated(v.text)
            for lit in _literals(v.text, w):
                cands = _candidates(lit, numbers)
                if not cands:
                    continue
                about = _subject(plain[:lit.offset], w) if lit.unit in ("percent", "points") else None
                mine = [c for c in cands if about and any(fnmatch(c[0], p) for p in about)] or cands
                if any(_matches(lit, c[1]) for c in mine):
                    continue
                # what a sentence about a network claims in percent is most often its accuracy
                accs = [c for c in mine if lit.unit == "percent" and c[0].endswith(".acc")]
                name, x, expr, _ = min(accs or mine, key=lambda c: (c[3], abs(c[1] - lit.value)))
                fmt = _formatter(lit, script.entries[i].kind, name)
                fact_value = dict(numbers)[name]
                value = 1 / fact_value if expr.startswith("(1 /") else fact_value
                other = next((c[0] for c in cands if c not in mine and _matches(lit, c[1])), None)
                line = _line(v, plain[:lit.offset].count("\n") + 1)
                out.append(f"{script.path}:{line}: {lit.text!r} does not match this run: the nearest fact is "
                           f"{name} = {_write(script.env.filters, fmt, value)}"
                           + (f" ({lit.text} is {other})" if other else "")
                           + f"; write {{{{ {expr}{' | ' + fmt if fmt else ''} }}}}")
    return out


# -- exporting ---------------------------------------------------------------------------------------

def export(language: str = "en", out=None, force: bool = False) -> str:
    """The shipped script of ``language`` as text, written to ``out`` if given (FileExistsError when ``out``
    exists and not ``force``: an edited script is never overwritten by accident)."""
    text = (SCRIPTS / f"{language}.md").read_text(encoding="utf-8")
    if out is not None:
        out = Path(out)
        if out.exists() and not force:
            raise FileExistsError(f"{out} exists: it may hold your edits (add --force to overwrite it)")
        atomic_write(out, text)
    return text
