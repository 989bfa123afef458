"""The lesson's web page (index.html beside lesson.mp4) and the explorer page over (τ, α) variants.

    names = write_page(folder, manifest, trace, cues)    # index.html, page.css, page.js
    write_explorer(site, [variants/tau1-alpha0.25, ...])  # one page with a τ and an α slider

The pages are static: the lesson's data (chapters, cues, results, command) is
embedded in index.html as JSON, the CSS and JS are the two files in
kdanim/web, every link is relative. They work from file:// and any static host,
and make no request outside their folder.
"""

from __future__ import annotations

import html
import json
import shlex
from pathlib import Path
from string import Template

import srt

from kdanim import __version__
from kdanim.facts import run_facts
from kdanim.files import atomic_write
from kdanim.narration import locale
from kdanim.narration.script import LANGUAGES, ScriptError, load_cached
from kdanim.narration.subtitles import Cue, cue_rows, sentence_rows
from kdanim.sim.config import cli_args
from kdanim.trace import MODELS

from .folder import publish, staging_for

__all__ = ["PAGE_FILES", "write_page", "write_explorer", "variant_name", "lesson_data", "reproduce_command",
           "page_words", "PageError"]

WEB = Path(__file__).resolve().parent / "web"
ASSETS = ("page.css", "page.js")
PAGE_FILES = ("index.html",) + ASSETS
VIDEO_TYPES = {"mp4": "video/mp4", "webm": "video/webm"}


class PageError(ValueError):
    """A lesson folder the page cannot be made from; the message names the folder and what is missing."""


def _published_cues(folder: Path) -> list[list]:
    """The cues of a published lesson folder, read from its lesson.srt (by the `srt` library)."""
    subs = srt.parse((folder / "lesson.srt").read_text(encoding="utf-8"))
    return [[round(c.start.total_seconds(), 3), round(c.end.total_seconds(), 3), " ".join(c.content.splitlines())]
            for c in subs]


def page_words(folder, manifest: dict, trace: dict) -> tuple[str, dict[str, str]]:
    """The page's own words (the ``# page:`` section of the lesson's script, filled for its run) and the
    language they are in: the shipped script the manifest names, or the user's script copied beside the video."""
    name = manifest.get("parameters", {}).get("render", {}).get("script") or "en"
    try:
        script = load_cached(name if name in LANGUAGES else str(Path(folder) / name))
    except (ScriptError, OSError):
        script = load_cached("en")
    words = script.fill(run_facts(trace))
    return script.lang.code, {i.split(".", 1)[1]: words.show(i) for i in script.chapter_ids("page")}


def reproduce_command(manifest: dict) -> str:
    """The `kdanim render` command line that makes this lesson again (from the manifest's parameters).

    A lesson with the sweep chapter is made by a `kdanim sweep` of the same grid first.
    """
    r = manifest["parameters"]["render"]
    sim = manifest["parameters"]["simulation"]
    args = cli_args(sim) + ["--quality", r["quality"]]
    if r.get("format", "mp4") != "mp4":
        args += ["--format", r["format"]]
    lang = r.get("language", "en")
    if r.get("script") in LANGUAGES and r["script"] != "en":
        args += ["--lang", r["script"]]
    if r.get("voice") and r["voice"] != locale.default_voice(lang):
        args += ["--voice", r["voice"]]
    if r.get("chapters"):
        args += ["--chapters", ",".join(str(c) for c in r["chapters"])]
    if r.get("loudness", -16.0) != -16.0:
        args += ["--loudness", f"{r['loudness']:g}"]
    if r.get("probe_class"):
        args += ["--probe-class", str(r["probe_class"])]
    if r.get("theme", "dark") != "dark":
        args += ["--theme", r["theme"]]
    if r.get("voice_model"):
        args += ["--voice-model", shlex.quote(r["voice_model"])]
    if r.get("script") and r["script"] not in LANGUAGES:  # the user's script, copied beside the video
        args += ["--script", shlex.quote(r["script"])]
    for key, value in (r.get("credits") or {}).items():
        args += [f"--{key}", shlex.quote(value)]
    render = " ".join(["kdanim", "render", *args])
    axes = r.get("sweep_axes")
    if not axes:
        return render
    common = cli_args(sim, always=())
    common = [x for o, v in zip(common[::2], common[1::2]) if o not in ("--tau", "--alpha", "--seed") for x in (o, v)]
    sweep = " ".join(["kdanim", "sweep", "--tau", _numbers(axes["tau"]), "--alpha", _numbers(axes["alpha"]),
                      "--seeds", _numbers(axes["seed"]), *common, "--out", "sweep/"])
    return f"{sweep} && {render} --sweep sweep/sweep.json"


