"""A second language end to end: the German script (kdanim/narration/scripts/de.md), its numbers, its names,
the voice that reads it, and the lesson folder, page and deck it makes (`--lang de`)."""

import json
import re
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from chapter_runs import FAST, PROBE
from kdanim import facts as factsmod
from kdanim.cli import main
from kdanim.narration import locale
from kdanim.narration import script as scriptmod
from kdanim.narration.voices import EspeakVoice, PiperVoice
from kdanim.render import RenderOptions, make_context, render_scene
from kdanim.scenes import lesson_order
from kdanim.sim.config import config_from_options
from kdanim.trace import simulate_trace
from test_narration import all_words

DE = locale.GERMAN
#: English that must not be heard or seen in the German lesson (words of en.md and of kdanim.facts).
ENGLISH = re.compile(r"\b(the|and|of|is|percent|points?|about|times|thousand|digit|teacher|student|softened|"
                     r"epochs?|cat|dog|fox|car|truck|animals?|vehicles?|microseconds?)\b", re.IGNORECASE)


def german(trace, probe=0, sweep=None):
    return scriptmod.load("de").fill(factsmod.run_facts(trace, probe, sweep))


# -- the script ------------------------------------------------------------------------------------

def test_german_script_has_the_ids_and_conditions_of_the_english_one():
    en, de = scriptmod.load("en"), scriptmod.load("de")
    assert de.language == "de" and en.language == "en"
    assert list(de.titles) == list(en.titles)
    assert list(de.entries) == list(en.entries)
    for i, entry in en.entries.items():
        theirs = de.entries[i]
        assert theirs.kind == entry.kind, i
        assert [v.condition for v in theirs.variants] == [v.condition for v in entry.variants], i
    assert all(de.titles[k] != en.titles[k] for k in en.titles if k not in ("training",)), "untranslated titles"


@pytest.fixture(scope="module")
def adverse_de(adverse_traces):
    """{(run, probe): (facts, German words)} on the adverse grid of test_narration.py."""
    script = scriptmod.load("de")
    out = {}
    for name, tr in adverse_traces.items():
        for k in (0, 1, 2):
            f = factsmod.run_facts(tr, k)
            out[(name, k)] = (f, script.fill(f))
    return out


def test_german_fills_on_every_adverse_run_in_german(adverse_de):
    env = scriptmod.load("de").env
    for (name, k), (f, words) in adverse_de.items():
        for i, text in all_words(words).items():
            assert "{{" not in text and "{%" not in text, (name, i, text)
            assert "None" not in text.split() and "nan" not in text.lower().split(), (name, i, text)
            spoken_or_shown = text if not i.startswith("summary.hash") else ""
            assert not ENGLISH.search(spoken_or_shown), (name, k, i, text)
        for i, entry in words.script.entries.items():
            if i.startswith("choosing."):
                continue
            truth = [v.condition is None or bool(env.compile_expression(v.condition)(**f)) for v in entry.variants]
            assert words.chosen(i) is entry.variants[truth.index(True)], (name, k, i)


#: The forms of test_narration.IMPOSSIBLE in German: they cannot be true of a run under these facts.
IMPOSSIBLE_DE = [
    (r"\b0-mal\b|\bminus \d", lambda f: True, "a zero or negative ratio said aloud"),
    (r"minus [\d,]+ Prozent der Lücke", lambda f: True, "a negative share of the gap"),
    (r"folgt der des Lehrers", lambda f: not (f["probe"]["agree"] and f["probe"]["close"]), "'folgt' where they differ"),
    (r"sagt richtig", lambda f: not f["probe"]["teacher"]["right"], "'richtig' where the teacher is wrong"),
    (r"(?<!nicht )\bkleiner\b|-mal weniger Parameter", lambda f: f["size_ratio"] <= 1, "'kleiner' where it is not"),
    (r"(?<!kaum )\bschneller\b", lambda f: not (f["speed_ratio"] or 0) > 1, "'schneller' where it is not"),
    (r"(?<!nicht )(?<!Nichts wird )\bgeglättet\w*|\bweichere\b", lambda f: f["tau"] <= 1, "'geglättet' at τ ≤ 1"),
    (r"Punkte? über dem Schüler ohne Lehrer", lambda f: f["gain"] <= 0, "'über' where it is not"),
    (r"Punkte? unter dem Schüler ohne Lehrer", lambda f: f["gain"] >= 0, "'unter' where it is not"),
    (r"schließt \S+ Prozent der Lücke", lambda f: not f["helps"], "a gap closed where none was"),
    (r"mit den weichen Labels des Lehrers", lambda f: f["no_distillation"], "soft labels credited at α = 0"),
    (r"die ganze Lücke", lambda f: not f["reaches_teacher"], "'die ganze Lücke' where it is not"),
    (r"unterrichtet einen Schüler", lambda f: f["no_distillation"], "'unterrichtet' at α = 0"),
    (r"Destillation geschadet|kostete die Destillation", lambda f: not f["hurts"], "'geschadet' where it did not"),
]


