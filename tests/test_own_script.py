"""Your own lesson (issue 17): the script exported, reworded and rendered; its mistakes stopped before any work
with the file and the line; the numbers written in it checked against the run; the credits on the title card,
the page, the deck and the video's tags."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path

import av
import pytest
from click.testing import CliRunner

from chapter_runs import FAST
from conftest import use_fake_chapters
from fake_chapters import FPS, FakeRenderer, frames
from kdanim import facts as factsmod
from kdanim.cli import main
from kdanim.narration import authoring, script as scriptmod
from kdanim.narration.speech import split_cues
from kdanim.render import RenderOptions, check_words, make_context, render_scene, spoken_words
from kdanim.scenes import TitleAndIdea
from kdanim.sim.config import SimConfig, config_from_options
from kdanim.trace import simulate_trace
from test_scene_sweep import make_view

SHIPPED = scriptmod.SCRIPTS / "en.md"
CREDITS = {"title": "Distillation 101", "course": "CS 4780 · Machine Learning", "author": "Prof. Ada Lovelace",
           "institution": "Analytical College"}


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def shipped_text() -> str:
    return SHIPPED.read_text(encoding="utf-8")


def with_block(text: str, entry_id: str, block: str | None) -> str:
    """``text`` with the entry ``## entry_id`` (up to the next heading or comment) replaced by ``block``
    (None: deleted)."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, l in enumerate(lines) if re.match(rf"##\s+{re.escape(entry_id)}(\s|$)", l))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(("#", "<!--"))), len(lines))
    return "".join(lines[:start] + ([block.rstrip("\n") + "\n\n"] if block else []) + lines[end:])


def write(tmp_path, text: str, name="my-lesson.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    return next(n for n, l in enumerate(text.splitlines(), 1) if needle in l)


def one_line_exit_2(result) -> str:
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1, result.output
    return result.output.strip()


def tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.rglob("*"))
            if p.is_file()}


# -- exporting, and the facts ------------------------------------------------------------------------

def test_script_exports_the_shipped_script_and_never_overwrites_an_edited_one(tmp_path):
    out = tmp_path / "my-lesson.md"
    assert run("script", "--out", out, "-q").exit_code == 0
    assert out.read_text(encoding="utf-8") == shipped_text()
    printed = run("script")
    assert printed.exit_code == 0 and printed.output == shipped_text()
    out.write_text("my edits", encoding="utf-8")
    assert "--force" in one_line_exit_2(run("script", "--out", out))
    assert out.read_text(encoding="utf-8") == "my edits"
    assert run("script", "--out", out, "--force", "-q").exit_code == 0 and out.read_text(encoding="utf-8") == shipped_text()
    exported = scriptmod.load(out)  # an export loads as a user's script, the shipped one behind it
    assert exported.entries.keys() == scriptmod.load("en").entries.keys() and exported.fallback is not None


def test_the_header_names_every_fact_and_formatter():
    header = shipped_text().split("-->", 1)[0]
    words = set(re.findall(r"[a-z_0-9]+", header))
    for name in authoring.FACT_NOTES:
        missing = [part for part in name.split(".") if part != "*" and part not in words]
        assert not missing, f"the script's header does not name {name} ({missing})"
    for name in authoring.FORMATTER_NOTES:
        assert name in words, name
    assert "kdanim script --facts" in header and "--strict" in header


