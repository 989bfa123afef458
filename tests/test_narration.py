"""The lesson's words are data, chosen by the facts of the run: true of every run in an adverse grid."""

import ast
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kdanim import facts as factsmod
from kdanim.cli import main
from kdanim.narration import script as scriptmod
from kdanim.render import RenderOptions
from kdanim.render.cache import chapter_key
from kdanim.render.options import ChapterJob
from kdanim.scenes import lesson_order
from kdanim.sim.config import SimConfig
from kdanim.trace import simulate_trace

ROOT = Path(__file__).resolve().parent.parent

#: Runs where the default lesson's sentences would be false (issue 16), and a few more.
ADVERSE = {
    "default": {},
    "alpha0": {"alpha": 0.0, "epochs": 20},
    "alpha1_tau20_e5": {"alpha": 1.0, "tau": 20.0, "epochs": 5},
    "student_270x": {"teacher_hidden": "16", "student_hidden": "512,512", "epochs": 5},
    "tau0.3_alpha0.9": {"tau": 0.3, "alpha": 0.9, "epochs": 20},
    "tau1": {"tau": 1.0, "epochs": 20},
    "one_epoch": {"epochs": 1},
    "digits_failing": {"dataset": "digits", "alpha": 1.0, "tau": 30.0, "epochs": 3},
    "student_as_large": {"teacher_hidden": "114", "student_hidden": "114", "epochs": 20},
}


@pytest.fixture(scope="module")
def adverse(adverse_traces):
    """{name: (trace, facts, words)} for every run of the grid (latency unmeasured: reproducible)."""
    script = scriptmod.load("en")
    out = {}
    for name, tr in adverse_traces.items():
        for k in {0, 1, 2}:  # several probes: the teacher or the student is wrong on some
            f = factsmod.run_facts(tr, k)
            out[(name, k)] = (tr, f, script.fill(f))
    return out


def all_words(words):
    """Every entry of the script filled for a run (sweep chapter aside): {id: text}."""
    out = {}
    for key in words.script.titles:
        if key != "choosing":
            out.update(words.chapter(key))
    return out


def test_the_shipped_script_parses_and_fills_on_every_adverse_run(adverse):
    for (name, k), (_, _, words) in adverse.items():
        for i, text in all_words(words).items():
            assert "{{" not in text and "{%" not in text, (name, i, text)
            assert "None" not in text.split() and "nan" not in text.lower().split(), (name, i, text)


def test_each_chosen_variant_is_the_first_whose_condition_holds(adverse):
    """Checkable by construction: evaluate every variant's condition on the same facts."""
    env = scriptmod.load("en").env
    for (name, k), (_, f, words) in adverse.items():
        for i, entry in words.script.entries.items():
            if i.startswith("choosing."):
                continue
            chosen = words.chosen(i)
            truth = [v.condition is None or bool(env.compile_expression(v.condition)(**f)) for v in entry.variants]
            assert chosen is entry.variants[truth.index(True)], (name, k, i)


# Forms that cannot be true of a run, with the facts under which they are forbidden.
IMPOSSIBLE = [
    (r"\b0 times\b|\bminus \d", lambda f: True, "a zero or negative ratio said aloud"),
    (r"minus [\d.]+ percent of the gap|closes minus", lambda f: True, "a negative share of the gap"),
    (r"follows the teacher", lambda f: not (f["probe"]["agree"] and f["probe"]["close"]), "'follows' where they differ"),
    (r"\bcorrectly\b", lambda f: not f["probe"]["teacher"]["right"], "'correctly' where the teacher is wrong"),
    (r"(?<!no )(?<!not )\bsmaller\b(?! than its teacher)|times fewer", lambda f: f["size_ratio"] <= 1,
     "'smaller' where the student is not"),
    (r"(?<!not much )\bfaster\b", lambda f: not (f["speed_ratio"] or 0) > 1, "'faster' where it is not"),
    (r"(?<!not )(?<!is )\bsoftened\b|\bsofter\b", lambda f: f["tau"] <= 1, "'softened' at τ ≤ 1"),
    (r"points? above the student from scratch", lambda f: f["gain"] <= 0, "'above' where it is not"),
    (r"points? below the student from scratch", lambda f: f["gain"] >= 0, "'below' where it is not"),
    (r"closes \S+ percent of the gap|closing \S+ percent of the gap", lambda f: not f["helps"], "a gap closed where none was"),
    (r"with the teacher's soft labels", lambda f: f["no_distillation"], "soft labels credited at α = 0"),
    (r"the whole gap|all of the gap", lambda f: not f["reaches_teacher"], "'the whole gap' where it is not"),
    (r"teaches a student", lambda f: f["no_distillation"], "'teaches' at α = 0"),
    (r"distillation hurt|cost \d", lambda f: not f["hurts"], "'hurt' where it did not"),
]


