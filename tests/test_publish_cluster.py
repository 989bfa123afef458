"""`kdanim publish` as one pool of chapter renders for every variant: on a real Dask cluster (`dask
scheduler` and `dask worker` processes, tests/dask_cluster.py) and in the spawned processes of --jobs.

The chapters are drawn in those processes by the fake renderer (tests/fake_chapters.py), which
tests/fake_worker/sitecustomize.py patches in wherever KDANIM_FAKE_WORKER is set, and which logs
every render (process, chapter, τ, start and end) in that folder. The sweep is 2 τ × 2 α with
chapters 4 (it reads τ but not α: one render per τ) and 11 (the sweep's: one render for all four
variants), so three chapter renders make four lessons. One test draws a real chapter with
Manim on a worker of a cluster of its own and compares its frames with a local publish.
"""

import json
import os
import re
import threading
import time
from itertools import zip_longest
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from browser import open_page
from dask_cluster import ROOT, LocalDask, free_port
from kdanim import sweep
from kdanim.cli import main
from kdanim.publish import page as pagemod
from kdanim.sim.config import SimConfig
from test_page import read_vtt, set_time, showing_cues, video_state, wait_ready

TAUS, ALPHAS = (1.0, 4.0), (0.25, 0.75)
VARIANTS = [pagemod.variant_name(t, a) for t in TAUS for a in ALPHAS]
FAKE_PATH = os.pathsep.join([str(ROOT / "tests" / "fake_worker"), str(ROOT / "tests")])


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory):
    from distributed import Client

    out = tmp_path_factory.mktemp("sweep")
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as c:
        sweep.run_sweep(sweep.Grid(TAUS, ALPHAS, (0,), SimConfig(epochs=3)), out, c)
    return out / "sweep.json"


def fake_env(mp, log: Path, delay: float = 0.0) -> None:
    """Processes started from now on draw fake chapters and log them in ``log``."""
    log.mkdir(parents=True, exist_ok=True)
    mp.setenv("PYTHONPATH", os.pathsep.join([FAKE_PATH, os.environ.get("PYTHONPATH", "")]))
    mp.setenv("KDANIM_FAKE_WORKER", str(log))
    mp.setenv("KDANIM_FAKE_DELAY", str(delay))