def _schema_names(value, prefix=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _schema_names(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(value, list):
        yield prefix
        for v in value:
            yield from _schema_names(v, f"{prefix}.*")
    else:
        yield prefix


@pytest.fixture(scope="module")
def few_runs():
    """A few real runs: the default one (short), the digits, α = 0 at τ = 1; each with and without a sweep."""
    runs = [simulate_trace(config_from_options(**kw), measure_latency=False)
            for kw in ({"epochs": 5}, {"dataset": "digits", "epochs": 3}, {"alpha": 0.0, "tau": 1.0, "epochs": 3})]
    return runs


def test_the_notes_cover_every_fact_of_real_runs_and_no_other(few_runs):
    seen = set()
    views = [make_view([1, 3], [0, 0.5], [0, 1]), make_view([3], [0], [0])]
    for tr in few_runs:
        for view in views:
            words = scriptmod.load("en").fill(factsmod.run_facts(tr, 1, view))
            seen |= set(_schema_names(words.facts))
    assert seen - set(authoring.FACT_NOTES) == set(), "facts without a note in authoring.FACT_NOTES"
    assert set(authoring.FACT_NOTES) - seen == set(), "notes of facts no run has"


def test_facts_lists_this_runs_facts_with_values(trace_file, rings_trace):
    got = run("script", "--facts", "--trace", trace_file, "--title", "Distillation 101", "-q")
    assert got.exit_code == 0, got.output
    acc = rings_trace["summary"]["distilled"]["test_accuracy"]
    assert re.search(rf"^distilled\.acc\s+{acc:.6g}\s+test accuracy of the distilled student$", got.output, re.M)
    assert re.search(r'^credits\.title\s+"Distillation 101"', got.output, re.M)
    assert re.search(r'^pairs\[0\]\.a\s+"\w+"', got.output, re.M)
    assert re.search(r"^percent\(1\)\s+0\.9213 → 92\.1 percent", got.output, re.M)
    swept = run("script", "--facts", "--epochs", "3", "--chapters", "1", "-q")  # the simulator options choose the run
    assert re.search(r"^epochs\s+3\s", swept.output, re.M)


# -- your words, spoken ------------------------------------------------------------------------------

NEW_GAIN = ("## results.gain\nIn my course we say it plainly: the distilled student reaches "
            "{{ distilled.acc | percent(1) }}. This sentence is mine and it is new.\n")


class WordsRenderer(FakeRenderer):
    """The fake renderer of tests/fake_chapters.py, but every chapter says its real words (the script of the
    render's options, filled for its run), one cue per chunk, as a real render cuts them."""

    def __call__(self, chapter_cls, trace, opts, work, on_beat=None):
        self.opts = opts
        return super().__call__(chapter_cls, trace, opts, work, on_beat)

    def beats(self, chapter_cls, trace):
        [(_, _, said)] = spoken_words(trace, replace(self.opts, chapters=[chapter_cls.number]))
        return [[(c, frames(len(c) / 14) / FPS) for c in split_cues(text)] for _, text in said]  # 14 characters/s


@pytest.fixture
def words_renderer(tmp_path, monkeypatch):
    renderer = WordsRenderer(tmp_path / "voice")
    use_fake_chapters(monkeypatch, renderer, tmp_path / "cache")
    return renderer


def test_an_edited_beat_is_spoken_and_subtitled_and_a_deleted_one_is_not(trace_file, tmp_path, words_renderer):
    text = with_block(with_block(shipped_text(), "results.gain", NEW_GAIN), "results.table", None)
    mine = write(tmp_path, text)
    out = tmp_path / "out"
    got = run("render", "--trace", trace_file, "--script", mine, "--chapters", "8", "--quality", "low",
              "--voice", "none", "--jobs", "1", "-q", "--out", out)
    assert got.exit_code == 0, got.output
    srt = (out / "lesson.srt").read_text(encoding="utf-8")
    assert "This sentence is mine and it is new." in srt and "In my course we say it plainly" in srt
    assert "Here is what the run measured" not in srt  # the deleted beat
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"]["render"]["script"] == "my-lesson.md"
    assert manifest["parameters"]["render"]["script_sha256"] == hashlib.sha256(mine.read_bytes()).hexdigest()
    assert (out / "my-lesson.md").read_bytes() == mine.read_bytes()  # beside the video: the reproduce line names it
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "--script my-lesson.md" in page
    # --chapters works as before: the other chapters' words are the user's too, and are not rendered
    assert [c["number"] for c in manifest["chapters"]] == [8]


@pytest.fixture(scope="module")
def chapter1(rings_trace, tmp_path_factory):
    """Chapter 1 run without drawing frames from a script that rewords the welcome, deletes the
    'imitate' beat and has credits in its front matter (the options give another title)."""
    tmp = tmp_path_factory.mktemp("chapter1")
    text = shipped_text().replace("title:\ncourse:\n", "title: From the front matter\ncourse: CS 4780 · Machine Learning\n", 1)
    text = with_block(text, "idea.welcome", "## idea.welcome\nWelcome to my own lesson. It has a sentence of mine.\n")
    text = with_block(text, "idea.imitate", None)
    path = write(tmp, text)
    opts = RenderOptions(voice="none", script=str(path), credits={k: CREDITS[k] for k in ("title", "author", "institution")})
    ctx = make_context(rings_trace, opts, add_sound=False, check_layout=True)
    scene = render_scene(TitleAndIdea, ctx, {**FAST, "media_dir": str(tmp / "media")})
    return ctx, scene.timeline()


def test_a_deleted_beat_is_silent_and_its_animation_still_plays(chapter1):
    _, tl = chapter1
    i = tl["beat_ids"].index("idea.imitate")
    start, end = tl["beat_spans"][i]
    assert tl["beats"][i] == "" and end - start >= 1.5  # four steps at their shortest (the fade-out quicker)
    assert not [l for l in tl["lines"] if start <= l["start"] < end]
    assert "Instead of learning only from the right answers" not in " ".join(l["text"] for l in tl["lines"])


def test_a_reworded_beat_is_spoken_and_the_beat_stretches_to_it(chapter1):
    _, tl = chapter1
    said = [l["text"] for l in tl["lines"]]
    assert said[:2] == ["Welcome to my own lesson.", "It has a sentence of mine."]
    start, end = tl["beat_spans"][tl["beat_ids"].index("idea.welcome")]
    assert end - start >= sum(l["duration"] for l in tl["lines"][:2])


def test_credits_reach_the_title_card(chapter1):
    ctx, _ = chapter1
    seen = set(ctx.seen_text)  # Manim's Text.text has no spaces
    squash = lambda s: s.replace(" ", "")
    assert squash("Distillation 101") in seen  # the option over the front matter
    assert squash("CS 4780 · Machine Learning") in seen  # the front matter's course
    assert squash("Prof. Ada Lovelace  ·  Analytical College") in seen
    assert squash("From the front matter") not in seen and ctx.layout_problems == []


def test_without_credits_the_title_card_is_as_before(rings_trace):
    words = scriptmod.load("en").fill(factsmod.run_facts(rings_trace))
    assert words.show("idea.name") == "Knowledge Distillation" and words.show("idea.credits") == ""


def test_on_screen_words_a_script_lacks_come_from_the_shipped_script(rings_trace, tmp_path):
    mine = write(tmp_path, with_block(shipped_text(), "idea.card", None).replace("- teacher: Teacher\n", "", 1))
    script = scriptmod.load(mine)
    assert "idea.card" not in script.entries
    words = script.fill(factsmod.run_facts(rings_trace))
    shipped = scriptmod.load("en").fill(factsmod.run_facts(rings_trace))
    assert words.show("idea.card") == shipped.show("idea.card") != ""
    assert words.show("idea.teacher") == "Teacher"
    assert "idea.card" in words.chapter("idea")  # and the chapter's cache key holds it


# -- mistakes: one line, exit 2, nothing touched ------------------------------------------------------

def _edit(old, new):
    return lambda t: t.replace(old, new, 1)


BAD = {
    # name: (edit of the shipped text, the text of the line the error names, words of the error)
    "formatter": (_edit("reaches {{ distilled.acc | percent(1) }}:\n  {{ gain | points }} above",
                        "reaches {{ distilled.acc | percent(1) }}:\n  {{ gain | percnt }} above"),
                  "{{ gain | percnt }} above", ["unknown formatter 'percnt'", "did you mean: percent"]),
    "fact": (_edit("{{ gain | points }} above", "{{ gian | points }} above"), "{{ gian | points }} above",
             ["unknown fact 'gian'", "did you mean: gain"]),
    "attribute": (_edit("reaches {{ distilled.acc | percent(1) }}:", "reaches {{ distilled.acc_ | percent(1) }}:"),
                  "distilled.acc_", ["unknown fact 'distilled.acc_'", "distilled.acc"]),
    "beat": (_edit("## results.gain\n", "## results.gian\n"), "## results.gian", ["unknown beat 'results.gian'",
                                                                                 "did you mean: results.gain"]),
    "kind": (_edit("## results.gain\n", "## results.gain (on screen)\n"), "## results.gain (on screen)",
             ["results.gain is a spoken beat"]),
    "condition": (_edit("- when `helps`:", "- when `helps and`:"), "- when `helps and`:", ["malformed condition"]),
    "syntax": (_edit("{{ gain | points }} above", "{{ gain | points } above"), "{{ gain | points } above",
               ["template: unexpected '}'"]),
    "version": (_edit("kdanim-script: 1", "kdanim-script: 2"), "kdanim-script: 2",
                ["script version 2", "reads version 1"]),
    "chapter": (lambda t: t.replace("## results.", "## resuts.").replace("# results:", "# resuts:"),
                "# resuts:", ["unknown chapter 'resuts'", "did you mean: results"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_mistake_is_one_line_with_the_file_and_line_and_touches_nothing(case, trace_file, tmp_path, words_renderer):
    edit, needle, words = BAD[case]
    text = edit(shipped_text())
    mine = write(tmp_path, text, f"bad-{case}.md")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("an earlier lesson")
    before, beside = tree(out), sorted(p.name for p in tmp_path.iterdir())
    line = one_line_exit_2(run("render", "--trace", trace_file, "--script", mine, "--quality", "low", "--voice", "none",
                               "--jobs", "1", "-q", "--out", out))
    expected = line_of(text, needle) if case != "chapter" else min(  # the chapter's first entry
        e.line for e in scriptmod.parse(text).entries.values() if e.id.startswith("resuts."))
    assert line.startswith(f"Error: {mine}:{expected}: "), line
    for w in words:
        assert w in line, line
    assert tree(out) == before and sorted(p.name for p in tmp_path.iterdir()) == beside
    assert words_renderer.calls == []


def test_not_utf8_names_the_line(trace_file, tmp_path):
    text = shipped_text()
    raw = text.encode("utf-8").replace(b"The idea is simple.", b"The idea is simple \xe9t\xe9.", 1)
    mine = tmp_path / "latin1.md"
    mine.write_bytes(raw)
    line = one_line_exit_2(run("narration", "--trace", trace_file, "--script", mine))
    assert line.startswith(f"Error: {mine}:{line_of(text, 'The idea is simple.')}: not UTF-8 text")


def test_a_mistake_in_a_chapter_not_rendered_is_still_found(trace_file, tmp_path):
    text = shipped_text().replace("{{ gain | points }} above", "{{ gian | points }} above", 1)
    line = one_line_exit_2(run("narration", "--trace", trace_file, "--chapters", "1", "--script", write(tmp_path, text)))
    assert "unknown fact 'gian'" in line


def test_every_command_that_takes_a_script_checks_it_first(trace_file, tmp_path):
    mine = write(tmp_path, shipped_text().replace("## results.gain\n", "## results.gian\n", 1))
    out = tmp_path / "site"
    for args in (["slides", "--trace", trace_file, "--out", out], ["publish", "--tau", "3", "--alpha", "0.5",
                                                                   "--epochs", "2", "--out", out]):
        line = one_line_exit_2(run(*args, "--script", mine, "--voice", "none", "-q"))
        assert "unknown beat 'results.gian'" in line, line
        assert not out.exists()


# -- the fact check ---------------------------------------------------------------------------------

def test_a_wrong_number_is_flagged_and_a_right_one_passes(trace_file, rings_trace, tmp_path):
    acc = rings_trace["summary"]["distilled"]["test_accuracy"]
    wrong = round(100 * acc) + 3
    right = f"{100 * acc:.1f}"
    text = with_block(shipped_text(), "results.gain",
                      f"## results.gain\nThe student reaches {wrong} percent, trained for 7 epochs.\n"
                      f"Yes: the distilled student reaches {right} percent, in {rings_trace['config']['epochs']} epochs,\n"
                      f"with Hinton's recipe of 2015, for a digit 3 and at τ = 1.\n")
    mine = write(tmp_path, text)
    got = run("narration", "--trace", trace_file, "--script", mine, "--chapters", "8")
    assert got.exit_code == 0
    warnings = [l for l in got.stderr.splitlines() if "warning" in l]
    at = line_of(text, f"reaches {wrong} percent")
    assert warnings == [
        f"{mine}:{at}: warning: '{wrong} percent' does not match this run: the nearest fact is distilled.acc = "
        f"{100 * acc:.1f} percent; write {{{{ distilled.acc | percent(1) }}}}",
        f"{mine}:{at}: warning: '7 epochs' does not match this run: the nearest fact is epochs = "
        f"{rings_trace['config']['epochs']}; write {{{{ epochs }}}}"], got.stderr
    strict = one_line_exit_2(run("narration", "--trace", trace_file, "--script", mine, "--chapters", "8", "--strict"))
    assert strict.startswith(f"Error: {mine}:{at}: '{wrong} percent' does not match") and strict.endswith("(--strict)")
    # only the chapters rendered are fact-checked
    assert "warning" not in run("narration", "--trace", trace_file, "--script", mine, "--chapters", "1").stderr


def test_the_fact_check_reads_units_subjects_and_on_screen_words(rings_trace):
    f = factsmod.run_facts(rings_trace)
    t, d, gain = f["teacher"]["acc"], f["distilled"]["acc"], f["gain"]
    text = ("---\nkdanim-script: 1\nlanguage: en\n---\n# results: R\n## results.gain\n"
            f"The teacher reaches {100 * t:.1f} percent and the student {100 * t:.1f} percent.\n"
            f"It is {100 * abs(gain):.1f} points {'above' if gain > 0 else 'below'}, about {f['teacher']['params'] // 1000} thousand "
            f"parameters, {f['size_ratio']:.0f} times smaller, {f['teacher']['params']:,} weights.\n"
            "## results.table_title (on screen)\n"
            f"distilled: {100 * d + 2:.1f}%\n")
    words = scriptmod.parse(text, "s.md").fill(f)
    got = authoring.number_warnings(words, ["results"])
    assert len(got) == 2, got
    assert got[0].startswith(f"s.md:7: '{100 * t:.1f} percent' does not match this run: the nearest fact is distilled.acc")
    assert f"({100 * t:.1f} percent is teacher.acc)" in got[0]  # the teacher's number, said of the student
    assert got[1].startswith(f"s.md:10: '{100 * d + 2:.1f}%'") and got[1].endswith("write {{ distilled.acc | pct }}")


def test_the_shipped_script_passes_strict_on_the_adverse_grid(adverse_traces):
    for name, tr in adverse_traces.items():
        for k in (0, 1, 2):
            assert check_words(tr, RenderOptions(probe_class=k), strict=True) == [], (name, k)
    tr = simulate_trace(SimConfig(epochs=3), measure_latency=False)
    for view in (make_view([1, 3, 8], [0, 0.5, 1], [0, 1, 2]), make_view([3], [0.5], [0]), make_view([3], [0], [0, 1])):
        assert check_words(tr, RenderOptions(sweep=view, credits=CREDITS), strict=True) == []


def test_the_shipped_script_passes_strict_from_the_command_line(trace_file):
    got = run("narration", "--trace", trace_file, "--strict", *sum((["--" + k, v] for k, v in CREDITS.items()), []))
    assert got.exit_code == 0 and got.stderr == "", got.stderr


# -- credits on the page, in the video's tags and the deck ---------------------------------------------

def test_credits_reach_the_page_the_manifest_and_the_video(trace_file, tmp_path, fake_chapters):
    out = tmp_path / "lesson"
    got = run("render", "--trace", trace_file, "--chapters", "1", "--quality", "low", "--voice", "none",
              "--jobs", "1", "-q", "--out", out, *sum((["--" + k, v] for k, v in CREDITS.items()), []))
    assert got.exit_code == 0, got.output
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "<title>Distillation 101</title>" in page and '<h1 id="heading">Distillation 101</h1>' in page
    assert "CS 4780 · Machine Learning · Prof. Ada Lovelace · Analytical College" in page
    assert "--title 'Distillation 101' --course 'CS 4780 · Machine Learning'" in page  # the reproduce line
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["credits"] == CREDITS and manifest["parameters"]["render"]["credits"] == CREDITS
    with av.open(str(out / "lesson.mp4")) as c:
        tags = dict(c.metadata)
    assert tags["title"] == "Distillation 101" and tags["artist"] == "Prof. Ada Lovelace"
    assert tags["comment"] == "CS 4780 · Machine Learning · Analytical College"


def test_without_credits_page_and_video_are_as_before(trace_file, tmp_path, fake_chapters):
    out = tmp_path / "lesson"
    assert run("render", "--trace", trace_file, "--chapters", "1", "--quality", "low", "--voice", "none",
               "--jobs", "1", "-q", "--out", out).exit_code == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="credits"' not in page and "--title" not in page and "--script" not in page
    with av.open(str(out / "lesson.mp4")) as c:
        assert c.metadata["title"].startswith("Knowledge distillation, τ = 3") and "artist" not in c.metadata


def test_credits_reach_the_deck(trace_file, tmp_path, fake_chapters):
    pytest.importorskip("manim_slides")
    pytest.importorskip("pptx")
    from kdanim.publish.slides import SlidesUnavailable, check_available

    try:
        check_available()
    except SlidesUnavailable as e:
        pytest.skip(str(e))
    out = tmp_path / "deck"
    got = run("slides", "--trace", trace_file, "--chapters", "1", "--quality", "low", "--voice", "none", "--jobs", "1",
              "-q", "--out", out, "--title", "Distillation 101", "--author", "Prof. Ada Lovelace")
    assert got.exit_code == 0, got.output
    assert "<title>Distillation 101</title>" in (out / "deck.html").read_text(encoding="utf-8")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["credits"]["author"] == "Prof. Ada Lovelace"


def test_publish_renders_every_variant_with_your_words_and_credits(tmp_path, fake_chapters):
    mine = write(tmp_path, shipped_text().replace("title:\n", "title: Distillation 101\n", 1))
    site = tmp_path / "site"
    got = run("publish", "--tau", "1,3", "--alpha", "0.5", "--epochs", "2", "--chapters", "1", "--quality", "low",
              "--voice", "none", "--jobs", "1", "-q", "--script", mine, "--author", "Prof. Ada Lovelace", "--out", site)
    assert got.exit_code == 0, got.output
    variants = sorted((site / "variants").iterdir())
    assert len(variants) == 2
    for v in variants:
        manifest = json.loads((v / "manifest.json").read_text())
        assert manifest["credits"]["title"] == "Distillation 101" and manifest["credits"]["author"] == "Prof. Ada Lovelace"
        assert (v / "my-lesson.md").is_file()
    assert "<title>Distillation 101</title>" in (site / "index.html").read_text(encoding="utf-8")
