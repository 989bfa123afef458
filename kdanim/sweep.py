"""Sweeps: a grid of runs over τ × α × seed, run on Dask, filed as `kdanim.sweep/1` (see docs/SWEEP.md)."""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kdanim import __version__
from kdanim import trace as tracemod
from kdanim.cluster import TaskFailed, client, run_tasks
from kdanim.facts import gap_recovered, sweep_cells, sweep_view
from kdanim.files import atomic_write
from kdanim.sim.config import SimConfig

__all__ = ["SCHEMA", "SweepError", "Grid", "parse_floats", "parse_seeds", "run_name", "pending",
           "run_sweep", "run", "SweepInterrupted", "seed_traces", "build", "validate", "load", "write_files", "format_table",
           "MAX_RUNS_WITHOUT_YES"]

SCHEMA = "kdanim.sweep/1"
MAX_RUNS_WITHOUT_YES = 1000
MODELS = tracemod.MODELS


class SweepError(ValueError):
    """A bad grid or sweep file; the message names the option or field."""


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) during a sweep; the message says how many runs are saved."""


# ----------------------------------------------------------------------------- the grid

def parse_floats(text: str, option: str, lo: float, hi: float, lo_open: bool = False) -> tuple[float, ...]:
    """'1,2,3.5' -> (1.0, 2.0, 3.5), sorted and without repeats; SweepError naming ``option``."""
    parts = [p.strip() for p in str(text).split(",")]
    if parts == [""]:
        raise SweepError(f"{option}: empty list: give at least one value, e.g. {option} 1,3")
    values = set()
    for p in parts:
        if not p:
            raise SweepError(f"{option}: empty value in {text!r}: expected comma-separated numbers like 1,2,3")
        try:
            x = float(p)
        except ValueError:
            raise SweepError(f"{option}: {p!r} is not a number") from None
        if not math.isfinite(x) or x < lo or x > hi or (lo_open and x == lo):
            bound = f"> {lo:g}" if lo_open and math.isinf(hi) else f"in [{lo:g}, {hi:g}]"
            raise SweepError(f"{option}: {p!r} is out of range: every value must be {bound}")
        values.add(x)
    return tuple(sorted(values))


def parse_seeds(text: str, option: str = "--seeds") -> tuple[int, ...]:
    """'0-4' or '0,3,7' or '0-2,9' -> sorted distinct seeds; SweepError naming ``option``."""
    parts = [p.strip() for p in str(text).split(",")]
    if parts == [""]:
        raise SweepError(f"{option}: empty list: give seeds like 0-4 or 0,3,7")
    seeds = set()
    for p in parts:
        a, dash, b = p.partition("-")
        if not a.strip().isdigit() or (dash and not b.strip().isdigit()):
            raise SweepError(f"{option}: {p!r} is not a seed or a range like 0-4")
        lo, hi = int(a), int(b) if dash else int(a)
        if hi < lo:
            raise SweepError(f"{option}: range {p!r} runs backwards: write {hi}-{lo}")
        if hi - lo >= 1_000_000:
            raise SweepError(f"{option}: range {p!r} is too long")
        seeds.update(range(lo, hi + 1))
    return tuple(sorted(seeds))


@dataclass(frozen=True)
class Grid:
    """τ × α × seed over one base config (every other simulator setting)."""

    tau: tuple[float, ...]
    alpha: tuple[float, ...]
    seed: tuple[int, ...]
    base: SimConfig

    def __len__(self) -> int:
        return len(self.tau) * len(self.alpha) * len(self.seed)

    def configs(self) -> list[SimConfig]:
        """Every run's config, τ slowest, seed fastest."""
        return [self.base.replace(tau=t, alpha=a, seed=s)
                for t, a, s in itertools.product(self.tau, self.alpha, self.seed)]

    def axes(self) -> dict:
        return {"tau": list(self.tau), "alpha": list(self.alpha), "seed": list(self.seed)}


def run_name(config: SimConfig) -> str:
    """The run's trace file, relative to the sweep folder: runs/tau3-alpha0.5-seed0.json."""
    return f"runs/tau{config.tau:g}-alpha{config.alpha:g}-seed{config.seed}.json"


