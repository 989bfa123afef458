"""The lesson page (index.html in every lesson folder) and the explorer page, in a real headless chromium.

A real 2 × 2 sweep (τ 1, 4 × α 0.25, 0.75, one seed, 3 epochs; run on an in-process Dask
client) is published (`kdanim publish --sweep`) as two chapters drawn without Manim
(tests/fake_chapters.py): chapter 4 reads τ but not α (drawn once per τ, and longer for the
larger τ), the comparison chapter 11 reads only the sweep (drawn once, part of every
variant). Each variant folder is an ordinary lesson folder with its own index.html.
"""

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from browser import DESKTOP, PHONE, low_contrast, open_page, overflow, serve
from conftest import use_fake_chapters
from kdanim import facts
from kdanim import sweep
from kdanim.cli import main
from kdanim.narration.subtitles import Cue, sentence_rows
from kdanim.publish import page as pagemod
from kdanim.publish import render_lesson
from kdanim.render import RenderOptions
from kdanim.sim.config import SimConfig
from kdanim.trace import load

TAUS, ALPHAS, CHAPTERS = (1.0, 4.0), (0.25, 0.75), [4, 11]  # as in the fixture's sweep and `kdanim publish`


@pytest.fixture(scope="module")
def site(fake_renderer, tmp_path_factory):
    from distributed import Client

    root = tmp_path_factory.mktemp("site")
    sweep_dir = tmp_path_factory.mktemp("sweep")
    grid = sweep.Grid(TAUS, ALPHAS, (0,), SimConfig(epochs=3))
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as client:
        sweep.run_sweep(grid, sweep_dir, client)
    with pytest.MonkeyPatch.context() as mp:
        use_fake_chapters(mp, fake_renderer, tmp_path_factory.mktemp("cache"))  # a cache of its own: all cold
        fake_renderer.calls.clear()
        result = CliRunner().invoke(main, ["publish", "--sweep", str(sweep_dir / "sweep.json"),
                                           "--chapters", "4,11", "--quality", "low", "--voice", "piper",
                                           "--jobs", "1", "--out", str(root), "-q"])
        assert result.exit_code == 0, result.output
        calls = list(fake_renderer.calls)
        dirs = [root / pagemod.variant_name(t, a) for t in TAUS for a in ALPHAS]
        traces = [load(d / "trace.json") for d in dirs]
        # one lesson rendered again into a copy of its folder, now with a WebM beside the mp4
        lesson = root.parent / "lesson"
        shutil.copytree(dirs[0], lesson)
        before = (lesson / "index.html").read_text()
        sweep_doc = sweep.load(sweep_dir / "sweep.json")
        opts = RenderOptions(quality="low", voice="piper", chapters=CHAPTERS, jobs=1,
                             sweep=facts.sweep_view(sweep_doc))
        render_lesson(traces[0], opts, lesson, webm=True)
    return {"root": root, "dirs": dirs, "traces": traces, "lesson": lesson, "before": before,
            "sweep_dir": sweep_dir, "sweep": sweep_doc, "calls": calls}


def read_vtt(path):
    """[[start, end, text], ...] of a WebVTT file, read by webvtt-py."""
    import webvtt

    return [[c.start_time.in_milliseconds() / 1000, c.end_time.in_milliseconds() / 1000, " ".join(c.text.split())]
            for c in webvtt.read(str(path))]


def manifest(folder):
    return json.loads((Path(folder) / "manifest.json").read_text())


def video_state(tab):
    return tab.page.evaluate("() => { const v = document.getElementById('video');"
                             " return {t: v.currentTime, d: v.duration, src: v.currentSrc, ready: v.readyState}; }")


def wait_ready(tab):
    tab.page.wait_for_function("document.getElementById('video').readyState >= 1")


def set_time(tab, t):
    tab.page.evaluate("t => { document.getElementById('video').currentTime = t; }", t)
    tab.page.wait_for_function("t => Math.abs(document.getElementById('video').currentTime - t) < 0.01", arg=t)


def showing_cues(tab):
    """[kind, number of cues] of the one text track that is showing."""
    return tab.page.evaluate("() => { const ts = Array.from(document.getElementById('video').textTracks)"
                             ".filter(t => t.mode === 'showing'); return ts.length === 1 && [ts[0].kind, ts[0].cues.length]; }")


