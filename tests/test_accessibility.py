"""The pages a lesson is published as, for every reader: axe-core finds nothing on the lesson page, the explorer
page and the HTML deck (WCAG 2.0–2.2 A and AA, best practice) at a laptop's and a phone's viewport; the
captions stay in the frame's caption-safe band; `kdanim check` audits the pages; and the contact sheet.

The lessons are drawn by the fake renderer (tests/fake_chapters.py: a flat colour per beat); the pages, the
deck, the contact sheet and the checks are the real code. axe-core is the npm package scripts/setup.sh
fetches (kdanim.publish.axe), injected into the page: it makes no request.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from browser import DESKTOP, PHONE, open_page
from conftest import use_fake_chapters
from fake_chapters import colour
from kdanim.cli import main
from kdanim.narration.subtitles import LINE_CHARS
from kdanim.publish import axe, contact
from kdanim.publish.check import check_folder
from kdanim.publish.page import variant_name
from kdanim.viz.layout import CAPTION_SAFE

TAUS, ALPHAS, CHAPTERS = (1, 4), (0.25, 0.75), (4, 5)
VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280x720", "390x844"])


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


COMMON = ["--epochs", 3, "--chapters", ",".join(map(str, CHAPTERS)), "--quality", "low", "--jobs", 1, "-q"]


@pytest.fixture(scope="module")
def fake_cache_a11y(tmp_path_factory):
    return tmp_path_factory.mktemp("a11y-cache")


@pytest.fixture(scope="module")
def lesson(fake_renderer, fake_cache_a11y, tmp_path_factory):
    """One lesson folder (τ 1, α 0.25) and the timelines of its chapters: the quick tests' lesson."""
    out = tmp_path_factory.mktemp("a11y-lesson") / "lesson"
    with pytest.MonkeyPatch.context() as mp:
        use_fake_chapters(mp, fake_renderer, fake_cache_a11y)
        result = invoke("render", "--tau", TAUS[0], "--alpha", ALPHAS[0], "--voice", "piper", "--out", out, *COMMON)
    assert result.exit_code == 0, result.output
    return {"lesson": out, "timelines": lesson_timelines(fake_cache_a11y, out)}


@pytest.fixture(scope="module")
def published(lesson, fake_renderer, fake_cache_a11y, tmp_path_factory):
    """An explorer site over a 2 × 2 grid (each variant a lesson folder with its page) and a deck, for the
    browser tests (the lesson: the site's first variant)."""
    root = tmp_path_factory.mktemp("a11y")
    with pytest.MonkeyPatch.context() as mp:
        use_fake_chapters(mp, fake_renderer, fake_cache_a11y)
        site = invoke("publish", "--tau", ",".join(map(str, TAUS)), "--alpha", ",".join(map(str, ALPHAS)),
                      "--voice", "piper", "--out", root / "site", *COMMON)
        assert site.exit_code == 0, site.output
        deck = invoke("slides", "--tau", TAUS[0], "--alpha", ALPHAS[0], "--voice", "none", "--out", root / "deck",
                      *COMMON)
        assert deck.exit_code == 0, deck.output
    return {"site": root / "site", "lesson": root / "site" / variant_name(TAUS[0], ALPHAS[0]), "deck": root / "deck"}


def lesson_timelines(cache, lesson):
    """The timelines of a lesson's chapters, from the chapter cache: the entries as long as its chapters."""
    found = []
    for ch in json.loads((lesson / "manifest.json").read_text())["chapters"]:
        tls = [json.loads(p.read_text()) for p in (cache / "chapters").glob("*/timeline.json")]
        mine = [tl for tl in tls if tl["chapter"] == ch["number"] and abs(tl["duration"] - ch["length"]) < 0.01]
        assert len({json.dumps(tl["beat_spans"]) for tl in mine}) == 1, ch
        found.append(mine[0])
    return found


# -- axe-core --------------------------------------------------------------------------------------

def settle(tab, which):
    """Open the page as a reader uses it: the lesson halfway through, the explorer after a slider move,
    the deck on its second slide."""
    page = tab.page
    if which == "deck":
        page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=20000)
        page.keyboard.press("ArrowRight")
        page.wait_for_function("() => Reveal.getIndices().v === 1")
        return
    page.wait_for_function("document.getElementById('video').readyState >= 1")
    if which == "lesson":
        page.evaluate("() => { const v = document.getElementById('video'); v.currentTime = v.duration / 2; }")
        page.wait_for_function("() => document.querySelectorAll('#transcript li.current').length === 1")
    else:
        before = page.text_content("#tau-value")
        page.focus("#tau")
        page.keyboard.press("ArrowRight")
        page.wait_for_function("t => document.getElementById('tau-value').textContent !== t", arg=before)