@pytest.mark.parametrize("pattern,forbidden,what", IMPOSSIBLE_DE, ids=[w for _, _, w in IMPOSSIBLE_DE])
def test_no_german_sentence_that_cannot_be_true(adverse_de, pattern, forbidden, what):
    for (name, k), (f, words) in adverse_de.items():
        if not forbidden(f):
            continue
        for i, entry in words.script.entries.items():
            if entry.kind == "say" and not i.startswith("choosing."):
                found = re.search(pattern, words.say(i))
                assert not found, (name, k, i, what, words.say(i))


def test_the_sweep_chapter_fills_in_german():
    from test_scene_sweep import make_view

    tr = simulate_trace(config_from_options(epochs=5), measure_latency=False)
    for view in (make_view([1.0, 3.0, 8.0], [0.0, 0.5], [0, 1]), make_view([3.0], [0.5], [0]),
                 make_view([1.0, 3.0], [0.0], [0, 1, 2])):
        w = german(tr, 0, view)
        for i, text in w.chapter("choosing").items():
            assert "{{" not in text and not ENGLISH.search(text), (i, text)
    card = german(tr, 0, make_view([0.5, 2.0], [0.25, 0.5], [0, 1])).show("choosing.grid_card").splitlines()
    assert card[0] == "8 Läufe, je 30 Epochen" and card[1] == "τ: 0,5; 2"  # a list of decimals: "; " between


# -- numbers and names ------------------------------------------------------------------------------

def test_german_numbers_are_said_and_written_with_a_decimal_comma():
    assert DE["percent"](0.921, 1) == "92,1 Prozent" and DE["percent"](0.8612) == "86 Prozent"
    assert DE["percent"](0.997) == "über 99 Prozent" and DE["percent"](0.003) == "unter 1 Prozent"
    assert DE["points"](0.03) == "3 Punkte" and DE["points"](0.01) == "1 Punkt" and DE["points"](-0.004) == "0,4 Punkte"
    assert DE["count"](119_818) == "etwa 120 Tausend" and DE["count"](2_450) == "etwa 2,5 Tausend"
    assert DE["count"](1_234_567) == "etwa 1,2 Millionen" and DE["count"](1_000_000) == "1 Million"
    assert DE["count"](850) == "850" and DE["count"](1_500) == "1500"
    assert DE["ratio"](15.3) == "15-mal" and DE["ratio"](2.46) == "2,5-mal"
    assert DE["micros"](0.21) == "0,2 Mikrosekunden" and DE["micros"](1.0) == "1 Mikrosekunde"
    assert DE["micros"](0.01) == "unter 0,1 Mikrosekunden"
    assert DE["decimal"](0.3149) == "0,31" and DE["decimal"](-0.3149) == "minus 0,31" and DE["decimal"](-0.001) == "0,00"
    assert DE["number"](0.5) == "0,5" and DE["number"](3.0) == "3" and DE["small"](3) == "drei"
    assert DE["widths"]([228, 228, 228]) == "drei verborgenen Schichten aus je 228 Einheiten"
    assert DE["spoken_list"](["Katze", "Hund", "Fuchs"]) == "Katze, Hund und Fuchs"
    # written (Babel's de locale): a no-break space before %, a dot between thousands
    assert DE["pct"](0.9214) == "92,1\u00a0%" and DE["pct"](0.5, 0) == "50\u00a0%"
    assert DE["thousands"](120_448) == "120.448" and DE["num"](0.25) == "0,25" and DE["num"](0.0161, 4) == "0,0161"
    assert DE["signed"](3.21) == "+3,2" and DE["signed"](-0.4) == "-0,4"