def current(tab, list_id):
    return tab.page.eval_on_selector_all(f"#{list_id} li.current button", "els => els.map(e => +e.dataset.start)")


def expected_rows(trace):
    s = trace["summary"]
    return [[f"{s[k]['params']:,}", f"{100 * s[k]['test_accuracy']:.1f}%", f"{100 * s[k]['agreement']:.1f}%",
             f"{s[k]['latency_us']:.2f} µs"] for k in ("teacher", "scratch", "distilled")]


def table_rows(tab):
    return tab.page.eval_on_selector_all("#results tbody tr", "rows => rows.map(r => "
                                         "Array.from(r.querySelectorAll('td')).map(c => c.textContent))")


# -- the lesson folder -----------------------------------------------------------

def test_page_files_in_manifest_and_relative(site):
    lesson = site["lesson"]
    m = manifest(lesson)
    listed = {f["name"]: f for f in m["files"]}
    for name in ("index.html", "page.css", "page.js", "lesson.webm"):
        assert name in listed, name
        assert listed[name]["sha256"] == hashlib.sha256((lesson / name).read_bytes()).hexdigest()
    text = (lesson / "index.html").read_text()
    assert text != site["before"] and "lesson.webm" in text  # re-rendering replaced the page with the folder
    assert not [p for p in lesson.iterdir() if p.name.startswith(".")]  # no staging left behind
    for value in re.findall(r'(?:src|href)="([^"]*)"', text) + re.findall(r'"(?:src|href|vtt|page|poster)":"([^"]*)"', text):
        assert not re.match(r"^(/|[a-z]+:)", value), value  # relative only: no /abs, file:, http:
    assert str(lesson) not in text and str(site["root"]) not in text