# ----------------------------------------------------------------------------- running

def simulate_config(config: SimConfig) -> dict:
    """One run, on a Dask worker: the trace exactly as `kdanim simulate` makes it, as its file's text,
    with the parts the sweep file keeps. The worker checks and serialises it, so the client, which
    shares the machine with the workers on a local cluster, only writes the bytes."""
    tr = tracemod.simulate_trace(config)
    tracemod.validate(tr)
    return {"text": tracemod.dumps(tr), **_record(tr)}


def _record(trace: dict) -> dict:
    """What the sweep file keeps of a run: its config, summary and content hash."""
    return {"config": trace["config"], "summary": trace["summary"], "content_hash": tracemod.content_hash(trace)}


def _done(out: Path, config: SimConfig) -> dict | None:
    """The saved trace of ``config`` in ``out``, or None if it is missing, damaged or of other settings."""
    path = out / run_name(config)
    if not path.exists():
        return None
    try:
        tr = tracemod.load(path)
    except tracemod.TraceError:
        return None
    return _record(tr) if tr["config"] == tracemod.canonical(config.to_dict()) else None


def pending(grid: Grid, out: Path) -> tuple[dict, list[SimConfig]]:
    """(runs already in ``out`` by run name, configs still to run)."""
    done, todo = {}, []
    for c in grid.configs():
        tr = _done(out, c)
        if tr is None:
            todo.append(c)
        else:
            done[run_name(c)] = tr
    return done, todo


def run_sweep(grid: Grid, out: Path, client, on_run: Callable[[SimConfig, int, int], None] | None = None,
              retries: int = 2) -> tuple[dict, int]:
    """Run every run of ``grid`` not already in ``out`` on the Dask ``client``; return (doc, skipped).

    Each trace is saved under ``out/runs/`` the moment it arrives (atomically), so an
    interrupted sweep keeps every finished run and the next call skips them.
    ``on_run(config, done, total)`` is called after each run is filed.
    """
    done, todo = pending(grid, out)
    skipped = len(done)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    try:
        for c, run in run_tasks(client, simulate_config, todo, name=lambda c: f"kdanim-run-{run_name(c)}",
                                retries=retries):
            atomic_write(out / run_name(c), run.pop("text"))
            done[run_name(c)] = run
            if on_run:
                on_run(c, len(done), len(grid))
    except TaskFailed as e:  # a run that failed on every try (e.g. its workers kept dying)
        msg = str(e.error).splitlines()[0] if str(e.error) else ""
        raise SweepError(f"run {run_name(e.item)} failed: {type(e.error).__name__}"
                         + (f": {msg}" if msg else "")) from None
    doc = build(grid, done)
    write_files(doc, out)
    return doc, skipped


# ----------------------------------------------------------------------------- the sweep file

def build(grid: Grid, runs_done: dict) -> dict:
    """The `kdanim.sweep/1` document of a finished grid from its runs' records (by run name)."""
    base = {k: v for k, v in grid.base.to_dict().items() if k not in ("tau", "alpha", "seed")}
    runs = []
    for c in grid.configs():
        name = run_name(c)
        r = runs_done[name]
        runs.append({"tau": c.tau, "alpha": c.alpha, "seed": c.seed, "trace": name,
                     "content_hash": r["content_hash"], "config": r["config"], "summary": r["summary"]})
    return validate(tracemod.canonical({"schema": SCHEMA, "version": __version__, "axes": grid.axes(),
                                        "base": base, "runs": runs}))


def _fail(where, what):
    raise SweepError(f"{where}: {what}")


def _axis(doc, name, check):
    values = doc["axes"].get(name) if isinstance(doc.get("axes"), dict) else None
    if not isinstance(values, list) or not values:
        _fail(f"axes.{name}", "expected a non-empty list")
    for i, v in enumerate(values):
        if not check(v):
            _fail(f"axes.{name}[{i}]", f"bad value {v!r}")
    if values != sorted(set(values)):
        _fail(f"axes.{name}", "values must be sorted and distinct")
    return values