@pytest.mark.parametrize("x", [0.0005, 0.125, 0.91249, 0.9125, 0.3333, 0.99949, 0.5, 1.0, 0.0449])
def test_german_figures_round_as_the_english_ones(x):
    """The same run shows the same digits in every language: only the symbols differ."""
    en = locale.ENGLISH
    swap = str.maketrans({".": ",", ",": "."})
    assert DE["pct"](x).replace("\u00a0", "") == en["pct"](x).translate(swap)
    assert DE["percent"](x, 1).replace("Prozent", "percent").replace("über", "over").replace("unter", "under") \
        == en["percent"](x, 1).translate(swap)
    assert DE["decimal"](x, 3) == en["decimal"](x, 3).translate(swap)


def test_class_family_and_dataset_names_come_out_in_german(rings_trace, digits_trace):
    w = german(rings_trace)
    assert w.show("task.families").splitlines() == ["Tiere: Katze, Hund, Fuchs", "Fahrzeuge: Auto, Lastwagen"]
    assert "Katze, Hund und Fuchs sind Tiere" in w.say("task.families_said")
    assert w.term("truck") == "Lastwagen" and w.facts["probe"]["word"] == "cat"  # the facts stay neutral
    d = german(digits_trace, PROBE["digits"])
    assert d.show("idea.hard_title") == "hartes Label: Ziffer 3" and d.term("3") == "3"
    assert "handgeschriebene Ziffern mit 8 × 8 Pixeln" in d.say("task.intro_images")
    assert "ersten beiden Hauptkomponenten" in d.say("task.scatter_images")
    text = " ".join(all_words(d).values())
    assert "digit" not in text and "Ziffer 3" in text


# -- the frame ------------------------------------------------------------------------------------

def seen(chapter_cls, trace, probe=0, preview=False, sweep=None):
    """The text on screen at every beat's end of a German run of ``chapter_cls`` (no frames drawn)."""
    opts = RenderOptions(voice="none", script="de", probe_class=probe, preview=preview, sweep=sweep)
    ctx = make_context(trace, opts, add_sound=False, check_layout=True)
    with tempfile.TemporaryDirectory(prefix="kdanim-de-") as tmp:
        render_scene(chapter_cls, ctx, {**FAST, "media_dir": tmp})
    return ctx


@pytest.mark.parametrize("number", [1, *(pytest.param(n, marks=pytest.mark.slow) for n in (4, 8, 10))])
def test_a_german_still_shows_german_words_and_numbers(number, rings_trace):
    chapter = next(c for c in lesson_order() if c.number == number)
    ctx = seen(chapter, rings_trace, preview=True)
    shown = " | ".join(ctx.seen_text)
    assert ctx.layout_problems == []
    assert not re.search(r"\b(Teacher|Student|scratch|distilled|epoch|params|cat|dog|truck|hard label)\b", shown), shown
    assert "Lehrer" in shown or "Schüler" in shown or "Katze" in shown, shown
    assert re.search(r"\d,\d", shown), shown  # a decimal comma, a dot only between thousands (the command aside)
    assert not re.search(r"\d\.(?!\d{3}(?!\d))\d", re.sub(r"kdanimrender\S*", "", shown)), shown
    if number == 8:
        assert "120.389" in shown and "Genauigkeit" in shown


def test_german_digits_and_the_sweep_chapter_in_the_frame(digits_trace, rings_trace):
    from kdanim.scenes import ChoosingTauAlpha
    from test_scene_sweep import make_view

    prediction = next(c for c in lesson_order() if c.number == 9)
    ctx = seen(prediction, digits_trace, PROBE["digits"], preview=True)
    shown = " | ".join(ctx.seen_text)
    assert ctx.layout_problems == [] and "wahreKlasse:3" in shown and re.search(r"\d,\d", shown), shown
    ctx = seen(ChoosingTauAlpha, rings_trace, sweep=make_view([3.0], [0.25], [0]))
    shown = " | ".join(ctx.seen_text)
    assert ctx.layout_problems == [] and "Startwert" in shown and "α:0,25" in shown, shown


# -- the voice and the command line -------------------------------------------------------------------