def page_path(published, which):
    return {"lesson": published["lesson"] / "index.html", "explorer": published["site"] / "index.html",
            "deck": published["deck"] / "deck.html"}[which]


@VIEWPORTS
@pytest.mark.parametrize("which", ["lesson", "explorer", "deck"])
def test_no_axe_violations(browser, published, which, viewport):
    with open_page(browser, page_path(published, which), viewport=viewport) as tab:
        settle(tab, which)
        found = axe.violations(tab.page)
        assert found == [], f"axe-core {axe.AXE_VERSION} on the {which} page at {viewport}:\n{axe.describe(found)}"
        assert tab.errors == [] and tab.outside == []


def test_axe_finds_a_button_named_other_than_it_reads(browser, published):
    """The audit can fail: the page's old chapter buttons (an aria-label without their visible time) are found."""
    with open_page(browser, published["lesson"] / "index.html") as tab:
        settle(tab, "lesson")
        tab.page.evaluate("() => { const b = document.querySelector('#chapters button');"
                          " b.setAttribute('aria-label', b.textContent.replace(/^\\S+ /, '') + ', at 0:00'); }")
        found = axe.violations(tab.page)
    assert [(v.id, v.impact, len(v.targets)) for v in found] == [("label-content-name-mismatch", "serious", 1)], \
        axe.describe(found)
    assert found[0].targets[0].startswith("#chapters") and 'data-start="0"' in found[0].targets[0]


def test_the_seek_buttons_are_named_by_what_they_show(browser, published):
    with open_page(browser, published["lesson"] / "index.html") as tab:
        settle(tab, "lesson")
        first = tab.page.locator("#chapters button").first
        assert first.get_attribute("aria-label") is None
        assert re.fullmatch(r"\d+:\d\d 4\. Soft labels and temperature", first.text_content())
        # found by the accessible name a screen reader reads (the ARIA name computation): what it shows
        assert tab.page.get_by_role("button", name=first.text_content(), exact=True).count() == 1


# -- captions in the caption-safe band --------------------------------------------------------------

#: The widest caption the rules allow: two lines of LINE_CHARS characters.
TWO_LINES = "The student learns from the teacher's soft\nlabels as well as from the true hard label"


def video_pixels(tab):
    return np.asarray(Image.open(io.BytesIO(tab.page.locator("#video").screenshot())).convert("RGB")).astype(int)


def caption_rows(tab, text):
    """(top, bottom) pixel rows of the video box that a caption of ``text`` changes: the drawn cue box."""
    tab.page.evaluate("""text => { const v = document.getElementById('video');
      for (const t of v.textTracks) t.mode = 'disabled';
      const t = v.addTextTrack('captions', 'probe', 'en'); t.addCue(new VTTCue(0, 1e6, text)); t.mode = 'hidden';
      window.probe = t; }""", text)
    tab.page.wait_for_timeout(1200)  # the controls' fade settled
    without = video_pixels(tab)
    tab.page.evaluate("probe.mode = 'showing'")
    tab.page.wait_for_timeout(1200)
    changed = np.abs(video_pixels(tab) - without).sum(axis=2) > 60
    rows = np.flatnonzero(changed.sum(axis=1) >= 3)
    tab.page.evaluate("probe.mode = 'disabled'")
    assert rows.size, f"no caption drawn for {text!r}"
    return int(rows.min()), int(rows.max())


@VIEWPORTS
def test_two_lines_of_captions_fit_the_caption_safe_band(browser, published, viewport):
    """Chromium draws captions above its control bar (the video has controls): the page keeps them in the
    bottom 12% of the picture (kdanim.viz.layout.CAPTION_SAFE), which every scene keeps free."""
    assert [len(line) for line in TWO_LINES.split("\n")] == [LINE_CHARS, LINE_CHARS]
    with open_page(browser, published["lesson"] / "index.html", viewport=viewport) as tab:
        tab.page.wait_for_function("document.getElementById('video').readyState >= 2")
        tab.page.evaluate("document.getElementById('video').currentTime = 1")  # inside the first beat
        tab.page.wait_for_function("!document.getElementById('video').seeking")
        box = tab.page.locator("#video").bounding_box()
        picture = round(box["width"] * 9 / 16)  # the 16:9 frame, at the top of the video box
        # the (bright) frame fills the box down to the picture's height, the control bar's strip is below it
        dark = np.flatnonzero(np.median(video_pixels(tab), axis=1).max(axis=1) <= 60)
        assert abs(dark[0] - picture) <= 1 and box["height"] - picture > 60, (dark[0], picture, box)
        one_top, one_bottom = caption_rows(tab, TWO_LINES.split("\n")[0])
        top, bottom = caption_rows(tab, TWO_LINES)
        band = CAPTION_SAFE * picture
        print(f"\n{viewport}: picture {picture} px, band {band:.1f} px, two lines {bottom - top + 1} px "
              f"(rows {top}–{bottom}), one line {one_bottom - one_top + 1} px")
        assert bottom - top + 1 > 1.6 * (one_bottom - one_top + 1), "not two lines"
        assert bottom <= picture and top >= picture - band, (top, bottom, picture, band)
        assert tab.errors == [] and tab.outside == []


