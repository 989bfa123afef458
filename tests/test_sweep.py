"""`kdanim sweep`: usage errors, the sweep file, and real runs on Dask (a local cluster and a real one)."""

import json

import pytest
from click.testing import CliRunner

from dask_cluster import LocalDask
from kdanim import sweep as sw
from kdanim import trace as tracemod
from kdanim.cli import main

GRID = ["--tau", "1,4", "--alpha", "0.5", "--seeds", "0-1", "--epochs", "3"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KDANIM_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)


@pytest.fixture(scope="module")
def dask_cluster():
    cluster = LocalDask(n_workers=2)
    try:
        cluster.wait(2)
        yield cluster
    finally:
        cluster.stop()


def assert_usage_error(result, *words):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for w in words:
        assert w in lines[0], (w, lines[0])


# -- bad input: one line, exit 2, nothing written ------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["--tau", "1,,2"], ["--tau", "empty value"]),
    (["--tau", "0"], ["--tau", "'0'", "> 0"]),
    (["--tau", "nan"], ["--tau"]),
    (["--alpha", "1.5"], ["--alpha", "'1.5'"]),
    (["--seeds", "5-1"], ["--seeds", "backwards"]),
    (["--seeds", "x"], ["--seeds", "'x'"]),
    (["--seeds", "-3"], ["--seeds"]),
    (["--tau", ""], ["--tau", "empty"]),
    (["--seeds", " "], ["--seeds", "empty"]),
    (["--epochs", "0"], ["--epochs"]),
    (["--teacher", "small", "--teacher-hidden", "8"], ["--teacher"]),
    (["--tau", "1-50", "--alpha", "0.5"], ["--tau", "'1-50'"]),
    (["--seeds", "0-1000", "--tau", "1,2"], ["2,002 runs", "--yes"]),
    (["--scheduler", "localhost"], ["--scheduler"]),
])
def test_bad_grid_is_one_line_and_writes_nothing(args, words, tmp_path):
    out = tmp_path / "sweep"
    assert_usage_error(invoke("sweep", *args, "--out", out), *words)
    assert not out.exists()


@pytest.mark.dask
def test_unreachable_scheduler_fails_fast_in_one_line(tmp_path, monkeypatch):
    import time

    from dask_cluster import free_port
    from kdanim import cluster
    from kdanim.cluster import ClusterError, client

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1)  # the default waits 6 s, twice here
    address = f"tcp://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler"):
        with client(address):
            pass
    assert time.monotonic() - t0 < cluster.CONNECT_TIMEOUT + 10  # generous: the test machine may be loaded
    result = invoke("sweep", *GRID, "--scheduler", address, "--out", tmp_path / "s")
    assert result.exit_code == 1, result.output
    errors = [l for l in result.output.splitlines() if l.startswith("Error")]
    assert len(errors) == 1 and "cannot reach the Dask scheduler" in errors[0]
    assert "Traceback" not in result.output
    assert not list((tmp_path / "s").rglob("*.json"))


# -- the sweep file --------------------------------------------------------------------------

def test_grid_parsing():
    assert sw.parse_floats("3,1,1.0,2", "--tau", 0, float("inf"), lo_open=True) == (1.0, 2.0, 3.0)
    assert sw.parse_seeds("0-2,9,1") == (0, 1, 2, 9)
    with pytest.raises(sw.SweepError, match="--alpha"):
        sw.parse_floats("0.5,-0.1", "--alpha", 0, 1)


def fake_doc(n_seeds=2):
    """A valid sweep document made by hand (grid 2 τ × 1 α), for validation tests."""
    runs = []
    for t in (1.0, 3.0):
        for s in range(n_seeds):
            runs.append({"tau": t, "alpha": 0.5, "seed": s, "trace": f"runs/x{t}{s}.json", "content_hash": "ab",
                         "config": {"tau": t, "alpha": 0.5, "seed": s, "epochs": 3},
                         "summary": {m: {"test_accuracy": 0.5} for m in sw.MODELS}})
    return {"schema": sw.SCHEMA, "version": "0", "axes": {"tau": [1.0, 3.0], "alpha": [0.5], "seed": list(range(n_seeds))},
            "base": {"epochs": 3}, "runs": runs}