def _numbers(values) -> str:
    return ",".join(repr(v).removesuffix(".0") if isinstance(v, float) else str(v) for v in values)


def lesson_data(folder, manifest: dict, trace: dict, base: str = "", cues: list[Cue] | None = None) -> dict:
    """What the page shows of one lesson folder; every path is relative and prefixed with ``base``.

    ``cues``: the lesson's subtitles (default: read from the folder's lesson.srt).
    """
    folder = Path(folder)
    videos = [n for n in (f"lesson.{ext}" for ext in VIDEO_TYPES) if (folder / n).is_file()]
    if not videos or not (folder / "lesson.vtt").is_file():
        raise PageError(f"{folder}: no lesson.mp4/lesson.webm with lesson.vtt to make a page from")
    sim = trace["config"]
    lang, w = page_words(folder, manifest, trace)
    labels = {"lesson.mp4": w["dl_mp4"], "lesson.webm": w["dl_webm"], "lesson.vtt": w["dl_vtt"],
              "lesson.srt": w["dl_srt"], "transcript.md": w["dl_transcript"], "trace.json": w["dl_trace"],
              "contact-sheet.png": w["dl_contact"]}
    downloads = [{"href": base + n, "label": label, "bytes": (folder / n).stat().st_size}
                 for n, label in labels.items() if (folder / n).is_file()]
    summary = trace["summary"]
    credits = manifest.get("credits") or {}
    return {
        "title": credits.get("title") or w["title"].replace(" = ", "\u00a0=\u00a0"),
        "credits": credits,
        # the language of the words, captions and page (<html lang>, <track srclang>), and the page's words
        "lang": lang, "words": w,
        "tau": sim["tau"], "alpha": sim["alpha"],
        "sources": [{"src": base + n, "type": VIDEO_TYPES[n.rsplit(".", 1)[1]]} for n in videos],
        "poster": base + "thumbnail.png" if (folder / "thumbnail.png").is_file() else None,
        "vtt": base + "lesson.vtt",
        "page": base + "index.html",
        "duration": manifest["duration"],
        "chapters": manifest["chapters"],
        "cues": cue_rows(cues) if cues is not None else _published_cues(folder),
        # the transcript reads by sentence (the captions stay cues): [start, end, text] per sentence
        "sentences": sentence_rows(cues if cues is not None else [Cue(*c) for c in _published_cues(folder)]),
        "results": [{"model": key, "label": w[key], "params": summary[key]["params"],
                     "accuracy": summary[key]["test_accuracy"], "agreement": summary[key]["agreement"],
                     "latency_us": summary[key].get("latency_us")} for key in MODELS],
        "command": reproduce_command(manifest),
        "trace_hash": manifest.get("trace_content_hash", "")[:16],
        "downloads": downloads,
    }