@pytest.mark.parametrize("pattern,forbidden,what", IMPOSSIBLE, ids=[w for _, _, w in IMPOSSIBLE])
def test_no_sentence_that_cannot_be_true(adverse, pattern, forbidden, what):
    for (name, k), (_, f, words) in adverse.items():
        if not forbidden(f):
            continue
        for i, text in all_words(words).items():
            assert not re.search(pattern, text), f"{name} (probe {k}) {i}: {what}: {text}"


def test_the_adverse_runs_get_their_own_sentences(adverse):
    """The four runs of the issue now say what is true of them."""
    said = {name: all_words(w) for (name, k), (_, _, w) in adverse.items() if k == 0}
    assert "never used the teacher's soft labels" in said["alpha0"]["results.gain"]
    assert "nothing was distilled" in said["alpha0"]["results.plot"]
    assert "below the student from scratch" in said["alpha1_tau20_e5"]["results.gain"]
    assert "nearly uniform" in said["alpha1_tau20_e5"]["results.why"]
    assert "larger network" in said["student_270x"]["networks.student"]
    assert "not smaller" in said["student_270x"]["results.size"]
    assert "sharpens" in said["tau0.3_alpha0.9"]["idea.dark_knowledge"]
    assert "softened" not in said["tau1"]["idea.dark_knowledge"].replace("not softened", "")
    assert "very short" in said["one_epoch"]["results.why"] or said["one_epoch"]["results.why"] == ""


def test_the_default_run_keeps_its_tone(adverse):
    said = all_words(adverse[("default", 0)][2])
    assert re.search(r"reaches \d+\.\d percent: \d points above the student from scratch", said["results.gain"])
    assert re.search(r"closes \d+ percent of the gap", said["results.plot"])
    assert "about 120 thousand parameters" in said["results.table"]
    assert said["results.why"] == ""  # distillation helps: nothing to explain


def test_narration_prints_every_beat_and_changes_with_the_run(tmp_path):
    tr = simulate_trace(SimConfig(epochs=5), measure_latency=False)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(tr))
    run = CliRunner().invoke(main, ["narration", "--trace", str(path), "--json"])
    assert run.exit_code == 0, run.output
    got = json.loads(run.output)
    assert [c["chapter"] for c in got] == [c.number for c in lesson_order()]
    ids = [b["id"] for c in got for b in c["beats"]]
    assert "results.gain" in ids and all(b["text"] for c in got for b in c["beats"])
    text = CliRunner().invoke(main, ["narration", "--trace", str(path), "--chapters", "8"]).output
    assert text.startswith("## 8. Compression results") and "[results.gain]" in text
    tr0 = {**tr, "config": {**tr["config"], "alpha": 0.0}}
    path.write_text(json.dumps(tr0))
    assert "alpha zero" in CliRunner().invoke(main, ["narration", "--trace", str(path), "--chapters", "8"]).output


def test_narration_usage_errors_are_one_line(tmp_path):
    for args in (["--tau", "0"], ["--trace", str(tmp_path / "missing.json")], ["--chapters", "99"],
                 ["--probe-class", "zebra"]):
        run = CliRunner().invoke(main, ["narration", *args])
        assert run.exit_code == 2 and run.output.count("\n") == 1, (args, run.output)