@pytest.mark.parametrize("breaks, where", [
    (lambda d: d.update(schema="kdanim.trace/1"), "schema"),
    (lambda d: d["runs"].pop(), "runs"),
    (lambda d: d["axes"].update(tau=[3.0, 1.0]), "axes.tau"),
    (lambda d: d["axes"].update(alpha=[]), "axes.alpha"),
    (lambda d: d["runs"][1].update(seed=7), "runs[1]"),
    (lambda d: d["runs"][0]["config"].update(epochs=9), "runs[0].config"),
    (lambda d: d["runs"][2]["summary"]["teacher"].update(test_accuracy=1.5), "runs[2].summary.teacher"),
    (lambda d: d["runs"][0].pop("summary"), "runs[0].summary"),
])
def test_validation_names_the_field(breaks, where):
    doc = fake_doc()
    sw.validate(doc)
    breaks(doc)
    with pytest.raises(sw.SweepError, match=where.replace("[", r"\[").replace("]", r"\]")):
        sw.validate(doc)


# -- real runs -------------------------------------------------------------------------------

def _runs(out):
    doc = sw.load(out / "sweep.json")
    return {r["trace"]: r["content_hash"] for r in doc["runs"]}, doc


@pytest.fixture(scope="module")
def remote_sweep(dask_cluster, tmp_path_factory):
    """The small grid, run on the real cluster."""
    remote = tmp_path_factory.mktemp("remote")
    result = invoke("sweep", *GRID, "--scheduler", dask_cluster.address, "--out", remote)
    assert result.exit_code == 0, result.output
    return remote


def test_local_cluster_and_real_cluster_and_simulate_agree(dask_cluster, remote_sweep, tmp_path):
    local = tmp_path / "local"
    result = invoke("sweep", *GRID, "--workers", "2", "--out", local)
    assert result.exit_code == 0, result.output
    runs, doc = _runs(local)
    assert len(runs) == 4 and doc["axes"] == {"tau": [1.0, 4.0], "alpha": [0.5], "seed": [0, 1]}
    assert "distilled acc" in result.output and "4 traces" in result.output
    remote = remote_sweep
    assert _runs(remote)[0] == runs

    # the same trace `kdanim simulate` writes, apart from the measured latency
    one = tmp_path / "one.json"
    assert invoke("simulate", "--tau", "4", "--alpha", "0.5", "--seed", "1", "--epochs", "3", "--out", one).exit_code == 0
    sim = tracemod.load(one)
    run = tracemod.load(remote / "runs" / "tau4-alpha0.5-seed1.json")
    assert runs["runs/tau4-alpha0.5-seed1.json"] == tracemod.content_hash(sim) == tracemod.content_hash(run)
    for t in (sim, run):
        for m in sw.MODELS:
            t["summary"][m]["latency_us"] = 0.0
    assert tracemod.dumps(sim) == tracemod.dumps(run)

    # the CSV: one row per run, in grid order
    import csv

    rows = list(csv.DictReader((remote / "sweep.csv").open()))
    assert [(float(r["tau"]), int(r["seed"])) for r in rows] == [(1, 0), (1, 1), (4, 0), (4, 1)]
    assert float(rows[3]["distilled_accuracy"]) == run["summary"]["distilled"]["test_accuracy"]

    # a second invocation skips everything, without contacting any cluster
    result = invoke("sweep", *GRID, "--scheduler", "tcp://127.0.0.1:1", "--out", remote)
    assert result.exit_code == 0, result.output
    assert "skipping 4 already done" in result.output
    # a run of other settings in the folder is not taken as done (in a copy: other tests read remote_sweep)
    import shutil

    other = shutil.copytree(remote, tmp_path / "other")
    result = invoke("sweep", "--tau", "4", "--alpha", "0.5", "--seeds", "1", "--epochs", "1",
                    "--scheduler", dask_cluster.address, "--out", other, "-q")
    assert result.exit_code == 0 and "skipping" not in result.output