def renders(log: Path, since: set[str] = frozenset()) -> list[dict]:
    """Every render the fake workers logged (but those whose files are in ``since``), in the order they started."""
    out = []
    for p in log.glob("*.start"):
        if p.name not in since:
            ns, pid, ch, tau = re.match(r"(\d+)-(\d+)-ch(\d+)-tau(.+)\.start$", p.name).groups()
            out.append({"ns": int(ns), "pid": int(pid), "chapter": int(ch), "tau": float(tau), "name": p.name,
                        "done": p.with_name(p.name.removesuffix(".start") + ".done").exists()})
    return sorted(out, key=lambda r: r["ns"])


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A scheduler and two workers drawing fake chapters, each render lasting at least 1 s."""
    log = tmp_path_factory.mktemp("fake-worker-log")
    with pytest.MonkeyPatch.context() as mp:
        fake_env(mp, log, delay=1.0)
        cluster = LocalDask(n_workers=2)  # takes its environment now
    try:
        cluster.wait(2)
        cluster.log = log
        yield cluster
    finally:
        cluster.stop()


def publish(sweep_file, out, *args):
    return CliRunner().invoke(main, ["publish", "--sweep", str(sweep_file), "--quality", "low", "--out", str(out),
                                     "-q", *map(str, args)])


def no_local_render(mp):
    mp.setattr("kdanim.render.workers.render_chapter", lambda *a, **kw: pytest.fail("rendered in this process"))


@pytest.fixture(scope="module")
def cluster_site(dask_cluster, sweep_file, tmp_path_factory):
    """The 2 × 2 explorer published on the cluster, from an empty chapter cache."""
    out = tmp_path_factory.mktemp("cluster") / "site"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KDANIM_CACHE", str(tmp_path_factory.mktemp("cache")))
        no_local_render(mp)
        t0 = time.monotonic()
        result = publish(sweep_file, out, "--chapters", "4,11", "--scheduler", dask_cluster.address)
    assert result.exit_code == 0, result.output
    return {"out": out, "renders": renders(dask_cluster.log), "seconds": time.monotonic() - t0}


def manifest(folder):
    return json.loads((Path(folder) / "manifest.json").read_text())


def frames_of(video):
    """The decoded frames of ``video`` (PyAV), one at a time, as their yuv420p planes (the pixels as coded)."""
    import av

    with av.open(str(video)) as c:
        for f in c.decode(video=0):
            yield f.to_ndarray()


# -- on the cluster ----------------------------------------------------------------------------

def test_each_shared_chapter_renders_once_on_the_workers(cluster_site):
    got = cluster_site["renders"]
    # chapter 4 once per τ, chapter 11 once for all four variants (drawn for the first), nothing twice
    assert sorted((r["chapter"], r["tau"]) for r in got) == [(4, 1.0), (4, 4.0), (11, 1.0)]
    assert all(r["done"] for r in got) and len({r["pid"] for r in got}) == 2  # both workers drew
    # two workers, three chapters of at least 1 s each: the third starts when one is free, so the
    # published site took at least 2 s, and every variant and the page over all four are there
    assert cluster_site["seconds"] >= 2.0
    out = cluster_site["out"]
    assert all((out / v / "lesson.mp4").is_file() for v in VARIANTS)
    assert manifest(out)["explorer"] == [f"{v}/index.html" for v in VARIANTS]
    for v in VARIANTS:
        m = manifest(out / v)
        assert [c["number"] for c in m["chapters"]] == [4, 11]


def test_the_cluster_site_in_chromium(browser, cluster_site):
    """The explorer over the cluster's variants: each slider move plays that variant's video, at the same
    time into the same chapter, with its captions showing."""
    root = cluster_site["out"]
    with open_page(browser, root / "index.html") as tab:
        wait_ready(tab)
        key = (1.0, 0.25)
        for slider, arrow, new_key in (("#tau", "ArrowRight", (4.0, 0.25)), ("#alpha", "ArrowRight", (4.0, 0.75))):
            chapters = manifest(root / pagemod.variant_name(*key))["chapters"]
            set_time(tab, chapters[1]["start"] + 1.0)
            tab.page.focus(slider)
            tab.page.keyboard.press(arrow)
            new = root / pagemod.variant_name(*new_key)
            want = manifest(new)["chapters"][1]["start"] + 1.0
            tab.page.wait_for_function(
                "([src, t]) => { const v = document.getElementById('video');"
                " return v.currentSrc.endsWith(src) && v.readyState >= 1 && Math.abs(v.currentTime - t) < 0.05; }",
                arg=[pagemod.variant_name(*new_key) + "/lesson.mp4", want])
            assert abs(video_state(tab)["d"] - manifest(new)["duration"]) <= 0.1
            assert showing_cues(tab) == ["captions", len(read_vtt(new / "lesson.vtt"))]
            key = new_key
        assert tab.errors == [] and tab.outside == []


def test_the_cluster_site_has_the_frames_of_a_local_publish(cluster_site, sweep_file, fake_chapters, tmp_path,
                                                            monkeypatch):
    """The same sweep published in this process: every variant's video decodes to the same frames."""
    monkeypatch.setenv("KDANIM_CACHE", str(tmp_path / "cache"))  # all drawn again, here
    local = tmp_path / "local"
    result = publish(sweep_file, local, "--chapters", "4,11", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert sorted((n, tau) for n, tau, _ in fake_chapters.calls) == [(4, 1.0), (4, 4.0), (11, 1.0)]
    for v in VARIANTS:
        a, b = list(frames_of(cluster_site["out"] / v / "lesson.mp4")), list(frames_of(local / v / "lesson.mp4"))
        assert len(a) == len(b) > 0 and all(np.array_equal(x, y) for x, y in zip(a, b)), v
        assert (cluster_site["out"] / v / "lesson.vtt").read_text() == (local / v / "lesson.vtt").read_text()


def test_a_worker_killed_mid_render_loses_no_chapter(dask_cluster, sweep_file, tmp_path, monkeypatch):
    """A third worker joins; the first worker to start a chapter is killed while drawing it. Dask gives
    that chapter to another worker, and the site completes with all four variants."""
    dask_cluster.add_worker()
    dask_cluster.wait(3)
    workers = {p.pid: p for p in dask_cluster.workers if p.poll() is None}
    before = {r["name"] for r in renders(dask_cluster.log)}
    killed = []

    def kill_the_first_to_start():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            started = [r for r in renders(dask_cluster.log, before) if r["pid"] in workers and not r["done"]]
            if started:
                workers[started[0]["pid"]].kill()
                return killed.append(started[0])
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_first_to_start, daemon=True)
    monkeypatch.setenv("KDANIM_CACHE", str(tmp_path / "cache"))
    no_local_render(monkeypatch)
    killer.start()
    result = publish(sweep_file, tmp_path / "site", "--chapters", "4,11", "--scheduler", dask_cluster.address)
    killer.join(timeout=5)
    assert result.exit_code == 0, result.output
    assert killed, "no worker was killed"
    lost = killed[0]
    assert workers[lost["pid"]].wait(timeout=10) is not None
    this_run = renders(dask_cluster.log, before)
    assert [r for r in this_run if r["pid"] == lost["pid"]] == [{**lost, "done": False}]  # killed mid-chapter
    again = [r for r in this_run if (r["chapter"], r["tau"]) == (lost["chapter"], lost["tau"]) and r["pid"] != lost["pid"]]
    assert len(again) == 1 and again[0]["done"]  # drawn again by another worker
    assert sorted((r["chapter"], r["tau"]) for r in this_run if r["done"]) == [(4, 1.0), (4, 4.0), (11, 1.0)]
    site = tmp_path / "site"
    assert all((site / v / "lesson.mp4").is_file() for v in VARIANTS)
    assert manifest(site)["explorer"] == [f"{v}/index.html" for v in VARIANTS]