def _html(data: dict, explorer: bool) -> str:
    """index.html for one lesson (``data["variants"]`` has one entry) or for the explorer."""
    first = data["variants"][data["initial"]]
    sources = "\n      ".join(f'<source src="{html.escape(s["src"])}" type="{s["type"]}">'
                               for s in first["sources"])
    poster = f' poster="{html.escape(first["poster"])}"' if first["poster"] else ""
    words = {f"w_{k}": html.escape(v) for k, v in first["words"].items()}  # $w_name: the script's page words
    sliders = ""
    if explorer:
        sliders = Template((WEB / "sliders.html").read_text(encoding="utf-8")).substitute(
            tau_max=len(data["taus"]) - 1, alpha_max=len(data["alphas"]) - 1, **words)
    blob = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    credits = first.get("credits") or {}
    byline = " · ".join(credits[k] for k in ("course", "author", "institution") if credits.get(k))
    return Template((WEB / "index.html").read_text(encoding="utf-8")).substitute(
        title=html.escape(first["title"] if not explorer else credits.get("title") or first["words"]["explorer_title"]),
        credits=f'<p class="sub" id="credits">{html.escape(byline)}</p>' if byline else "",
        heading=html.escape(first["title"]), sliders=sliders, sources=sources, poster=poster,
        video_href=html.escape(first["sources"][0]["src"]), data=blob, lang=html.escape(first["lang"]), **words)


def _write(folder: Path, data: dict, explorer: bool) -> list[str]:
    for name in ASSETS:
        atomic_write(folder / name, (WEB / name).read_text(encoding="utf-8"))
    atomic_write(folder / "index.html", _html(data, explorer))
    return list(PAGE_FILES)


def write_page(folder, manifest: dict, trace: dict, cues: list[Cue] | None = None) -> list[str]:
    """Write index.html, page.css and page.js into a lesson folder; return their names."""
    folder = Path(folder)
    lesson = lesson_data(folder, manifest, trace, cues=cues)
    return _write(folder, {"variants": [lesson], "initial": 0, "taus": [lesson["tau"]],
                           "alphas": [lesson["alpha"]]}, explorer=False)


def write_explorer(site, variant_dirs, initial=None) -> list[str]:
    """Write the explorer page into ``site`` over lesson folders inside it (a full τ × α grid).

    ``variant_dirs`` are rendered lesson folders (with manifest.json and
    trace.json) under ``site``; ``initial`` is the (τ, α) shown first
    (default: the middle of the grid).
    """
    site = Path(site).resolve()
    variants = []
    for d in variant_dirs:
        d = Path(d).resolve()
        try:
            base = d.relative_to(site).as_posix() + "/"
        except ValueError:
            raise PageError(f"{d}: a variant must be a folder inside the site {site}") from None
        for name in ("manifest.json", "trace.json"):
            if not (d / name).is_file():
                raise PageError(f"{d}: no {name}: render the variant first")
        manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
        trace = json.loads((d / "trace.json").read_text(encoding="utf-8"))
        variants.append(lesson_data(d, manifest, trace, base=base))
    taus = sorted({v["tau"] for v in variants})
    alphas = sorted({v["alpha"] for v in variants})
    grid = {(v["tau"], v["alpha"]) for v in variants}
    missing = [(t, a) for t in taus for a in alphas if (t, a) not in grid]
    if missing or len(grid) != len(variants):
        what = f"missing τ = {missing[0][0]:g}, α = {missing[0][1]:g}" if missing else "a (τ, α) given twice"
        raise PageError(f"the variants must form a full τ × α grid: {what}")
    variants.sort(key=lambda v: (v["tau"], v["alpha"]))
    if initial is None:
        initial = (taus[(len(taus) - 1) // 2], alphas[(len(alphas) - 1) // 2])
    start = next((i for i, v in enumerate(variants) if (v["tau"], v["alpha"]) == tuple(initial)), 0)
    data = {"variants": variants, "initial": start, "taus": taus, "alphas": alphas}
    # the page's three files are swapped in together; the variant folders are carried over as they are
    with staging_for(site) as staging:
        names = _write(staging, data, explorer=True)
        publish(staging, site, {"kdanim": __version__, "explorer": [v["page"] for v in variants]})
    return names


def variant_name(tau: float, alpha: float) -> str:
    """The folder of one (τ, α) variant inside a site: ``variants/tau3-alpha0.5``."""
    return f"variants/tau{tau:g}-alpha{alpha:g}"