# -- kdanim check ----------------------------------------------------------------------------------

def test_check_says_when_it_cannot_audit_the_pages(lesson, tmp_path, monkeypatch):
    monkeypatch.setenv("KDANIM_AXE", str(tmp_path / "no-axe.min.js"))
    report = check_folder(lesson["lesson"], pages=True)
    row = report.rows[-1]
    assert row.skipped and row.ok and "axe-core" in row.value and "not installed" in row.value
    assert report.ok and "1 skipped" in report.summary()
    assert any(line.endswith("–") and "page accessibility" in line for line in report.table().splitlines())
    assert not any(r.skipped for r in check_folder(lesson["lesson"]).rows)  # without pages=True: no page row


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(axe.unavailable() is not None, reason=str(axe.unavailable()))
def test_check_audits_every_kind_of_page(published, tmp_path):
    for folder, names in ((published["lesson"], ["index.html"]), (published["deck"], ["deck.html"]),
                          (published["site"], ["index.html", f"{variant_name(TAUS[0], ALPHAS[0])}/index.html"])):
        report = check_folder(folder, pages=True)
        rows = [r for r in report.rows if r.check.endswith("accessibility")]
        assert [r.check for r in rows] == [f"{n} accessibility" for n in names]
        assert all(r.ok and r.value == "0 violations" for r in rows), report.table()
    # a page whose buttons are named other than they read fails, naming the rule
    broken = tmp_path / "lesson"
    shutil.copytree(published["lesson"], broken)
    js = (broken / "page.js").read_text()
    hook = 'b.addEventListener("click"'
    assert hook in js
    (broken / "page.js").write_text(js.replace(hook, 'b.setAttribute("aria-label", label); ' + hook, 1))
    row = next(r for r in check_folder(broken, pages=True).rows if r.check == "index.html accessibility")
    assert not row.ok and "label-content-name-mismatch" in row.value and "1280×720" in row.value


# -- the contact sheet -----------------------------------------------------------------------------

def test_contact_sheet_is_published_listed_and_linked(lesson):
    folder = lesson["lesson"]
    sheet = folder / contact.CONTACT_SHEET
    listed = {f["name"]: f for f in json.loads((folder / "manifest.json").read_text())["files"]}
    assert listed[contact.CONTACT_SHEET]["sha256"] == hashlib.sha256(sheet.read_bytes()).hexdigest()
    assert listed[contact.CONTACT_SHEET]["bytes"] == sheet.stat().st_size
    data = json.loads(re.search(r'<script type="application/json" id="lesson-data">(.*?)</script>',
                                (folder / "index.html").read_text(), re.S).group(1).replace("<\\/", "</"))
    assert contact.CONTACT_SHEET in [d["href"] for d in data["variants"][0]["downloads"]]


def test_contact_sheet_shows_the_end_of_every_beat(lesson):
    """A picture per beat, a row per chapter; each the beat's own colour (the fake renderer draws each beat
    in one), so each is the right frame; each label inside its own column."""
    timelines = lesson["timelines"]
    counts = [len(tl["beats"]) for tl in timelines]
    boxes = contact.cell_boxes(counts)
    sheet = np.asarray(Image.open(lesson["lesson"] / contact.CONTACT_SHEET).convert("RGB")).astype(int)
    w, h = contact.THUMB
    assert sheet.shape[:2] == (contact.PAD + len(counts) * (contact.HEADER + h + contact.LABEL + contact.PAD),
                               contact.PAD + max(counts) * (w + contact.PAD))
    background = np.array(contact.BACKGROUND)
    for tl, row in zip(timelines, boxes):
        for k, (x0, y0, x1, y1) in enumerate(row):
            seen = np.median(sheet[y0 + 10:y1 - 10, x0 + 10:x1 - 10].reshape(-1, 3), axis=0)
            want = [np.array(colour(tl["chapter"], j)) for j in range(len(row))]
            dist = [np.abs(seen - c).max() for c in want]
            assert dist[k] < 25 and dist[k] == min(dist), (tl["chapter"], k, seen, want[k])
            label = sheet[y1 + 2:y1 + contact.LABEL, x0:x1]
            assert (np.abs(label - background).max(axis=2) > 60).sum() > 30, f"no label under {tl['chapter']}.{k + 1}"
            gap = sheet[y0:y1 + contact.LABEL, x1 + 2:x1 + contact.PAD - 1]
            assert (np.abs(gap - background).max(axis=2) < 8).all(), "a label runs into the next column"