def test_lesson_page_plays_seeks_and_follows(browser, site):
    folder = site["dirs"][0]
    m, trace = manifest(folder), site["traces"][0]
    with open_page(browser, folder / "index.html") as tab:
        wait_ready(tab)
        st = video_state(tab)
        assert st["src"].endswith("/lesson.mp4")
        assert abs(st["d"] - m["duration"]) <= 0.1, (st["d"], m["duration"])
        # captions: a showing track with every cue of lesson.vtt
        cues = read_vtt(folder / "lesson.vtt")
        assert showing_cues(tab) == ["captions", len(cues)]
        # clicking chapter N seeks to its start and marks it
        buttons = tab.page.locator("#chapters button")
        assert buttons.count() == len(m["chapters"]) == 2
        for n in (1, 0):
            buttons.nth(n).click()
            assert video_state(tab)["t"] == pytest.approx(m["chapters"][n]["start"], abs=1e-3)
            assert current(tab, "chapters") == [m["chapters"][n]["start"]]
        # the transcript reads by sentence: setting currentTime highlights the sentence it falls in (only that one)
        lines = sentence_rows([Cue(*c) for c in cues])
        assert tab.page.locator("#transcript li").count() == len(lines)
        for k in (0, len(lines) // 2, len(lines) - 1):
            set_time(tab, (lines[k][0] + lines[k][1]) / 2)
            tab.page.wait_for_function("k => document.querySelectorAll('#transcript li')[k].classList.contains('current')",
                                       arg=k)
            assert len(current(tab, "transcript")) == 1
        # a click on a sentence seeks to it; the keyboard alone works too (Tab to a button, Enter)
        tab.page.locator("#transcript button").nth(3).click()
        assert video_state(tab)["t"] == pytest.approx(lines[3][0], abs=1e-3)
        tab.page.locator("#chapters button").nth(1).focus()
        tab.page.keyboard.press("Enter")
        assert video_state(tab)["t"] == pytest.approx(m["chapters"][1]["start"], abs=1e-3)
        # the run's numbers, the command and the downloads
        assert table_rows(tab) == expected_rows(trace)
        assert tab.page.text_content("#command") == pagemod.reproduce_command(m)
        hrefs = tab.page.eval_on_selector_all("#downloads a", "as => as.map(a => a.getAttribute('href'))")
        assert {"lesson.mp4", "lesson.vtt", "lesson.srt", "trace.json"} <= set(hrefs)
        assert tab.errors == [] and tab.outside == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280x720", "390x844"])
@pytest.mark.parametrize("which", ["lesson", "explorer"])
def test_layout_fits_and_contrast(browser, site, viewport, which):
    path = site["dirs"][0] / "index.html" if which == "lesson" else site["root"] / "index.html"
    with open_page(browser, path, viewport=viewport) as tab:
        wait_ready(tab)
        set_time(tab, round(manifest(path.parent if which == "lesson" else site["dirs"][0])["duration"] / 2, 2))
        assert overflow(tab.page) == []
        assert low_contrast(tab.page) == []
        # every control is reachable with Tab and shows a focus outline
        tab.page.keyboard.press("Tab")
        tab.page.keyboard.press("Tab")
        outline = tab.page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
        assert outline == "solid"
        # kept in pytest's temporary folder (--basetemp) for a person to look at
        tab.page.screenshot(path=str(site["root"].parent / f"{which}-{viewport['width']}x{viewport['height']}.png"),
                            full_page=True)
        assert tab.errors == [] and tab.outside == []


def test_copied_folder_still_works(browser, site, tmp_path):
    copy = tmp_path / "elsewhere" / "my lesson"  # a space in the path, too
    shutil.copytree(site["dirs"][1], copy)
    with open_page(browser, copy / "index.html") as tab:
        wait_ready(tab)
        assert abs(video_state(tab)["d"] - manifest(copy)["duration"]) <= 0.1
        assert all(u.startswith(copy.as_uri() + "/") for u in tab.requests), tab.requests
        assert tab.errors == [] and tab.outside == []


def test_static_host_loads_the_vtt_track(browser, site):
    folder = site["dirs"][0]
    with serve(folder) as url, open_page(browser, url + "index.html") as tab:
        wait_ready(tab)
        tab.page.wait_for_function("() => { const t = document.querySelector('#video track');"
                                   " return t && t.readyState === 2 && t.track.cues.length > 0; }")
        n = tab.page.evaluate("document.querySelector('#video track').track.cues.length")
        assert n == len(read_vtt(folder / "lesson.vtt"))
        assert tab.page.get_attribute("#video track", "src") == "lesson.vtt"
        assert tab.errors == [] and tab.outside == []


NO_H264 = ("const f = HTMLMediaElement.prototype.canPlayType;"
           "HTMLMediaElement.prototype.canPlayType = function (t) { return /mp4|avc1/.test(t) ? '' : f.call(this, t); };")
NO_VIDEO = "HTMLMediaElement.prototype.canPlayType = function () { return ''; };"


def test_without_h264_the_webm_plays(browser, site):
    lesson = site["lesson"]
    with open_page(browser, lesson / "index.html", init_script=NO_H264) as tab:
        tab.page.wait_for_function("document.getElementById('video').readyState >= 2")
        st = video_state(tab)
        assert st["src"].endswith("/lesson.webm")
        assert abs(st["d"] - manifest(lesson)["duration"]) <= 0.1
        assert tab.page.is_hidden("#codec-note")
        assert tab.errors == [] and tab.outside == []
    with open_page(browser, lesson / "index.html", init_script=NO_VIDEO) as tab:
        assert tab.page.is_visible("#codec-note")  # no playable format: say so, offer the download
        assert tab.page.get_attribute("#codec-download", "href") == "lesson.mp4"


# -- the explorer ----------------------------------------------------------------

def test_variants_are_the_sweeps_runs_with_the_comparison_chapter(site):
    runs = {(r["tau"], r["alpha"]): r for r in site["sweep"]["runs"]}
    assert len(runs) == len(site["dirs"]) == 4
    for d, tr in zip(site["dirs"], site["traces"]):
        run = runs[(tr["config"]["tau"], tr["config"]["alpha"])]
        # the saved run of the sweep, not a new simulation
        assert manifest(d)["trace_content_hash"] == run["content_hash"]
        assert (d / "trace.json").read_bytes() == (site["sweep_dir"] / run["trace"]).read_bytes()
        assert [(c["number"], c["title"]) for c in manifest(d)["chapters"]] == [
            (4, "Soft labels and temperature"), (11, "Choosing τ and α")]
        # the page's command makes the sweep, then this variant with the comparison chapter
        assert pagemod.reproduce_command(manifest(d)) == (
            "kdanim sweep --tau 1,4 --alpha 0.25,0.75 --seeds 0 --epochs 3 --out sweep/ && kdanim render "
            f"--tau {tr['config']['tau']:g} --alpha {tr['config']['alpha']:g} --epochs 3 --quality low "
            "--chapters 4,11 --sweep sweep/sweep.json")
    # chapter 4 drawn once per τ (its length follows τ), the comparison chapter once for all four
    assert sorted((n, tau) for n, tau, _ in site["calls"] if n == 4) == [(4, t) for t in TAUS]
    assert [n for n, _, _ in site["calls"]].count(11) == 1
    lengths = {(tr["config"]["tau"], manifest(d)["chapters"][0]["length"]) for d, tr in zip(site["dirs"], site["traces"])}
    assert len(lengths) == len(TAUS) and len({length for _, length in lengths}) == len(TAUS)
    assert len({manifest(d)["chapters"][1]["length"] for d in site["dirs"]}) == 1


def test_explorer_sliders_switch_variant_at_same_chapter_and_time(browser, site):
    root, traces = site["root"], site["traces"]
    by_key = {(tr["config"]["tau"], tr["config"]["alpha"]): tr for tr in traces}
    with open_page(browser, root / "index.html") as tab:
        wait_ready(tab)
        assert tab.page.get_attribute("#tau", "aria-valuetext") == "τ = 1"
        assert tab.page.get_attribute("#alpha", "aria-valuetext") == "α = 0.25"
        key = (1.0, 0.25)
        moves = (("#tau", "ArrowRight", (4.0, 0.25)), ("#alpha", "ArrowRight", (4.0, 0.75)),
                 ("#tau", "ArrowLeft", (1.0, 0.75)))
        for slider, arrow, new_key in moves:
            folder = root / pagemod.variant_name(*key)
            chapters = manifest(folder)["chapters"]
            set_time(tab, chapters[1]["start"] + 3.0)  # 3 s into the second chapter
            tab.page.focus(slider)  # keyboard only: arrows move the slider
            tab.page.keyboard.press(arrow)
            new = root / pagemod.variant_name(*new_key)
            want = manifest(new)["chapters"][1]["start"] + 3.0
            tab.page.wait_for_function(
                "([src, t]) => { const v = document.getElementById('video');"
                " return v.currentSrc.endsWith(src) && v.readyState >= 1 && Math.abs(v.currentTime - t) < 0.05; }",
                arg=[pagemod.variant_name(*new_key) + "/lesson.mp4", want])
            st = video_state(tab)
            assert abs(st["d"] - manifest(new)["duration"]) <= 0.1
            assert current(tab, "chapters") == [manifest(new)["chapters"][1]["start"]]
            assert table_rows(tab) == expected_rows(by_key[new_key])
            assert showing_cues(tab) == ["captions", len(read_vtt(new / "lesson.vtt"))]
            assert f"τ\u00a0=\u00a0{new_key[0]:g}, α\u00a0=\u00a0{new_key[1]:g}" in tab.page.text_content("#heading")
            assert tab.page.get_attribute("#variant-link a", "href") == pagemod.variant_name(*new_key) + "/index.html"
            key = new_key
        assert tab.errors == [] and tab.outside == []


def test_explorer_needs_a_full_grid(site, tmp_path):
    with pytest.raises(pagemod.PageError, match="missing τ = 4, α = 0.75"):
        pagemod.write_explorer(site["root"], site["dirs"][:3])
    with pytest.raises(pagemod.PageError, match="inside the site"):
        pagemod.write_explorer(tmp_path, site["dirs"])


def test_explorer_republished_as_a_whole(site):
    root = site["root"]
    before = {p: p.stat().st_ino for p in (root / "variants").rglob("*") if p.is_file()}
    pagemod.write_explorer(root, site["dirs"])  # again: the same three files swapped in, the variants kept
    listed = {f["name"] for f in manifest(root)["files"]}
    assert listed == {"index.html", "page.css", "page.js"}
    assert {p: p.stat().st_ino for p in (root / "variants").rglob("*") if p.is_file()} == before
    assert not [p for p in root.parent.iterdir() if ".staging-" in p.name or p.name.endswith(".old")]


@pytest.mark.parametrize("args, words", [
    (["--tau", "0"], ["--tau", "'0'", "> 0"]),
    (["--tau", "1,x"], ["--tau", "'x'"]),
    (["--alpha", "0.5,1.5"], ["--alpha", "'1.5'"]),
    (["--chapters", "12"], ["--chapters", "'12'"]),
    (["--chapters", "11"], ["--chapters", "'11'", "--sweep"]),
    (["--sweep", "SWEEP", "--tau", "1,4"], ["--sweep", "--tau"]),
    (["--sweep", "SWEEP", "--epochs", "5"], ["--sweep", "--epochs."]),
    (["--sweep", "SWEEP", "--seed", "7"], ["--seed", "7", "not a seed"]),
    (["--sweep", "TRACE"], ["--sweep", "schema"]),
    (["--sweep", "BROKEN"], ["--sweep", "not valid JSON"]),
    (["--sweep", "MISSING"], ["--sweep", "cannot read"]),
])
def test_publish_usage_errors(site, tmp_path, args, words):
    files = {"SWEEP": site["sweep_dir"] / "sweep.json", "TRACE": site["dirs"][0] / "trace.json",
             "BROKEN": tmp_path / "broken.json", "MISSING": tmp_path / "missing.json"}
    files["BROKEN"].write_text("{not json")
    out = tmp_path / "site"
    result = CliRunner().invoke(main, ["publish", "--out", str(out), *[str(files.get(a, a)) for a in args]])
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert line.startswith("Error: ") and "\n" not in line and all(w in line for w in words), line
    assert not out.exists()


def test_publish_refuses_a_run_the_sweep_did_not_record(site, tmp_path):
    copy = tmp_path / "sweep"
    shutil.copytree(site["sweep_dir"], copy)
    runs = sorted((copy / "runs").glob("*.json"))
    shutil.copy(runs[1], runs[0])  # another run's trace under this run's name
    out = tmp_path / "site"
    result = CliRunner().invoke(main, ["publish", "--sweep", str(copy / "sweep.json"), "--out", str(out)])
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert "\n" not in line and "--sweep" in line and runs[0].name in line and "content hash" in line, line
    assert not out.exists()


def test_the_transcript_reads_by_sentence(site):
    """The page's transcript joins the cues of a sentence (a caption may end mid-sentence); the captions stay cues."""
    from kdanim.narration.subtitles import Cue as C

    data = pagemod.lesson_data(site["dirs"][0], manifest(site["dirs"][0]), site["traces"][0])
    assert [s[2] for s in data["sentences"]] == [s[2] for s in sentence_rows([C(*c) for c in data["cues"]])]
    cues = [C(0.0, 2.0, "a student with about 8"), C(2.2, 4.0, "thousand, at temperature 3."), C(4.5, 5.0, "Yes.")]
    assert [s[2] for s in sentence_rows(cues)] == ["a student with about 8 thousand, at temperature 3.", "Yes."]


def test_reproduce_command_names_the_theme_and_the_voice_model(tmp_path):
    """--theme (unless dark, the default) and --voice-model, as the manifest records them, are on the command."""
    import shlex

    from kdanim.publish.lesson import parameters

    trace = {"config": SimConfig().to_dict()}
    plain = pagemod.reproduce_command({"parameters": parameters(trace, RenderOptions(quality="low"), "mp4")})
    assert "--theme" not in plain and "--voice-model" not in plain
    model = tmp_path / "my voices" / "de_DE-thorsten-medium.onnx"  # a space in the path: quoted
    opts = RenderOptions(quality="low", theme="light", voice="piper", voice_model=str(model))
    args = shlex.split(pagemod.reproduce_command({"parameters": parameters(trace, opts, "mp4")}))
    assert args[args.index("--theme") + 1] == "light"
    assert args[args.index("--voice-model") + 1] == str(model)
