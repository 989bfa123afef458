"""Shared fixtures and markers.

Session fixtures (made once for the whole run):

- ``rings_trace``, ``digits_trace``: the default run of each dataset (no latency measured);
  ``trace_file``: the rings trace saved.
- ``chapter_cache``: the session's cache folder ($KDANIM_CACHE, set for every test; a test
  that needs an empty cache takes ``cache``). The real Manim renders file their chapters and
  Piper clips here, and every later render of the same chapters reuses them.
- ``real_lesson``: the one real `kdanim render` of the session (chapters 5 and 9, low quality,
  the Piper voice); the render and slides tests read it and its cached chapters.
- ``fake_renderer`` / ``fake_chapters``: chapters "rendered" without Manim (tests/fake_chapters.py)
  into a chapter cache of their own, for the tests of the lesson folder, the page and the deck.
- ``chapter_run``: every chapter run once per dataset without drawing frames (tests/chapter_runs.py),
  in a worker process started when the tests are collected: on the second core, while the tests
  before test_scenes.py run here.
- ``browser``: one headless chromium (tests/browser.py).

Markers (registered in pyproject.toml): ``slow`` (real Manim renders, processes started and
killed, long runs), ``browser`` (chromium), ``dask`` (Dask: a real scheduler and workers). A test
that uses ``real_lesson`` is marked slow, one that uses ``browser`` browser and slow, one that uses
``dask_cluster`` (a scheduler and worker processes) dask and slow, here at collection.
While working: ``pytest -m "not slow"``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

#: The chapters of the session's real render: the two shortest (about 40 s and 30 s of speech).
REAL_CHAPTERS = [5, 9]

#: A test that uses one of these fixtures gets these markers.
MARKED_BY_FIXTURE = {"real_lesson": ("slow",), "browser": ("browser", "slow"), "dask_cluster": ("dask", "slow")}


@pytest.hookimpl(tryfirst=True)  # before -m selects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture, markers in MARKED_BY_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                for marker in markers:
                    item.add_marker(marker)


_background = None


def pytest_collection_finish(session):
    """Start the chapter runs the selected tests read (``chapter_run``; -m and -k applied) in a worker
    process: they run on the second core while the tests before them run here."""
    global _background
    from chapter_runs import Background

    if session.config.option.collectonly:
        return
    users = [item for item in session.items if "chapter_run" in getattr(item, "fixturenames", ())]
    datasets = [d for d in ("rings", "digits") if any((d == "digits") == ("digits" in i.nodeid) for i in users)]
    if datasets:
        from kdanim.scenes import SCENES_IN_ORDER

        _background = Background([(d, c.__name__) for d in datasets for c in SCENES_IN_ORDER])


def pytest_unconfigure(config):
    if _background is not None:
        _background.close()


# -- traces ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def rings_trace():
    """The default run (rings, τ 3, α 0.5, 100 epochs, seed 0), as `kdanim render` draws it."""
    from kdanim.sim.config import SimConfig
    from kdanim.trace import simulate_trace

    return simulate_trace(SimConfig(), measure_latency=False)


@pytest.fixture(scope="session")
def digits_trace():
    """The default run of the handwritten digits."""
    from kdanim.sim.config import SimConfig
    from kdanim.trace import simulate_trace

    return simulate_trace(SimConfig(dataset="digits"), measure_latency=False)


@pytest.fixture(scope="session")
def trace_file(rings_trace, tmp_path_factory):
    from kdanim.trace import save

    return save(rings_trace, tmp_path_factory.mktemp("trace") / "trace.json")


# -- caches ------------------------------------------------------------------------------------

@pytest.fixture(scope="session", autouse=True)
def chapter_cache(tmp_path_factory):
    """The session's $KDANIM_CACHE; nothing a test does reaches the user's ~/.cache/kdanim.

    The code hash of the chapter cache is taken once: others edit the sources while the suite
    runs, and an edit must not turn the session's cached chapters into misses.
    """
    from kdanim.render import cache as render_cache
    from kdanim.render import workers

    with pytest.MonkeyPatch.context() as mp:
        root = tmp_path_factory.mktemp("cache")
        mp.setenv("KDANIM_CACHE", str(root))
        mp.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
        code = render_cache.code_version()
        for module in (render_cache, workers):
            mp.setattr(module, "code_version", lambda: code)
        yield root


@pytest.fixture(scope="session", autouse=True)
def manim_media(tmp_path_factory):
    """Manim's own files (the SVGs of every Text) in the session's temporary folder, not ./media."""
    from manim import config

    old, config.media_dir = config.media_dir, str(tmp_path_factory.mktemp("manim-media"))
    yield Path(config.media_dir)
    config.media_dir = old


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder of this test's own (not made yet)."""
    root = tmp_path / "cache"
    monkeypatch.setenv("KDANIM_CACHE", str(root))
    return root


