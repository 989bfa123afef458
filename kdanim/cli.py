"""The `kdanim` command line: a thin boundary over kdanim.sim and kdanim.trace."""

import contextlib
import json
import math
import os
from pathlib import Path

import click

from . import __version__
from .publish.media import FORMATS
from .narration.voices import DEFAULT_VOICE, VOICES, voices_help
from .render.options import QUALITIES
from .sim import datasets
from .sim.config import (
    CLI_FIELDS, DEFAULT_STUDENT, DEFAULT_TEACHER, MAX_EPOCHS, STUDENT_PRESETS, TEACHER_PRESETS,
    ConfigError, SimConfig, parse_widths, resolve_hidden,
)

__all__ = ["main", "sim_options", "config_from_options", "check_output_path", "format_summary"]


class FiniteFloatRange(click.FloatRange):
    """click.FloatRange that also refuses nan and ±inf (which compare False against any bound)."""

    def convert(self, value, param, ctx):
        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return rv


class Widths(click.ParamType):
    """Comma-separated positive layer widths, e.g. 256,256,128."""

    name = "W,W,..."

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            return parse_widths(value, param.opts[0] if param else "widths")
        except ConfigError as e:
            self.fail(e.message, param, ctx)


def _preset_help(presets, default):
    return ", ".join(f"{name} ({len(w)}×{w[0]}" + ("" if len(set(w)) == 1 else f"…{w[-1]}")
                     + (", default)" if name == default else ")") for name, w in presets.items())


def _sim_option_list():
    return [
        click.option("--dataset", type=click.Choice(datasets.names()), default=datasets.DEFAULT, show_default=True,
                     help="What the networks learn: " + "; ".join(f"{n}: {datasets.get(n).title}"
                                                                  for n in datasets.names()) + "."),
        click.option("--tau", type=FiniteFloatRange(min=0, min_open=True), default=3.0, show_default=True,
                     help="Distillation temperature τ (> 0)."),
        click.option("--alpha", type=FiniteFloatRange(0.0, 1.0), default=0.5, show_default=True,
                     help="Weight α of the soft (KL) term: 0 = hard labels only, 1 = soft labels only."),
        click.option("--epochs", type=click.IntRange(1, MAX_EPOCHS), default=100, show_default=True,
                     help="Student training epochs."),
        click.option("--seed", type=click.IntRange(0, None), default=0, show_default=True,
                     help="Root seed for data, initialisation and batch order."),
        click.option("--teacher", type=click.Choice(list(TEACHER_PRESETS)), default=None,
                     help=f"Teacher preset: {_preset_help(TEACHER_PRESETS, DEFAULT_TEACHER)}."),
        click.option("--teacher-hidden", type=Widths(), default=None,
                     help="Explicit teacher hidden widths, e.g. 256,256,128 (instead of --teacher)."),
        click.option("--student", type=click.Choice(list(STUDENT_PRESETS)), default=None,
                     help=f"Student preset: {_preset_help(STUDENT_PRESETS, DEFAULT_STUDENT)}."),
        click.option("--student-hidden", type=Widths(), default=None,
                     help="Explicit student hidden widths, e.g. 64 (instead of --student)."),
    ]


def sim_options(f=None, skip=()):
    """The simulator's options, shared by every command that runs a simulation (but those in ``skip``)."""
    if f is None:
        return lambda g: sim_options(g, skip)
    names = SIM_OPTION_NAMES
    for name, option in reversed(list(zip(names, _sim_option_list()))):
        if name not in skip:
            f = option(f)
    return f


SIM_OPTION_NAMES = ("dataset", "tau", "alpha", "epochs", "seed", "teacher", "teacher_hidden", "student", "student_hidden")


def config_from_options(**kw):
    """SimConfig from the values of @sim_options (other keys are ignored); bad values -> click.BadParameter."""
    try:
        teacher_preset, teacher_hidden = resolve_hidden("teacher", kw.get("teacher"), kw.get("teacher_hidden"))
        student_preset, student_hidden = resolve_hidden("student", kw.get("student"), kw.get("student_hidden"))
        fields = {k: kw[k] for k in CLI_FIELDS if kw.get(k) is not None}
        datasets.get(fields.get("dataset", datasets.DEFAULT)).check_available()
        return SimConfig(teacher_hidden=teacher_hidden, student_hidden=student_hidden,
                         teacher_preset=teacher_preset, student_preset=student_preset, **fields)
    except ConfigError as e:
        raise click.BadParameter(e.message, param_hint=f"'{e.option}'") from None
    except datasets.DatasetUnavailable as e:
        raise click.ClickException(str(e)) from None