def _key(chapter, trace, opts):
    return chapter_key(ChapterJob(chapter, trace, opts, "code"))


def test_the_chapter_cache_keys_on_the_words_spoken_and_shown(tmp_path, monkeypatch):
    tr = simulate_trace(SimConfig(epochs=3), measure_latency=False)
    chapters = {c.key: c for c in lesson_order()}
    base = {k: _key(c, tr, RenderOptions()) for k, c in chapters.items()}
    # one beat's words changed: only its chapter
    text = scriptmod.SCRIPTS.joinpath("en.md").read_text(encoding="utf-8")
    edited = tmp_path / "edited.md"
    edited.write_text(text.replace("Here is what the run measured.", "Here is what this run measured."), "utf-8")
    changed = {k: _key(c, tr, RenderOptions(script=str(edited))) for k, c in chapters.items()}
    assert [k for k in chapters if changed[k] != base[k]] == ["results"]
    # a fact no word of a chapter reads (the latency): not that chapter
    tr2 = {**tr, "summary": {**tr["summary"], "teacher": {**tr["summary"]["teacher"], "latency_us": 9.0}}}
    assert _key(chapters["task"], tr2, RenderOptions()) == base["task"]
    assert _key(chapters["results"], tr2, RenderOptions()) != base["results"]


def test_which_runs_share_a_chapter_render_as_the_readme_says():
    """README "Caching": chapters 2 and 4 are shared by every α above 0 of one τ (chapter 2 names the pairs the
    teacher finds most alike at τ; both say whether α is 0), chapter 3 at α = 0 by every τ, the rest by no run."""
    runs = [(tau, alpha) for tau in (1.0, 3.0) for alpha in (0.0, 0.5, 1.0)]
    traces = {r: simulate_trace(SimConfig(tau=r[0], alpha=r[1], epochs=3), measure_latency=False) for r in runs}
    for c in lesson_order():
        keys = {r: _key(c, tr, RenderOptions()) for r, tr in traces.items()}
        shared = sorted(sorted(r for r in runs if keys[r] == k) for k in set(keys.values()))
        if c.key in ("task", "soft_labels"):
            want = [[(t, 0.0)] for t in (1.0, 3.0)] + [[(t, 0.5), (t, 1.0)] for t in (1.0, 3.0)]
        elif c.key == "networks":
            want = [[(1.0, 0.0), (3.0, 0.0)]] + [[r] for r in runs if r[1] > 0]
        else:
            want = [[r] for r in runs]
        assert shared == sorted(want), c.key


def test_no_chapter_file_holds_english():
    """Every word the chapters show or say comes from the script: no English string literal in scenes/."""
    for path in sorted((ROOT / "scenes").glob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef)) and n.body
                      and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                assert not re.search(r"[A-Za-z]{2,} [A-Za-z]{2,}", node.value), f"{path.name}: {node.value!r}"


def test_the_narrator_slows_a_cue_that_could_not_be_read_in_time(tmp_path):
    """A cue spoken faster than its caption can be read (20 characters/s, with the pause after it) is
    spoken again slower, just enough; one that can be read is left as the voice says it."""
    from kdanim.narration import Narrator
    from kdanim.narration.subtitles import MAX_CPS
    from kdanim.narration.voices import SilentVoice

    fast = Narrator(SilentVoice(cache_dir=tmp_path, words_per_minute=250))   # about 23 characters/s
    text = "The distilled student reaches 86 percent, six points above the same network."
    u, = fast.speak(text, gap=0.15, pause=0.0)
    assert len(text) / u.duration <= MAX_CPS and len(fast.paced) == 1 and 1.0 < fast.paced[0][1] <= 1.25
    calm = Narrator(SilentVoice(cache_dir=tmp_path))
    assert calm.speak(text) == [calm.voice.synthesize(text)] and calm.paced == []