# -- the session's real render ---------------------------------------------------------------------

def render_args(trace_file, out, *extra, chapters=REAL_CHAPTERS, voice="piper"):
    """`kdanim render` of the session's real lesson; one process (--jobs 1): patches reach the render."""
    return ["render", "--trace", str(trace_file), "--quality", "low", "--voice", voice, "--jobs", "1",
            "--chapters", ",".join(map(str, chapters)), "--out", str(out), *extra]


def voice_clips(cache_root) -> set[Path]:
    return set((Path(cache_root) / "voice").rglob("*.wav"))


def chapter_entries(cache_root) -> dict[int, dict]:
    """{chapter number: {"timeline", "video", "entry"}} of a chapter cache (the latest entry of each)."""
    found = {}
    metas = sorted((Path(cache_root) / "chapters").glob("*/timeline.json"), key=lambda p: p.stat().st_mtime)
    for meta in metas:
        tl = json.loads(meta.read_text())
        found[tl["chapter"]] = {"timeline": tl, "video": meta.parent / "chapter.mp4", "entry": meta.parent}
    return found


@pytest.fixture(scope="session")
def real_lesson(chapter_cache, trace_file, tmp_path_factory):
    """The cold render: every chapter drawn by Manim and every clip synthesized by Piper."""
    from click.testing import CliRunner

    from kdanim.cli import main
    from kdanim.publish import media

    out = tmp_path_factory.mktemp("lesson")
    clips_before = voice_clips(chapter_cache)
    t0 = time.perf_counter()
    with pytest.MonkeyPatch.context() as mp:  # whichever test asks first, whatever it set up
        mp.setenv("KDANIM_CACHE", str(chapter_cache))
        result = CliRunner().invoke(main, render_args(trace_file, out))
    seconds = time.perf_counter() - t0
    assert result.exit_code == 0, result.output
    entries = chapter_entries(chapter_cache)
    print(f"\ncold render of chapters {REAL_CHAPTERS}: {seconds:.1f} s, "
          f"{len(voice_clips(chapter_cache) - clips_before)} clips synthesized")
    return {"out": out, "result": result, "manifest": json.loads((out / "manifest.json").read_text()),
            "timelines": {n: entries[n]["timeline"] for n in REAL_CHAPTERS},
            "videos": {n: entries[n]["video"] for n in REAL_CHAPTERS},
            "synthesized": voice_clips(chapter_cache) - clips_before, "info": media.probe(out / "lesson.mp4")}


# -- chapter runs ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def chapter_run():
    """``chapter_run(dataset, chapter_cls)``: the summary (chapter_runs.summary) of the chapter's run on
    the default run of ``dataset`` (as ``rings_trace``, ``digits_trace``), from the worker process, else
    run here."""
    from chapter_runs import run_default

    done = {}

    def get(dataset, chapter_cls):
        job = (dataset, chapter_cls.__name__)
        if job not in done:
            res = _background.result(job) if _background is not None else None
            done[job] = res if res is not None else run_default(job)
        assert "error" not in done[job], f"the run of {job} failed:\n{done[job].get('error')}"
        return done[job]

    return get


# -- chapters without Manim ------------------------------------------------------------------------

@pytest.fixture(scope="session")
def fake_renderer(tmp_path_factory):
    from fake_chapters import FakeRenderer

    return FakeRenderer(tmp_path_factory.mktemp("fake-voice"))


@pytest.fixture(scope="session")
def fake_cache(tmp_path_factory):
    """The chapter cache of the fake renders: apart from the real one, since their keys are the same."""
    return tmp_path_factory.mktemp("fake-cache")


def use_fake_chapters(mp: pytest.MonkeyPatch, renderer, cache_root) -> None:
    """Render chapters with ``renderer`` (in this process) into the cache ``cache_root``."""
    mp.setenv("KDANIM_CACHE", str(cache_root))
    mp.setattr("kdanim.render.workers.render_chapter", renderer)


@pytest.fixture
def fake_chapters(fake_renderer, fake_cache, monkeypatch):
    """Chapters rendered by the fake renderer into the fake chapter cache; its ``calls`` start empty."""
    use_fake_chapters(monkeypatch, fake_renderer, fake_cache)
    fake_renderer.calls.clear()
    return fake_renderer


# -- the browser ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    from browser import launch

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


# -- the adverse grid ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def adverse_traces():
    """{name: trace} for every run of test_narration.ADVERSE, simulated once for the session (latency unmeasured)."""
    from kdanim.sim.config import config_from_options
    from kdanim.trace import simulate_trace
    from test_narration import ADVERSE

    return {name: simulate_trace(config_from_options(**kw), measure_latency=False) for name, kw in ADVERSE.items()}