def validate(doc) -> dict:
    """Check ``doc`` against docs/SWEEP.md and return it; SweepError naming the first bad field."""
    if not isinstance(doc, dict):
        raise SweepError(f"sweep: expected a JSON object, got {type(doc).__name__}")
    if doc.get("schema") != SCHEMA:
        _fail("schema", f"unknown schema {doc.get('schema')!r}, expected {SCHEMA!r}")
    if not isinstance(doc.get("version"), str):
        _fail("version", "expected a string")
    taus = _axis(doc, "tau", lambda v: tracemod.is_number(v) and v > 0)
    alphas = _axis(doc, "alpha", lambda v: tracemod.is_number(v, 0, 1))
    seeds = _axis(doc, "seed", lambda v: tracemod.is_int(v, 0))
    if not isinstance(doc.get("base"), dict):
        _fail("base", "expected an object")
    runs = doc.get("runs")
    want = list(itertools.product(taus, alphas, seeds))
    if not isinstance(runs, list) or len(runs) != len(want):
        _fail("runs", f"expected a list of {len(want)} runs (τ × α × seed)")
    for i, (run, (t, a, s)) in enumerate(zip(runs, want)):
        w = f"runs[{i}]"
        if not isinstance(run, dict):
            _fail(w, "expected an object")
        for k in ("tau", "alpha", "seed", "trace", "content_hash", "config", "summary"):
            if k not in run:
                _fail(f"{w}.{k}", "missing")
        if (run["tau"], run["alpha"], run["seed"]) != (t, a, s):
            _fail(w, f"expected τ = {t:g}, α = {a:g}, seed {s} (runs in grid order)")
        cfg = run["config"]
        if not isinstance(cfg, dict) or (cfg.get("tau"), cfg.get("alpha"), cfg.get("seed")) != (t, a, s):
            _fail(f"{w}.config", "differs from the run's τ, α and seed")
        if any(cfg.get(k) != v for k, v in doc["base"].items()):
            _fail(f"{w}.config", "differs from base")
        if not isinstance(run["trace"], str) or not isinstance(run["content_hash"], str):
            _fail(w, "trace and content_hash must be strings")
        summary = run["summary"]
        for m in MODELS:
            acc = summary.get(m, {}).get("test_accuracy") if isinstance(summary, dict) else None
            if not isinstance(summary.get(m) if isinstance(summary, dict) else None, dict) \
                    or not tracemod.is_number(acc, 0, 1):
                _fail(f"{w}.summary.{m}.test_accuracy", "expected a number in [0, 1]")
    return doc