def check_output_path(path, option="--out"):
    """Fail early (exit 2) when `path` cannot be written, before any work is done."""
    if path is None:
        return None
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        raise click.BadParameter(f"{path!r} is a directory.", param_hint=f"'{option}'")
    if not os.path.isdir(parent):
        raise click.BadParameter(f"directory {parent!r} does not exist.", param_hint=f"'{option}'")
    if not os.access(parent, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise click.BadParameter(f"{path!r} is not writable.", param_hint=f"'{option}'")
    return path


def format_summary(trace):
    """The run's summary as a readable table."""
    cfg, summary = trace["config"], trace["summary"]
    lines = [
        f"{cfg['dataset']} · τ = {cfg['tau']:g} · α = {cfg['alpha']:g} · {cfg['epochs']} epochs · seed {cfg['seed']} · "
        f"{cfg['n_train']} labelled + {cfg['n_transfer']} unlabelled examples (teacher: {cfg['teacher_n_train']}) · "
        f"{cfg['n_test']} test",
        "",
        f"{'model':<20}{'hidden':>14}{'params':>10}{'test acc':>10}{'agreement':>11}{'latency':>12}",
    ]
    names = {"teacher": "teacher", "scratch": "student (scratch)", "distilled": "student (distilled)"}
    for key, label in names.items():
        s = summary[key]
        hidden = ",".join(str(w) for w in s["hidden"])
        lines.append(f"{label:<20}{hidden:>14}{s['params']:>10,}{s['test_accuracy']:>10.1%}"
                     f"{s['agreement']:>11.1%}{s['latency_us']:>9.2f} µs")
    t, sc, d = (summary[k]["test_accuracy"] for k in ("teacher", "scratch", "distilled"))
    gap = f"{(d - sc) / (t - sc):.0%} of the teacher–scratch gap" if t > sc else "no teacher–scratch gap"
    lines += ["", f"distillation: {100 * (d - sc):+.1f} points over scratch ({gap})"]
    return "\n".join(lines)


class _Group(click.Group):
    """The commands' one error boundary.

    Usage errors print as one line ("Error: ...") with exit status 2; every
    expected failure of the work itself (the cache, the output folder, the
    voice, the trace, a full disk, the encoder) as one line with exit status 1.
    Anything else is a bug and keeps its traceback.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            e.ctx = None
            raise
        except click.ClickException:
            raise
        except Exception as e:
            if not isinstance(e, _expected_errors()):
                raise
            raise click.ClickException(_describe(e)) from None


def _expected_errors() -> tuple:
    import av

    from .cluster import ClusterError
    from .narration.voices import VoiceUnavailable
    from .publish import MediaError, PageError, PublishError
    from .sweep import SweepError
    from .trace import TraceError

    return (OSError, MediaError, VoiceUnavailable, TraceError, ConfigError, PublishError, PageError,
            av.FFmpegError, ClusterError, SweepError)


def _describe(e) -> str:
    """One line saying what failed and where."""
    import av

    if isinstance(e, av.FFmpegError):
        return f"the encoder failed{f' on {e.filename}' if e.filename else ''}: {e.strerror or e}"
    if not isinstance(e, OSError):
        return str(e)
    from .files import cache_dir

    where = os.fspath(e.filename) if e.filename else None
    what = e.strerror or str(e)
    if where is None:
        return f"could not write: {what}"
    cache = os.path.abspath(cache_dir())
    hint = ""
    if os.path.abspath(where) == cache or os.path.abspath(where).startswith(cache + os.sep):
        hint = " (the cache folder: set KDANIM_CACHE to a writable folder)"
    return f"could not write {where}: {what}{hint}"


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]},
             epilog="\b\nExample:\n  kdanim simulate --tau 3 --alpha 0.5 --out trace.json")
@click.version_option(__version__, prog_name="kdanim")
def main():
    """kdanim: a real knowledge-distillation experiment, rendered as a narrated lesson video."""


@main.command(epilog="\b\nExample:\n  kdanim simulate --tau 3 --alpha 0.5 --epochs 100 --seed 0 --out trace.json")
@sim_options
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Write the trace JSON here (docs/TRACE.md); written atomically.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON instead of a table.")
def simulate(out, as_json, **kw):
    """Train a teacher, a student from scratch and a distilled student, and record the trace.

    The loss is L = (1 − α)·CE(y, softmax(z_s)) + α·τ²·KL(softmax(z_t/τ) ‖ softmax(z_s/τ)):
    α weights the soft term. Accuracy and agreement are read at τ = 1.
    """
    from .trace import content_hash, save, simulate_trace

    config = config_from_options(**kw)
    out = check_output_path(out)
    trace = simulate_trace(config)
    if out is not None:
        save(trace, out)
    if as_json:
        click.echo(json.dumps(trace["summary"], indent=2, sort_keys=True))
        return
    click.echo(format_summary(trace))
    click.echo(f"trace hash: {content_hash(trace)[:16]}" + (f" · written to {out}" if out else ""))


# -- sweeps ------------------------------------------------------------------

def _sweep_grid(tau, alpha, seeds, sim_kw):
    """The grid of the sweep command's options; bad values -> click.BadParameter (exit 2)."""
    from .sweep import Grid, SweepError, parse_floats, parse_seeds

    axes = {}
    for option, parse in (("--tau", lambda: parse_floats(tau, "--tau", 0.0, math.inf, lo_open=True)),
                          ("--alpha", lambda: parse_floats(alpha, "--alpha", 0.0, 1.0)),
                          ("--seeds", lambda: parse_seeds(seeds))):
        try:
            axes[option] = parse()
        except SweepError as e:
            raise click.BadParameter(str(e).partition(": ")[2], param_hint=f"'{option}'") from None
    return Grid(axes["--tau"], axes["--alpha"], axes["--seeds"], config_from_options(**sim_kw))


def scheduler_option(help):
    return click.option("--scheduler", default=None, metavar="tcp://HOST:PORT", help=help)


def _check_scheduler(address):
    if address is not None and "://" not in address:
        raise click.BadParameter(f"{address!r} is not an address like tcp://10.0.0.5:8786.",
                                 param_hint="'--scheduler'")
    return address


@main.command(epilog="\b\nExamples:\n  kdanim sweep --tau 1,2,3,5,8 --alpha 0.25,0.5,0.75 --seeds 0-4 --out sweep/\n"
                     "  kdanim sweep --tau 1,3,8 --epochs 30 --scheduler tcp://10.0.0.5:8786")
@click.option("--tau", default="3", show_default=True, help="Temperatures τ, comma-separated (each > 0).")
@click.option("--alpha", default="0.5", show_default=True, help="Soft-term weights α, comma-separated (in [0, 1]).")
@click.option("--seeds", default="0", show_default=True, help="Seeds: a range 0-4, a list 0,3,7, or both 0-2,9.")
@sim_options(skip=("tau", "alpha", "seed"))
@click.option("--out", type=click.Path(file_okay=False), default="kdanim-sweep", show_default=True,
              help="Sweep folder: sweep.json, sweep.csv and runs/ (one trace per run).")
@scheduler_option("Run on this Dask scheduler [default: $DASK_SCHEDULER_ADDRESS, else a local cluster].")
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Worker processes of the local cluster [default: one per core].")
@click.option("--yes", is_flag=True, help=f"Run a grid of more than {1000:,} runs.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
def sweep(tau, alpha, seeds, out, scheduler, workers, yes, quiet, **sim_kw):
    """Run every combination of τ × α × seed and collect the results.

    Other simulator options apply to every run. Each run's trace is saved in
    OUT/runs/ as soon as it finishes (the same file `kdanim simulate --out`
    writes); OUT/sweep.json (docs/SWEEP.md) and OUT/sweep.csv hold every run's
    config and summary. Running the same command again skips the runs already
    done. Runs on Dask: a local cluster, or --scheduler.
    """
    from .cluster import ClusterError, client
    from .sweep import MAX_RUNS_WITHOUT_YES, SweepError, format_table, pending, run_sweep

    grid = _sweep_grid(tau, alpha, seeds, sim_kw)
    if len(grid) > MAX_RUNS_WITHOUT_YES and not yes:
        raise click.UsageError(f"the grid has {len(grid):,} runs (more than {MAX_RUNS_WITHOUT_YES:,}): "
                               f"add --yes to run them all.")
    _check_out_dir(out)
    scheduler = _check_scheduler(scheduler)
    out = Path(out)
    done, todo = pending(grid, out)
    say = (lambda msg: None) if quiet else (lambda msg: click.echo(msg, err=True))
    say(f"{len(grid)} runs ({len(grid.tau)} τ × {len(grid.alpha)} α × {len(grid.seed)} seeds)"
        + (f": skipping {len(done)} already done" if done else ""))
    filed = []

    def on_run(c, n, total):
        filed.append(c)
        say(f"[{n}/{total}] τ = {c.tau:g}, α = {c.alpha:g}, seed {c.seed}")

    try:
        cluster = client(scheduler, workers) if todo else contextlib.nullcontext()
        with _sigterm_as_interrupt(), cluster as dask_client:
            doc, skipped = run_sweep(grid, out, dask_client, on_run=on_run)
    except (ClusterError, SweepError) as e:
        raise click.ClickException(f"{e}; the runs already done are kept in {out / 'runs'}"
                                   if isinstance(e, SweepError) else str(e)) from None
    except KeyboardInterrupt:
        click.echo(f"interrupted: {len(done) + len(filed)} of {len(grid)} runs are saved in {out / 'runs'}; "
                   f"run the same command again to finish.", err=True)
        raise SystemExit(130) from None
    except OSError as e:
        raise click.ClickException(f"could not write {e.filename or out}: {e.strerror or e}") from None
    if not quiet:
        click.echo(format_table(doc))
    say(f"wrote {out / 'sweep.json'}, {out / 'sweep.csv'} and {len(grid)} traces in {out / 'runs'}"
        + (f" ({skipped} skipped: already done)" if skipped else ""))


# -- rendering ---------------------------------------------------------------

class ChapterList(click.ParamType):
    """Comma-separated chapter numbers, e.g. 2,5 (see `kdanim chapters`)."""

    name = "N,N,..."

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        from .scenes import SCENES_IN_ORDER, SWEEP_SCENES

        valid = {c.number for c in SCENES_IN_ORDER + SWEEP_SCENES}
        out = []
        for part in str(value).split(","):
            part = part.strip()
            if not part.isdigit() or int(part) not in valid:
                self.fail(f"{part!r} is not a chapter number (1–{max(valid)}; see `kdanim chapters`).", param, ctx)
            if int(part) not in out:
                out.append(int(part))
        return sorted(out)


def _load_trace_option(path):
    from .trace import TraceError, load

    try:
        return load(path)
    except (TraceError, OSError, ValueError) as e:
        raise click.BadParameter(f"{path}: {e}", param_hint="'--trace'") from None


def _sweep_option(path, trace_path, chapters):
    """The sweep chapter's view of --sweep (None without it); usage errors exit 2."""
    from .scenes import SWEEP_SCENES

    from .facts import sweep_view
    from .sweep import SweepError, load

    if path is None:
        needs = [c for c in SWEEP_SCENES if chapters and c.number in chapters]
        if needs:
            raise click.BadParameter(f"'{needs[0].number}' is the chapter \"{needs[0].title}\": it needs --sweep.",
                                     param_hint="'--chapters'")
        return None
    if trace_path:
        raise click.UsageError("--sweep cannot be combined with --trace: the sweep chapter goes with a "
                               "simulated lesson (use the simulator options).")
    try:
        return sweep_view(load(path))
    except SweepError as e:
        raise click.BadParameter(f"{path}: {e}", param_hint="'--sweep'") from None


def _probe_index(value, names):
    from .facts import probe_index

    try:
        return probe_index(value, names)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="'--probe-class'") from None


@main.command(epilog="\b\nExamples:\n  kdanim render --tau 3 --alpha 0.5\n"
                     "  kdanim render --trace trace.json --quality low --chapters 4,6 --out preview/\n"
                     "  kdanim render --preview --out stills/\n"
                     "  kdanim render --sweep sweep/sweep.json --chapters 11 --quality low")
@sim_options
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False), default=None,
              help="Render this saved trace instead of simulating (not with simulator options).")