def test_a_killed_worker_does_not_lose_the_sweep(dask_cluster, tmp_path):
    """Kill a worker as soon as the first run lands: its task goes to the others; every run arrives."""
    from distributed import Client

    extra = dask_cluster.add_worker()
    dask_cluster.wait(3)
    grid = sw.Grid((1.0, 2.0, 3.0), (0.5,), (0, 1), sw.SimConfig(epochs=20))
    killed = []

    def on_run(config, n, total):
        if not killed:
            extra.kill()
            killed.append(n)

    with Client(dask_cluster.address, set_as_default=False) as c:
        doc, skipped = sw.run_sweep(grid, tmp_path, c, on_run=on_run)
    assert killed and extra.wait(timeout=10) is not None
    assert skipped == 0 and len(doc["runs"]) == 6
    assert all((tmp_path / r["trace"]).exists() for r in doc["runs"])
    assert sw.load(tmp_path / "sweep.json") == json.loads((tmp_path / "sweep.json").read_text())


def test_interrupted_sweep_keeps_finished_runs(dask_cluster, tmp_path):
    """Ctrl-C after the first run: that run is on disk, and the next call skips it."""
    from distributed import Client

    grid = sw.Grid((1.0, 2.0), (0.5,), (0,), sw.SimConfig(epochs=3))

    def stop(config, n, total):
        raise KeyboardInterrupt

    with Client(dask_cluster.address, set_as_default=False) as c:
        with pytest.raises(KeyboardInterrupt):
            sw.run_sweep(grid, tmp_path, c, on_run=stop)
        assert len(list((tmp_path / "runs").glob("*.json"))) == 1
        assert not (tmp_path / "sweep.json").exists()
        assert not list(tmp_path.rglob("*.tmp"))
        done, todo = sw.pending(grid, tmp_path)
        assert len(done) == 1 and len(todo) == 1
        doc, skipped = sw.run_sweep(grid, tmp_path, c)
    assert skipped == 1 and len(doc["runs"]) == 2


def test_render_on_the_cluster_brings_the_chapter_back(dask_cluster, remote_sweep, tmp_path, monkeypatch):
    """`render --scheduler`: the sweep chapter is drawn on a worker and comes back as bytes."""
    import av

    monkeypatch.setattr("kdanim.render.workers.render_chapter", lambda *a, **kw: pytest.fail("rendered locally"))
    out = tmp_path / "lesson"
    result = invoke("render", "--sweep", remote_sweep / "sweep.json", "--chapters", "11", "--quality", "low",
                    "--voice", "none", "--epochs", "3", "--scheduler", dask_cluster.address, "--out", out, "-q")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert [c["number"] for c in manifest["chapters"]] == [11]
    with av.open(str(out / "lesson.mp4")) as c:
        stream = c.streams.video[0]
        assert stream.height == 480 and float(stream.duration * stream.time_base) > 10
    assert abs(manifest["duration"] - manifest["chapters"][0]["length"]) < 0.1
    transcript = (out / "transcript.md").read_text()
    assert "Choosing τ and α" in transcript and "4 runs of 3 epochs" in transcript


@pytest.mark.parametrize("extra, words", [
    (["--trace", "TRACE"], ["--sweep", "--trace"]),
    (["--chapters", "11"], ["'11'", "--sweep"]),
])
def test_render_sweep_usage_errors(extra, words, tmp_path):
    from kdanim.sim.config import SimConfig

    sweep_file = tmp_path / "sweep.json"
    sweep_file.write_text(json.dumps(fake_doc()))
    trace_file = tmp_path / "trace.json"
    tracemod.save(tracemod.simulate_trace(SimConfig(epochs=1), measure_latency=False), trace_file)
    args = [str(trace_file) if a == "TRACE" else a for a in extra]
    if "--trace" in extra:
        args += ["--sweep", sweep_file]
    out = tmp_path / "out"
    assert_usage_error(invoke("render", *args, "--out", out), *words)
    assert not out.exists()


@pytest.mark.parametrize("content, words", [
    (json.dumps({**fake_doc(), "schema": "kdanim.trace/1"}), ["--sweep", "schema"]),
    ("{not json", ["--sweep", "not valid JSON"]),
    (None, ["--sweep", "cannot read"]),
])
def test_render_refuses_a_bad_sweep_file(content, words, tmp_path):
    bad = tmp_path / "sweep.json"
    if content is not None:
        bad.write_text(content)
    out = tmp_path / "out"
    assert_usage_error(invoke("render", "--sweep", bad, "--chapters", "11", "--out", out), *words)
    assert not out.exists()