def load(path) -> dict:
    """Read and validate a sweep file; SweepError on anything that does not follow docs/SWEEP.md."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SweepError(f"cannot read sweep {os.fspath(path)!r}: {getattr(e, 'strerror', None) or e}") from None
    try:
        doc = json.loads(text, parse_constant=lambda c: _fail("sweep", f"non-finite number {c}"))
    except json.JSONDecodeError as e:
        raise SweepError(f"not valid JSON: {e}") from None
    return validate(doc)


CSV_COLUMNS = ["tau", "alpha", "seed", "epochs", "teacher_hidden", "student_hidden",
               "teacher_accuracy", "scratch_accuracy", "distilled_accuracy", "gap_recovered",
               "distilled_agreement", "teacher_params", "student_params",
               "teacher_latency_us", "distilled_latency_us", "trace", "content_hash"]


def _csv(doc) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in doc["runs"]:
        s, c = r["summary"], r["config"]
        w.writerow([r["tau"], r["alpha"], r["seed"], c["epochs"],
                    " ".join(map(str, c["teacher_hidden"])), " ".join(map(str, c["student_hidden"])),
                    s["teacher"]["test_accuracy"], s["scratch"]["test_accuracy"], s["distilled"]["test_accuracy"],
                    round(gap_recovered(s), 6), s["distilled"]["agreement"], s["teacher"]["params"],
                    s["distilled"]["params"], s["teacher"]["latency_us"], s["distilled"]["latency_us"],
                    r["trace"], r["content_hash"]])
    return buf.getvalue()


def write_files(doc: dict, out: Path) -> None:
    """Write sweep.csv, then sweep.json (each atomically; the JSON last, as the sweep's seal)."""
    atomic_write(out / "sweep.csv", _csv(doc))
    atomic_write(out / "sweep.json", json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


# ----------------------------------------------------------------------------- reading results

def format_table(doc: dict) -> str:
    """The mean over seeds per (τ, α), with the spread (min–max) across seeds."""
    rows = sweep_cells(sweep_view(doc))
    n = len(doc["axes"]["seed"])
    lines = [f"{'τ':>6} {'α':>6} {'distilled acc (mean, min–max)':>32} {'gap recovered (mean, min–max)':>32}"]
    for c in rows:
        lines.append(f"{c['tau']:>6g} {c['alpha']:>6g} "
                     f"{c['acc_mean']:>13.1%} ({c['acc_min']:.1%}–{c['acc_max']:.1%}) "
                     f"{c['gap_mean']:>13.0%} ({c['gap_min']:.0%}–{c['gap_max']:.0%})")
    first = rows[0]
    lines.append(f"over {n} seed{'s' if n != 1 else ''} each · teacher {first['teacher']:.1%}, "
                 f"scratch {first['scratch']:.1%} (mean over seeds)")
    return "\n".join(lines)


def seed_traces(path, seed: int | None = None) -> tuple[int, list[dict]]:
    """(seed, the saved trace of every (τ, α) of the sweep file at ``path`` for that seed).

    ``seed`` None is the sweep's first. Each trace is loaded and checked against the content
    hash the sweep recorded; a missing, damaged or changed run raises SweepError naming it.
    """
    doc = load(path)
    seeds = doc["axes"]["seed"]
    if seed is None:
        seed = seeds[0]
    elif seed not in seeds:
        raise SweepError(f"{seed} is not a seed of the sweep ({', '.join(map(str, seeds))})")
    traces = []
    for run in (r for r in doc["runs"] if r["seed"] == seed):
        where = Path(path).parent / run["trace"]
        try:
            tr = tracemod.load(where)
        except (tracemod.TraceError, OSError, ValueError) as e:
            raise SweepError(f"{path}: run {run['trace']}: {getattr(e, 'strerror', None) or e}") from None
        if tracemod.content_hash(tr) != run["content_hash"]:
            raise SweepError(f"{path}: run {run['trace']} is not the run the sweep recorded "
                             f"(content hash): run `kdanim sweep` again")
        traces.append(tr)
    return seed, traces


def run(grid: Grid, out: Path, scheduler: str | None = None, workers: int | None = None,
        say: Callable[[str], None] = lambda s: None) -> tuple[dict, int]:
    """`kdanim sweep`: run what is missing of ``grid`` in ``out`` on Dask, saying how it goes; (doc, skipped).

    The cluster is ``scheduler``'s, else a local one of ``workers`` processes (none when every run is
    done). An interrupt raises SweepInterrupted; a failed run SweepError; finished runs stay saved.
    """
    done, todo = pending(grid, out)
    say(f"{len(grid)} runs ({len(grid.tau)} τ × {len(grid.alpha)} α × {len(grid.seed)} seeds)"
        + (f": skipping {len(done)} already done" if done else ""))
    filed = []

    def on_run(c, n, total):
        filed.append(c)
        say(f"[{n}/{total}] τ = {c.tau:g}, α = {c.alpha:g}, seed {c.seed}")

    try:
        with client(scheduler, workers) if todo else contextlib.nullcontext() as dask:
            return run_sweep(grid, out, dask, on_run=on_run)
    except SweepError as e:
        raise SweepError(f"{e}; the runs already done are kept in {out / 'runs'}") from None
    except KeyboardInterrupt:
        raise SweepInterrupted(f"interrupted: {len(done) + len(filed)} of {len(grid)} runs are saved in "
                               f"{out / 'runs'}; run the same command again to finish.") from None