@click.option("--out", type=click.Path(file_okay=False), default="kdanim-out", show_default=True,
              help="Output folder: lesson.mp4, subtitles, transcript, chapters, thumbnail, trace, manifest.")
@click.option("--quality", type=click.Choice(list(QUALITIES)), default="high", show_default=True,
              help="low 480p15 · medium 720p30 · high 1080p60 · 4k 2160p60 (Manim's presets).")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="mp4", show_default=True,
              help="Container of the video (gif has no audio).")
@click.option("--webm", is_flag=True,
              help="Also write lesson.webm (VP9/Opus) beside lesson.mp4, for browsers without H.264.")
@click.option("--chapters", type=ChapterList(), default=None, help="Only these chapters, e.g. 2,5.")
@click.option("--probe-class", default=None,
              help="Class of the input shown in the soft-label and prediction chapters (name or index).")
@click.option("--voice", type=click.Choice(list(VOICES)), default=DEFAULT_VOICE, show_default=True,
              help=voices_help() + ".")
@click.option("--voice-model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Another Piper .onnx voice (with its .onnx.json beside it).")
@click.option("--preview", is_flag=True, help="Write one PNG per chapter (its last beat) instead of a video.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="Render chapters in this many parallel processes [default: the number of CPU cores, "
                   "at most 8].")
@click.option("--no-cache", is_flag=True, help="Render every chapter again even if a cached render exists.")
@click.option("--sweep", "sweep_path", type=click.Path(dir_okay=False), default=None,
              help="A sweep.json from `kdanim sweep`: adds the chapter \"Choosing τ and α\" after chapter 8.")
@scheduler_option("Render the chapters on this Dask scheduler's workers [default: local processes, --jobs].")
@click.option("--theme", type=click.Choice(["dark", "light"]), default="dark", show_default=True,
              help="Colours: dark (video) or light (projectors, printed handouts).")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.option("-v", "--verbose", is_flag=True, help="Show Manim's own log.")
@click.pass_context
def render(ctx, trace_path, out, quality, fmt, webm, chapters, probe_class, voice, voice_model, preview, jobs,
           no_cache, theme, sweep_path, scheduler, quiet, verbose, **sim_kw):
    """Render the narrated lesson video of a distillation run.

    Simulates the run (or reuses a cached trace of the same parameters, or
    renders --trace), renders every chapter with Manim, and writes the lesson
    folder. Chapters already rendered with the same inputs come from the cache.
    """
    from .publish import render_lesson

    tr, opts, display = _prepare_run(ctx, trace_path, out, quality, chapters, probe_class, voice, voice_model,
                                     preview, jobs, no_cache, theme, quiet, verbose, sim_kw,
                                     sweep_path=sweep_path, scheduler=scheduler)
    with _sigterm_as_interrupt(), display or contextlib.nullcontext():  # `kill`: cleans up like Ctrl-C
        manifest = render_lesson(tr, opts, Path(out), fmt=fmt, events=display and display.event,
                                 message=display and display.message, webm=webm)
    if not quiet:
        if preview:
            click.echo(f"wrote {len(manifest['preview'])} preview stills to {out}/", err=True)
        else:
            click.echo(f"wrote {out}/lesson.{fmt} ({manifest['duration']:.0f} s, "
                       f"{len(manifest['chapters'])} chapter{'s' if len(manifest['chapters']) != 1 else ''}) and its subtitles, transcript and manifest", err=True)


def _prepare_run(ctx, trace_path, out, quality, chapters, probe_class, voice, voice_model, preview, jobs,
                 no_cache, theme, quiet, verbose, sim_kw, sweep_path=None, scheduler=None):
    """Check the run options shared by `render` and `slides`; return (trace, RenderOptions, progress)."""
    from .narration.voices import get_voice
    from .render import RenderOptions

    given = [n for n in SIM_OPTION_NAMES
             if ctx.get_parameter_source(n) not in (click.core.ParameterSource.DEFAULT, None)]
    if trace_path and given:
        raise click.UsageError(f"--trace renders a saved run: it cannot be combined with "
                               f"--{given[0].replace('_', '-')}.")
    sweep_view = _sweep_option(sweep_path, trace_path, chapters)
    scheduler = _check_scheduler(scheduler)
    _check_out_dir(out)
    if trace_path:
        tr = _load_trace_option(trace_path)
    else:
        from .trace import cached_trace

        config = config_from_options(**sim_kw)
        # a bad --probe-class fails before simulating
        _probe_index(probe_class, datasets.get(config.dataset).class_names)
        tr = cached_trace(config, on_simulate=None if quiet else lambda: click.echo(
            "simulating teacher, student from scratch and distilled student ...", err=True))
    if jobs is None:
        jobs = max(1, min(os.cpu_count() or 1, 8))
    opts = RenderOptions(quality=quality, voice=voice, voice_model=voice_model,
                         probe_class=_probe_index(probe_class, tr["classes"]["names"]),
                         chapters=chapters, preview=preview, jobs=jobs, verbose=verbose,
                         use_cache=not no_cache, theme=theme, sweep=sweep_view, scheduler=scheduler)
    display = None
    if not quiet:
        from .render.progress import ChapterProgress
        from .render import expected_beats, selected_chapters

        display = ChapterProgress(selected_chapters(opts), expected_beats())
    get_voice(voice, model_path=voice_model)  # fail now, not after the first chapter
    return tr, opts, display


@main.command(epilog="\b\nExamples:\n  kdanim slides --tau 3 --alpha 0.5 --theme light --out deck/\n"
                     "  kdanim slides --trace trace.json --quality medium --out deck/")
@click.pass_context
def slides(ctx, trace_path, out, quality, chapters, probe_class, voice, voice_model, jobs, no_cache, theme,
           sweep_path, scheduler, quiet, verbose, **sim_kw):
    """Write the lesson as live-lecture slides: one slide per beat, its narration as speaker notes.

    Takes the same options as `render` and reuses its cached chapter renders.
    Writes deck.html (reveal.js, offline; S opens the speaker notes),
    deck.pptx (a video and the notes on every slide), deck.pdf (one still per
    slide) and manim-slides' presentation files (slides/, SCENES.txt).
    """
    from .publish.slides import SlidesUnavailable, build_deck, check_available

    try:
        check_available()
    except SlidesUnavailable as e:
        raise click.UsageError(str(e)) from None
    tr, opts, display = _prepare_run(ctx, trace_path, out, quality, chapters, probe_class, voice, voice_model,
                                     False, jobs, no_cache, theme, quiet, verbose, sim_kw,
                                     sweep_path=sweep_path, scheduler=scheduler)
    with _sigterm_as_interrupt(), display or contextlib.nullcontext():  # `kill`: cleans up like Ctrl-C
        deck = build_deck(tr, opts, Path(out), events=display and display.event, message=display and display.message)
    if not quiet:
        click.echo(f"wrote {out}/deck.html, deck.pptx and deck.pdf ({deck['slides']} slides in "
                   f"{deck['chapters']} chapters; the deck took {deck['seconds']['deck']:.0f} s after the "
                   f"chapters)", err=True)


# `slides` takes render's options (all but the video's --format, --webm and --preview) and its own --out.
slides.params = [p for p in render.params if p.name not in ("out", "fmt", "webm", "preview")] + [
    click.Option(["--out"], type=click.Path(file_okay=False), default="kdanim-slides", show_default=True,
                 help="Output folder (replaced as a whole): deck.html, deck_assets/, deck.pptx, deck.pdf, "
                      "slides/, SCENES.txt, manifest.json.")]


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """While rendering, SIGTERM raises KeyboardInterrupt, so `finally` blocks remove temporary files."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _check_out_dir(out):
    """Fail early (exit 2) when the folder ``out`` cannot be replaced as a whole (see kdanim.publish)."""
    p = Path(os.path.realpath(out))
    if p.exists() and not p.is_dir():
        raise click.BadParameter(f"{out!r} exists and is not a folder.", param_hint="'--out'")
    parent = next((a for a in p.parents if a.exists()), None)
    if parent is not None and not parent.is_dir():
        raise click.BadParameter(f"{out!r} cannot be made: {str(parent)!r} is a file.", param_hint="'--out'")
    if parent is None or not os.access(parent, os.W_OK | os.X_OK):
        raise click.BadParameter(f"{out!r} is not writable.", param_hint="'--out'")
    here = Path.cwd().resolve()
    if here == p or p in here.parents:
        raise click.BadParameter(f"{out!r} holds the current folder: kdanim replaces the output folder as a "
                                 f"whole, so render into a folder of its own.", param_hint="'--out'")


@main.command(epilog="\b\nExample:\n  kdanim chapters")
def chapters():
    """List the lesson's chapters (chapter 11 is played only with --sweep)."""
    from .scenes import lesson_order

    for c in lesson_order(with_sweep=True):
        extra = f"  (with --sweep, after {c.after})" if hasattr(c, "after") else ""
        click.echo(f"{c.number:2d}  {c.title:<28} {c.__module__.split('.')[-1] + '.py':<22} {c.__name__}{extra}")


# -- doctor and cache --------------------------------------------------------

@main.command(epilog="\b\nExample:\n  kdanim doctor")
def doctor():
    """Check that this machine can render: Python, cairo/pango, PyAV, voices, LaTeX, disk.

    Prints one line per check (✓ fine, ✗ missing, ! optional and missing) and
    what to install for anything missing. Exits 1 if a required check fails.
    """
    from .doctor import checks

    failed = False
    for c in checks():
        mark = "✓" if c.ok else ("✗" if c.required else "!")
        line = f"{mark} {c.name:<27} {c.detail}"
        if not c.ok:
            line += f"\n  {'→ install' if c.required else '→ optional'}: {c.fix}"
            failed = failed or c.required
        click.echo(line)
    if failed:
        click.echo("some required parts are missing: install them as shown above.", err=True)
        raise SystemExit(1)
    click.echo("ready to render.")


CACHE_PARTS = {"chapters": "rendered chapters", "traces": "simulated runs", "voice": "synthesized narration"}


@main.group(cls=_Group, epilog="\b\nExamples:\n  kdanim cache path\n  kdanim cache clear --what chapters")
def cache():
    """Show or clear kdanim's cache folder.

    The cache is $KDANIM_CACHE, else $XDG_CACHE_HOME/kdanim, else
    ~/.cache/kdanim. It holds chapters/ (rendered chapters, keyed by the code,
    the trace parts each chapter reads, quality, voice and probe class),
    traces/ (simulated runs, keyed by their parameters) and voice/
    (synthesized narration, keyed by text, voice and settings).
    """


@cache.command("path", epilog="\b\nExample:\n  kdanim cache path")
def cache_path():
    """Print the cache folder and the size of each part."""
    from .files import cache_dir

    root = cache_dir()
    click.echo(str(root))
    for part, what in CACHE_PARTS.items():
        n, size = _folder_size(root / part)
        click.echo(f"  {part + '/':<10} {what:<22} {n:6d} files {size / 1e6:9.1f} MB", err=True)


def _folder_size(folder):
    n = size = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            try:
                size += os.lstat(os.path.join(dirpath, name)).st_size
                n += 1
            except OSError:
                pass
    return n, size


@cache.command("clear", epilog="\b\nExamples:\n  kdanim cache clear\n  kdanim cache clear --what voice")
@click.option("--what", type=click.Choice(["all", *CACHE_PARTS]), default="all", show_default=True,
              help="Which part of the cache to delete.")
def cache_clear(what):
    """Delete cached chapters, traces and/or synthesized narration."""
    import shutil

    from .files import cache_dir

    root = cache_dir()
    parts = list(CACHE_PARTS) if what == "all" else [what]
    total_n = total_size = 0
    for part in parts:
        folder = root / part
        if not folder.exists():
            continue
        n, size = _folder_size(folder)
        # Rename first so a render running meanwhile never sees a half-deleted part.
        trash = root / f".trash-{part}-{os.getpid()}"
        try:
            os.replace(folder, trash)
            shutil.rmtree(trash)
        except OSError as e:
            raise click.ClickException(f"cannot clear {folder}: {e.strerror or e}") from None
        total_n, total_size = total_n + n, total_size + size
    click.echo(f"cleared {', '.join(parts)} in {root}: {total_n} files, {total_size / 1e6:.1f} MB")


# -- publish -----------------------------------------------------------------

class FloatList(click.ParamType):
    """Comma-separated finite numbers, e.g. 1,3,8."""

    name = "X,X,..."

    def __init__(self, lo, hi, lo_open=False):
        self.lo, self.hi, self.lo_open = lo, hi, lo_open

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        out = []
        for part in str(value).split(","):
            try:
                x = float(part)
            except ValueError:
                self.fail(f"{part.strip()!r} is not a number.", param, ctx)
            if not math.isfinite(x) or x < self.lo or x > self.hi or (self.lo_open and x == self.lo):
                bound = f"> {self.lo:g}" if self.lo_open else f"in [{self.lo:g}, {self.hi:g}]"
                self.fail(f"{part.strip()!r} is not {bound}.", param, ctx)
            if x not in out:
                out.append(x)
        return sorted(out)


@main.command(epilog="\b\nExamples:\n  kdanim publish --sweep sweep/sweep.json --quality medium --out site/"
                     "   # after: kdanim sweep ... --out sweep/\n"
                     "  kdanim publish --tau 1,3,8 --alpha 0,0.5,1 --out site/")
@click.option("--sweep", "sweep_path", type=click.Path(dir_okay=False), default=None,
              help="A sweep.json from `kdanim sweep`: one variant per (τ, α) from its saved runs, each with the "
                   "chapter \"Choosing τ and α\" (not with --tau, --alpha, --epochs).")
@click.option("--tau", "taus", type=FloatList(0, math.inf, lo_open=True), default="1,3,8", show_default=True,
              help="The τ slider's values (without --sweep: simulated here).")
@click.option("--alpha", "alphas", type=FloatList(0, 1), default="0,0.5,1", show_default=True,
              help="The α slider's values (without --sweep).")
@click.option("--epochs", type=click.IntRange(1, MAX_EPOCHS), default=100, show_default=True,
              help="Student training epochs (without --sweep).")
@click.option("--seed", type=click.IntRange(0, None), default=None,
              help="Root seed of the variants [default: 0; with --sweep, the sweep's first seed].")
@click.option("--out", type=click.Path(file_okay=False), default="site", show_default=True,
              help="Site folder: index.html (the explorer) and variants/tau…-alpha…/ (one lesson each).")
@click.option("--quality", type=click.Choice(list(QUALITIES)), default="medium", show_default=True,
              help="low 480p15 · medium 720p30 · high 1080p60 · 4k 2160p60.")
@click.option("--chapters", type=ChapterList(), default=None, help="Only these chapters, e.g. 2,5.")
@click.option("--voice", type=click.Choice(list(VOICES)), default=DEFAULT_VOICE, show_default=True,
              help=voices_help() + ".")
@click.option("--webm", is_flag=True, help="Also write lesson.webm (VP9/Opus) in every variant.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None, help="Parallel chapter renders.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.pass_context
def publish(ctx, sweep_path, taus, alphas, epochs, seed, out, quality, chapters, voice, webm, jobs, quiet):
    """Render a lesson for every (τ, α) and write the explorer page over them.

    With --sweep, the variants are the sweep's saved runs of one seed, and
    every variant has the sweep's chapter "Choosing τ and α". Writes
    OUT/index.html with a τ slider and an α slider; moving one switches to
    that run's video at the same chapter and time and updates the numbers.
    Chapters that do not depend on τ or α are rendered once. Copy OUT to any
    static host as it is.
    """
    from .narration.voices import get_voice
    from .publish import render_site
    from .trace import cached_trace
    from .render import RenderOptions

    say = None if quiet else (lambda s: click.echo(s, err=True))
    if sweep_path is not None:
        given = [o for n, o in (("taus", "--tau"), ("alphas", "--alpha"), ("epochs", "--epochs"))
                 if ctx.get_parameter_source(n) is not click.core.ParameterSource.DEFAULT]
        if given:
            raise click.UsageError(f"--sweep takes τ, α and the epochs from the sweep: it cannot be combined "
                                   f"with {given[0]}.")
    view = _sweep_option(sweep_path, None, chapters)
    _check_out_dir(out)
    if sweep_path is None:
        seed = 0 if seed is None else seed
        traces = [cached_trace(config_from_options(tau=t, alpha=a, epochs=epochs, seed=seed),
                               on_simulate=say and (lambda: say("simulating teacher, students ...")))
                  for t in taus for a in alphas]
    else:
        seed, traces = _sweep_traces(sweep_path, seed)
        taus, alphas = view["axes"]["tau"], view["axes"]["alpha"]
    opts = RenderOptions(quality=quality, voice=voice, chapters=chapters, sweep=view,
                         jobs=jobs or max(1, min(os.cpu_count() or 1, 8)))
    get_voice(voice)  # fail now, not after the first chapter
    with _sigterm_as_interrupt():
        dirs = render_site(traces, opts, Path(out), webm=webm, message=say)
    if not quiet:
        click.echo(f"wrote {out}/index.html over {len(dirs)} variants ({len(taus)} τ × {len(alphas)} α"
                   + (f", seed {seed} of the sweep" if sweep_path else "") + ")", err=True)


def _sweep_traces(path, seed):
    """(seed, the saved trace of every (τ, α) of the sweep at ``path`` for that seed); bad input exits 2."""
    from .sweep import load
    from .trace import TraceError, content_hash
    from .trace import load as load_trace

    doc = load(path)  # already validated by _sweep_option
    seeds = doc["axes"]["seed"]
    if seed is None:
        seed = seeds[0]
    elif seed not in seeds:
        raise click.BadParameter(f"{seed} is not a seed of the sweep ({', '.join(map(str, seeds))}).",
                                 param_hint="'--seed'")
    traces = []
    for run in (r for r in doc["runs"] if r["seed"] == seed):
        where = Path(path).parent / run["trace"]
        try:
            tr = load_trace(where)
        except (TraceError, OSError, ValueError) as e:
            raise click.BadParameter(f"{path}: run {run['trace']}: {getattr(e, 'strerror', None) or e}",
                                     param_hint="'--sweep'") from None
        if content_hash(tr) != run["content_hash"]:
            raise click.BadParameter(f"{path}: run {run['trace']} is not the run the sweep recorded "
                                     f"(content hash): run `kdanim sweep` again.", param_hint="'--sweep'")
        traces.append(tr)
    return seed, traces