def test_the_german_voice_is_espeak_ng_german(tmp_path):
    voice = locale.voice_for(None, None, "de", cache_dir=tmp_path)
    assert isinstance(voice, EspeakVoice) and voice.voice == "de" and "voice=de;" in voice.settings_key
    assert locale.voice_for("espeak", None, "en", cache_dir=tmp_path).voice == "en-us"  # English unchanged
    with pytest.raises(ValueError, match="--voice-model"):
        locale.voice_for("piper", None, "de")


def piper_model(folder: Path, name: str, family: str) -> Path:
    """A Piper voice's two files as a user downloads them (the model is never loaded here)."""
    model = folder / f"{name}.onnx"
    model.write_bytes(b"onnx")
    (folder / f"{name}.onnx.json").write_text(json.dumps({"audio": {"sample_rate": 22050}, "espeak": {"voice": family},
                                                          "language": {"code": f"{family}_XX", "family": family}}))
    return model


def test_a_downloaded_german_piper_voice_speaks_german_and_an_english_one_does_not(tmp_path):
    pytest.importorskip("piper")
    voice = locale.voice_for("piper", piper_model(tmp_path, "de_DE-test-medium", "de"), "de", cache_dir=tmp_path)
    assert isinstance(voice, PiperVoice) and locale.model_language(voice.model_path) == "de"
    with pytest.raises(ValueError, match="speaks 'en', not German"):
        locale.voice_for("piper", piper_model(tmp_path, "en_US-test-medium", "en"), "de")
    result = CliRunner().invoke(main, ["render", "--lang", "de", "--voice", "piper", "--voice-model",
                                       str(tmp_path / "en_US-test-medium.onnx"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "not German" in result.output, result.output


@pytest.mark.parametrize("command", ["render", "narration", "slides", "publish", "script", "chapters"])
def test_a_bad_lang_exits_2_listing_the_choices(command, tmp_path):
    result = CliRunner().invoke(main, [command, "--lang", "fr"])
    assert result.exit_code == 2, result.output
    assert "--lang" in result.output and "'en', 'de'" in result.output, result.output


def test_narration_in_german(trace_file):
    result = CliRunner().invoke(main, ["narration", "--trace", str(trace_file), "--lang", "de", "--chapters", "8",
                                       "--json"])
    assert result.exit_code == 0, result.output
    (chapter,) = json.loads(result.output)
    assert chapter["title"] == "Ergebnisse der Kompression"
    said = " ".join(b["text"] for b in chapter["beats"])
    assert "Prozent" in said and re.search(r"\d,\d Prozent", said) and not ENGLISH.search(said), said


def test_chapters_lists_the_titles_of_the_lessons_script(tmp_path):
    """`kdanim chapters --lang de` titles the chapters in German; --script with its own titles; a --lang that is
    not the --script's language is one usage error."""
    de = scriptmod.load("de").titles
    result = CliRunner().invoke(main, ["chapters", "--lang", "de"])
    assert result.exit_code == 0, result.output
    rows = result.output.splitlines()
    assert len(rows) == len(lesson_order(with_sweep=True))
    for c, row in zip(lesson_order(with_sweep=True), rows):
        assert row.split()[0] == str(c.number) and f" {de[c.key]} " in row and c.__name__ in row, row
    assert "Die Aufgabe" in result.output and "The task" not in result.output
    own = tmp_path / "mine.md"
    own.write_text("---\nkdanim-script: 1\nlanguage: de\n---\n\n# task: Meine Aufgabe\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["chapters", "--script", str(own)])
    assert result.exit_code == 0, result.output
    assert "Meine Aufgabe" in result.output and f" {de['idea']} " in result.output  # the rest from de.md
    result = CliRunner().invoke(main, ["chapters", "--lang", "en", "--script", str(own)])
    assert result.exit_code == 2 and "--lang" in result.output and len(result.output.strip().splitlines()) == 1


def test_german_without_a_voice_picks_espeak_and_the_command_says_lang(tmp_path):
    from kdanim.publish.page import reproduce_command

    manifest = {"parameters": {"simulation": {"tau": 3.0, "alpha": 0.5},
                               "render": {"quality": "low", "voice": "espeak", "script": "de", "language": "de"}}}
    assert "--lang de" in reproduce_command(manifest) and "--voice" not in reproduce_command(manifest)
    manifest["parameters"]["render"].update(voice="none")
    assert reproduce_command(manifest).endswith("--lang de --voice none")


# -- the lesson folder and its page ------------------------------------------------------------------

@pytest.fixture
def german_folder(fake_chapters, rings_trace, tmp_path):
    """A German lesson folder of chapters 5 and 9 (chapters rendered without Manim; the rest is the real code)."""
    from kdanim.publish import render_lesson

    out = tmp_path / "de"
    render_lesson(rings_trace, RenderOptions(quality="low", voice="none", chapters=[5, 9], script="de"), out)
    return out


def test_a_german_folder_has_a_german_transcript_chapters_and_page(german_folder):
    transcript = (german_folder / "transcript.md").read_text(encoding="utf-8")
    assert transcript.startswith("# Wissensdestillation, τ = 3, α = 0,5\n\nSprechtext der Lektion")
    assert "## 00:00 5. Der Destillationsverlust" in transcript
    assert (german_folder / "chapters.txt").read_text(encoding="utf-8").splitlines()[1].endswith("9. Eine Vorhersage")
    page = (german_folder / "index.html").read_text(encoding="utf-8")
    assert '<html lang="de">' in page and "Zur Lektion springen" in page and "Ergebnisse dieses Laufs" in page
    data = json.loads(re.search(r'id="lesson-data">(.*?)</script>', page, re.S).group(1))
    (lesson,) = data["variants"]
    assert lesson["lang"] == "de" and lesson["words"]["lang_name"] == "Deutsch"
    assert [r["label"] for r in lesson["results"]] == ["Lehrer", "Schüler (ohne Lehrer)", "Schüler (destilliert)"]
    assert "Untertitel (WebVTT)" in [d["label"] for d in lesson["downloads"]]
    assert "--lang de" in lesson["command"] and "--voice none" in lesson["command"]
    manifest = json.loads((german_folder / "manifest.json").read_text())
    assert manifest["parameters"]["render"]["language"] == "de"
    assert [c["title"] for c in manifest["chapters"]] == ["Der Destillationsverlust", "Eine Vorhersage"]


def test_the_german_page_in_a_browser_names_its_captions_and_writes_german_numbers(browser, german_folder):
    from browser import open_page, serve

    with serve(german_folder) as url, open_page(browser, url + "index.html") as tab:
        tab.page.wait_for_function("() => { const t = document.querySelector('#video track');"
                                   " return t && t.readyState === 2; }")
        track = tab.page.evaluate("() => { const t = document.querySelector('#video track');"
                                  " return [t.srclang, t.label, t.track.language]; }")
        assert track == ["de", "Deutsch", "de"]
        rows = tab.page.eval_on_selector_all("#results tbody tr", "rows => rows.map(r => r.textContent)")
        assert rows[0].startswith("Lehrer120.389") and "92,2\u00a0%" in rows[0], rows
        # a chapter button is named by what it shows (WCAG 2.5.3): its time and the German title
        button = tab.page.locator("#chapters button").first
        assert button.get_attribute("aria-label") is None and button.text_content() == "0:00 5. Der Destillationsverlust"
        assert tab.errors == [] and tab.outside == []


# -- a real German render --------------------------------------------------------------------------

@pytest.mark.slow
def test_a_two_chapter_german_lesson_renders_with_the_german_espeak_voice(trace_file, tmp_path):
    from kdanim.publish import media

    out = tmp_path / "lesson-de"
    result = CliRunner().invoke(main, ["render", "--trace", str(trace_file), "--lang", "de", "--voice", "espeak",
                                       "--quality", "low", "--chapters", "5,9", "--jobs", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"]["render"]["voice"] == "espeak" and manifest["parameters"]["render"]["language"] == "de"
    info = media.probe(out / "lesson.mp4")
    assert info["audio_duration"] > 20 and abs(info["audio_duration"] - info["video_duration"]) < 0.1
    vtt = (out / "lesson.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT") and "Der Schüler wird mit einem" in vtt and not ENGLISH.search(vtt)
    assert re.search(r"\d,\d{4}", vtt)  # the KL said with a decimal comma: "0,0161"
    assert "Lehrer" in (out / "lesson.srt").read_text(encoding="utf-8")
    transcript = (out / "transcript.md").read_text(encoding="utf-8")
    assert "## 00:00 5. Der Destillationsverlust" in transcript and "Prozent" in transcript
    assert '<html lang="de">' in (out / "index.html").read_text(encoding="utf-8")