# -- without a cluster -------------------------------------------------------------------------

@pytest.mark.dask
def test_an_unreachable_scheduler_is_one_line(sweep_file, tmp_path, monkeypatch):
    """--scheduler, or DASK_SCHEDULER_ADDRESS, naming no scheduler: one line, exit 1, nothing written."""
    from kdanim import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1)  # the default waits 6 s
    address = f"tcp://127.0.0.1:{free_port()}"
    for how in ("option", "environment"):
        if how == "environment":
            monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
        t0 = time.monotonic()
        result = publish(sweep_file, tmp_path / "site", "--chapters", "2", *(["--scheduler", address]
                                                                             if how == "option" else []))
        assert time.monotonic() - t0 < cluster.CONNECT_TIMEOUT + 8  # generous: the machine may be loaded
        assert result.exit_code == 1, result.output
        line = result.output.strip()
        assert "\n" not in line and line.startswith("Error: cannot reach the Dask scheduler at " + address), line
        assert not (tmp_path / "site").exists()


@pytest.mark.slow
def test_jobs_spread_the_chapters_of_all_variants_over_processes(sweep_file, tmp_path, monkeypatch):
    """--jobs 2: the three distinct chapters of the four variants, drawn in two spawned processes, each once."""
    log = tmp_path / "log"
    # each render lasts 1.5 s: instant ones could all go to the process that started first (it happened once)
    fake_env(monkeypatch, log, delay=1.5)
    monkeypatch.setenv("KDANIM_CACHE", str(tmp_path / "cache"))
    no_local_render(monkeypatch)
    result = publish(sweep_file, tmp_path / "site", "--chapters", "4,11", "--jobs", "2")
    assert result.exit_code == 0, result.output
    got = renders(log)
    assert sorted((r["chapter"], r["tau"]) for r in got) == [(4, 1.0), (4, 4.0), (11, 1.0)]
    assert all(r["done"] for r in got) and len({r["pid"] for r in got}) == 2 and os.getpid() not in {r["pid"] for r in got}
    assert manifest(tmp_path / "site")["explorer"] == [f"{v}/index.html" for v in VARIANTS]


#: The real chapter: the sweep's, silent; the frame checks are not what this compares.
REAL = ["--chapters", "11", "--theme", "light", "--voice", "none", "--no-check"]


@pytest.mark.slow
@pytest.mark.dask
def test_a_real_chapter_drawn_on_a_worker_has_the_frames_of_a_local_publish(sweep_file, tmp_path, monkeypatch):
    """Manim on a worker of a cluster of its own (no fake) and Manim here: the sweep chapter in the light
    theme (the option reaches the worker) decodes to the same frames."""
    cluster = LocalDask(n_workers=1)
    try:
        cluster.wait(1)
        monkeypatch.setenv("KDANIM_CACHE", str(tmp_path / "cache-remote"))
        with pytest.MonkeyPatch.context() as mp:
            no_local_render(mp)
            remote = publish(sweep_file, tmp_path / "remote", *REAL, "--scheduler", cluster.address)
    finally:
        cluster.stop()
    assert remote.exit_code == 0, remote.output
    monkeypatch.setenv("KDANIM_CACHE", str(tmp_path / "cache-local"))
    local = publish(sweep_file, tmp_path / "local", *REAL, "--jobs", "1")
    assert local.exit_code == 0, local.output
    v = VARIANTS[0]  # the sweep chapter is one render shared by all four
    n = 0
    for a, b in zip_longest(frames_of(tmp_path / "remote" / v / "lesson.mp4"), frames_of(tmp_path / "local" / v / "lesson.mp4")):
        assert a is not None and b is not None and np.array_equal(a, b), n
        n += 1
    assert n > 100
    assert manifest(tmp_path / "remote" / v)["parameters"]["render"]["theme"] == "light"
