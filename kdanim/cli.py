"""The `kdanim` command line: it parses, validates, calls one library function per command, and turns
expected errors into one line (exit 2 for usage errors, 1 for failed work)."""

import contextlib
import json
import os
from pathlib import Path

import av
import click

from . import __version__, facts, files, sweep as sweepmod, trace as tracemod
from .cluster import ClusterError
from .cli_options import (EXPORT_OPTIONS, LESSON_OPTIONS, LOUDNESS, OWN_OPTIONS, QUIET, check_written, RENDER_OPTIONS, WORDS_OPTIONS, AlphaList, Parsed, TauList, bad,
                          check_scheduler, checked_words, config_from_options, default_voice, opt, options, own_script,
                          prepare_run, quality_option, LANG, SCRIPT, SITE_OPTIONS,
                          say_to_stderr, scheduler_option, sim_options, sweep_view_option)
from .narration import locale, script
from .narration.voices import VoiceUnavailable
from .publish import (FORMATS, MediaError, PageError, PublishError, check_out_dir, render_lesson, render_site,
                      simulated_traces)
from .publish import doctor as doctormod
from .publish.check import CheckError, check_folder
from .publish.slides import SlidesUnavailable, build_deck, check_available
from .narration.authoring import export
from .render import ChapterPool, RenderOptions, default_jobs, facts_listing, make_voice, spoken_words
from .scenes import lesson_order
from .sim import datasets
from .sim.config import MAX_EPOCHS, ConfigError
from .viz.layout import LayoutError

__all__ = ["main", "sim_options", "config_from_options"]

#: Failures of the work itself, each said in one line with exit status 1 (anything else is a bug).
EXPECTED_ERRORS = (OSError, MediaError, CheckError, VoiceUnavailable, tracemod.TraceError, PublishError, PageError,
                   av.FFmpegError, ClusterError, sweepmod.SweepError, datasets.DatasetUnavailable,
                   script.ScriptError, LayoutError)


# -- the error boundary ------------------------------------------------------------------------------

class _Group(click.Group):
    """The commands' one error boundary.

    Usage errors (a simulator option's ConfigError included) print as one line ("Error: ...") with
    exit status 2; every expected failure of the work itself (the cache, the output folder, the voice,
    the trace, a full disk, the encoder) as one line with exit status 1. Anything else is a bug and
    keeps its traceback.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            e.ctx = None
            raise
        except click.ClickException:
            raise
        except ConfigError as e:
            raise click.BadParameter(e.message, param_hint=f"'{e.option}'") from None
        except EXPECTED_ERRORS as e:
            raise click.ClickException(_describe(e)) from None


def _describe(e) -> str:
    """One line saying what failed and where."""
    if isinstance(e, av.FFmpegError):
        return f"the encoder failed{f' on {e.filename}' if e.filename else ''}: {e.strerror or e}"
    if not isinstance(e, OSError):
        return str(e)
    where, what = (os.fspath(e.filename) if e.filename else None), e.strerror or str(e)
    if where is None:
        return f"could not write: {what}"
    cache = os.path.abspath(files.cache_dir())
    inside = os.path.abspath(where) == cache or os.path.abspath(where).startswith(cache + os.sep)
    return f"could not write {where}: {what}" + (" (the cache folder: set KDANIM_CACHE to a writable folder)"
                                                 if inside else "")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]},
             epilog="\b\nExample:\n  kdanim simulate --tau 3 --alpha 0.5 --out trace.json")
@click.version_option(__version__, prog_name="kdanim")
def main():
    """kdanim: a real knowledge-distillation experiment, rendered as a narrated lesson video."""


@main.command(epilog="\b\nExample:\n  kdanim simulate --tau 3 --alpha 0.5 --epochs 100 --seed 0 --out trace.json")
@sim_options
@opt("--out", type=click.Path(dir_okay=False), default=None,
     help="Write the trace JSON here (docs/TRACE.md); written atomically.")
@opt("--json", "as_json", is_flag=True, help="Print the summary as JSON instead of a table.")
def simulate(out, as_json, **kw):
    """Train a teacher, a student from scratch and a distilled student, and record the trace.

    The loss is L = (1 − α)·CE(y, softmax(z_s)) + α·τ²·KL(softmax(z_t/τ) ‖ softmax(z_s/τ)):
    α weights the soft term. Accuracy and agreement are read at τ = 1.
    """
    config = config_from_options(**kw)
    out = out and bad("--out", files.check_writable_file, out)
    trace = tracemod.simulate_trace(config)
    if out:
        tracemod.save(trace, out)
    if as_json:
        return click.echo(json.dumps(trace["summary"], indent=2, sort_keys=True))
    click.echo(facts.summary_table(trace))
    click.echo(f"trace hash: {tracemod.content_hash(trace)[:16]}" + (f" · written to {out}" if out else ""))


@main.command(epilog="\b\nExamples:\n  kdanim sweep --tau 1,2,3,5,8 --alpha 0.25,0.5,0.75 --seeds 0-4 --out sweep/\n"
                     "  kdanim sweep --tau 1,3,8 --epochs 30 --scheduler tcp://10.0.0.5:8786")
@opt("--tau", type=TauList, default="3", help="Temperatures τ, comma-separated (each > 0).")
@opt("--alpha", type=AlphaList, default="0.5", help="Soft-term weights α, comma-separated (in [0, 1]).")
@opt("--seeds", type=Parsed("N-M,...", sweepmod.parse_seeds), default="0",
     help="Seeds: a range 0-4, a list 0,3,7, or both 0-2,9.")
@sim_options(skip=("tau", "alpha", "seed"))
@opt("--out", type=click.Path(file_okay=False), default="kdanim-sweep",
     help="Sweep folder: sweep.json, sweep.csv and runs/ (one trace per run).")
@scheduler_option("Run on this Dask scheduler [default: $DASK_SCHEDULER_ADDRESS, else a local cluster].")
@opt("--workers", type=click.IntRange(1, 256), default=None, help="Worker processes of the local cluster "
     "[default: one per core].")
@opt("--yes", is_flag=True, help=f"Run a grid of more than {sweepmod.MAX_RUNS_WITHOUT_YES:,} runs.")
@QUIET
def sweep(tau, alpha, seeds, out, scheduler, workers, yes, quiet, **sim_kw):
    """Run every combination of τ × α × seed and collect the results.

    Other simulator options apply to every run. Each run's trace is saved in
    OUT/runs/ as soon as it finishes (the same file `kdanim simulate --out`
    writes); OUT/sweep.json (docs/SWEEP.md) and OUT/sweep.csv hold every run's
    config and summary. Running the same command again skips the runs already
    done. Runs on Dask: a local cluster, or --scheduler.
    """
    grid = sweepmod.Grid(tuple(tau), tuple(alpha), seeds, config_from_options(**sim_kw))
    if len(grid) > sweepmod.MAX_RUNS_WITHOUT_YES and not yes:
        raise click.UsageError(f"the grid has {len(grid):,} runs (more than {sweepmod.MAX_RUNS_WITHOUT_YES:,}): "
                               f"add --yes to run them all.")
    out = bad("--out", check_out_dir, out) and Path(out)
    try:
        with files.sigterm_as_interrupt():
            doc, skipped = sweepmod.run(grid, out, check_scheduler(scheduler), workers, say_to_stderr(quiet))
    except sweepmod.SweepInterrupted as e:
        click.echo(str(e), err=True)
        raise SystemExit(130) from None
    if not quiet:
        click.echo(sweepmod.format_table(doc))
    say_to_stderr(quiet)(f"wrote {out / 'sweep.json'}, {out / 'sweep.csv'} and {len(grid)} traces in {out / 'runs'}"
                + (f" ({skipped} skipped: already done)" if skipped else ""))


# -- lessons, decks and sites ------------------------------------------------------------------------

@main.command(epilog="\b\nExamples:\n  kdanim narration --alpha 0\n  kdanim narration --trace trace.json --chapters 8,10")
@sim_options
@options(WORDS_OPTIONS)
@opt("--json", "as_json", is_flag=True, help="Print the beats as JSON: [{chapter, title, beats: [{id, text}]}].")
@click.pass_context
def narration(ctx, as_json, **kw):
    """Print what the lesson says for a run, chapter by chapter and beat by beat, without rendering.

    Takes the inputs of `render` (simulator options, --trace, --sweep, --probe-class, --chapters).
    Each line is a beat's id (as in the script) and its words, chosen and filled for this run.
    """
    tr, opts, _ = prepare_run(ctx, kw, words_only=True)
    chapters = spoken_words(tr, opts)
    if as_json:
        return click.echo(json.dumps([{"chapter": n, "title": t, "beats": [{"id": i, "text": x} for i, x in beats]}
                                      for n, t, beats in chapters], indent=1, ensure_ascii=False))
    for n, title, beats in chapters:
        click.echo(f"## {n}. {title}\n" + "".join(f"\n[{i}] {text}\n" for i, text in beats))


@main.command("script", epilog="\b\nExamples:\n  kdanim script --out my-lesson.md   # then: kdanim render --script "
                               "my-lesson.md\n  kdanim script --facts --alpha 0\n  kdanim script --lang de --out mein.md")
@sim_options
@options(EXPORT_OPTIONS)
@click.pass_context
def script_command(ctx, out, force, list_facts, **kw):
    """Export the lesson's script to reword it, or list the facts its words may use.

    Writes the shipped script: every beat with its variants and their conditions,
    and the on-screen words, after a comment on the format. Reword it and render
    it with --script FILE (render, narration, slides, publish): it is checked in
    full first, and numbers written in it are checked against the run. --facts
    lists every fact with this run's value and meaning (the run chosen as for
    `narration`), and the formatters.
    """
    if list_facts:
        tr, opts, _ = prepare_run(ctx, kw, words_only=True)
        return click.echo(facts_listing(tr, opts))
    text = bad("--out", export, kw["lang"], out, force)
    if out is None:
        return click.echo(text, nl=False)
    say_to_stderr(kw["quiet"])(f"wrote {out}: reword it, then render it with --script {out}")


@main.command(epilog="\b\nExamples:\n  kdanim render --tau 3 --alpha 0.5\n"
                     "  kdanim render --trace trace.json --quality low --chapters 4,6 --out preview/\n"
                     "  kdanim render --preview --out stills/\n"
                     "  kdanim render --sweep sweep/sweep.json --chapters 11 --quality low")
@sim_options
@options(RENDER_OPTIONS, LESSON_OPTIONS, [LOUDNESS])
@opt("--out", type=click.Path(file_okay=False), default="kdanim-out",
     help="Output folder: lesson.mp4, subtitles, transcript, chapters, thumbnail, trace, manifest.")
@opt("--format", "fmt", type=click.Choice(list(FORMATS)), default="mp4", help="Container of the video (gif has no audio).")
@opt("--webm", is_flag=True, help="Also write lesson.webm (VP9/Opus) beside lesson.mp4, for browsers without H.264.")
@opt("--preview", is_flag=True, help="Write one PNG per chapter (its last beat) instead of a video.")
@click.pass_context
def render(ctx, fmt, webm, preview, **kw):
    """Render the narrated lesson video of a distillation run.

    Simulates the run (or reuses a cached trace of the same parameters, or
    renders --trace), renders every chapter with Manim, and writes the lesson
    folder. Chapters already rendered with the same inputs come from the cache.
    """
    tr, opts, display = prepare_run(ctx, kw, preview)
    with files.sigterm_as_interrupt(), display or contextlib.nullcontext():  # `kill`: cleans up like Ctrl-C
        manifest = render_lesson(tr, opts, Path(kw["out"]), fmt=fmt, events=display and display.event,
                                 message=display and display.message, webm=webm)
    n, out = len(manifest.get("chapters", ())), kw["out"]
    say_to_stderr(kw["quiet"])(f"wrote {len(manifest['preview'])} preview stills to {out}/" if preview else
                      f"wrote {out}/lesson.{fmt} ({manifest['duration']:.0f} s, {n} chapter{'s' if n != 1 else ''}) "
                      f"and its subtitles, transcript and manifest")
    if not preview:
        check_written(out, kw["quiet"])


@main.command(epilog="\b\nExamples:\n  kdanim slides --tau 3 --alpha 0.5 --theme light --out deck/\n"
                     "  kdanim slides --trace trace.json --quality medium --out deck/")
@sim_options
@options(RENDER_OPTIONS, LESSON_OPTIONS)
@opt("--out", type=click.Path(file_okay=False), default="kdanim-slides", help="Output folder (replaced as a "
     "whole): deck.html, deck_assets/, deck.pptx, deck.pdf, slides/, SCENES.txt, manifest.json.")
@click.pass_context
def slides(ctx, **kw):
    """Write the lesson as live-lecture slides: one slide per beat, its narration as speaker notes.

    Takes the same options as `render` and reuses its cached chapter renders.
    Writes deck.html (reveal.js, offline; S opens the speaker notes),
    deck.pptx (a video and the notes on every slide), deck.pdf (one still per
    slide) and manim-slides' presentation files (slides/, SCENES.txt).
    """
    try:
        check_available()
    except SlidesUnavailable as e:
        raise click.UsageError(str(e)) from None
    tr, opts, display = prepare_run(ctx, kw)
    with files.sigterm_as_interrupt(), display or contextlib.nullcontext():
        deck = build_deck(tr, opts, Path(kw["out"]), events=display and display.event,
                          message=display and display.message)
    say_to_stderr(kw["quiet"])(f"wrote {kw['out']}/deck.html, deck.pptx and deck.pdf ({deck['slides']} slides in "
                      f"{deck['chapters']} chapters; the deck took {deck['seconds']['deck']:.0f} s after the chapters)")
    check_written(kw["out"], kw["quiet"])


@main.command(epilog="\b\nExamples:\n  kdanim publish --sweep sweep/sweep.json --quality medium --out site/"
                     "   # after: kdanim sweep ... --out sweep/\n"
                     "  kdanim publish --sweep sweep/sweep.json --scheduler tcp://10.0.0.5:8786 --out site/\n"
                     "  kdanim publish --tau 1,3,8 --alpha 0,0.5,1 --out site/")
@opt("--sweep", "sweep_path", type=click.Path(dir_okay=False), default=None,
     help="A sweep.json from `kdanim sweep`: one variant per (τ, α) from its saved runs, each with the "
          "chapter \"Choosing τ and α\" (not with --tau, --alpha, --epochs).")
@opt("--tau", "taus", type=TauList, default="1,3,8", help="The τ slider's values (without --sweep: simulated here).")
@opt("--alpha", "alphas", type=AlphaList, default="0,0.5,1", help="The α slider's values (without --sweep).")
@opt("--epochs", type=click.IntRange(1, MAX_EPOCHS), default=100, help="Student training epochs (without --sweep).")
@opt("--seed", type=click.IntRange(0, None), default=None,
     help="Root seed of the variants [default: 0; with --sweep, the sweep's first seed].")
@opt("--out", type=click.Path(file_okay=False), default="site",
     help="Site folder: index.html (the explorer) and variants/tau…-alpha…/ (one lesson each).")
@options(RENDER_OPTIONS, [quality_option("medium"), LOUDNESS], SITE_OPTIONS, OWN_OPTIONS)
@opt("--webm", is_flag=True, help="Also write lesson.webm (VP9/Opus) in every variant.")
@QUIET
@click.pass_context
def publish(ctx, sweep_path, taus, alphas, epochs, seed, out, voice, lang, quality, loudness, chapters, jobs, webm,
            probe_class, voice_model, theme, no_cache, scheduler, quiet, strict, **own):
    """Render a lesson for every (τ, α) and write the explorer page over them.

    With --sweep, the variants are the sweep's saved runs of one seed, and
    every variant has the sweep's chapter "Choosing τ and α". Writes
    OUT/index.html with a τ slider and an α slider; moving one switches to
    that run's video at the same chapter and time and updates the numbers.
    The chapters of all variants are one pool of renders, longest first: in
    --jobs processes, or on the workers of --scheduler. Chapters that do not
    depend on τ or α are rendered once. Each variant is published as soon as
    its chapters are in; after Ctrl-C the same command renders only what is
    missing. Copy OUT to any static host as it is.
    """
    say = say_to_stderr(quiet)
    given = [o for n, o in (("taus", "--tau"), ("alphas", "--alpha"), ("epochs", "--epochs"))
             if ctx.get_parameter_source(n) is not click.core.ParameterSource.DEFAULT]
    if sweep_path is not None and given:
        raise click.UsageError(f"--sweep takes τ, α and the epochs from the sweep: it cannot be combined with {given[0]}.")
    view = sweep_view_option(sweep_path, None, chapters)
    own = own_script({**own, "lang": lang})  # the script checked before any work
    bad("--out", check_out_dir, out)
    check_scheduler(scheduler)
    traces = None
    if view is not None:
        seeds = view["axes"]["seed"]
        if seed is not None and seed not in seeds:
            raise click.BadParameter(f"{seed} is not a seed of the sweep ({', '.join(map(str, seeds))}).",
                                     param_hint="'--seed'")
        seed, traces = bad("--sweep", sweepmod.seed_traces, sweep_path, seed)
        taus, alphas = view["axes"]["tau"], view["axes"]["alpha"]
    names = traces[0]["classes"]["names"] if traces else datasets.get(datasets.DEFAULT).class_names
    opts = RenderOptions(quality=quality, voice=voice or locale.default_voice(lang), chapters=chapters, sweep=view,
                         jobs=jobs or default_jobs(os.cpu_count()), loudness=loudness,
                         probe_class=bad("--probe-class", facts.probe_index, probe_class, names),
                         voice_model=voice_model, theme=theme, use_cache=not no_cache, scheduler=scheduler,
                         check=not ctx.params["no_check"], **own)
    bad("--voice", make_voice, opts)  # fail now, not after the first chapter
    # the pool first: an unreachable scheduler is one line now, before any simulation
    with files.sigterm_as_interrupt(), ChapterPool(opts.scheduler, opts.jobs) as pool:
        if traces is None:
            seed = seed or 0
            traces = simulated_traces(taus, alphas, epochs, seed, lambda: say("simulating teacher, students ..."))
        checked_words(traces, opts, strict)  # every variant's words, before the first render
        dirs = render_site(traces, opts, Path(out), webm=webm, message=None if quiet else say, pool=pool)
    say(f"wrote {out}/index.html over {len(dirs)} variants ({len(taus)} τ × {len(alphas)} α"
        + (f", seed {seed} of the sweep" if sweep_path else "") + ")")
    check_written(out, quiet)


# -- the lesson, the machine and the cache -----------------------------------------------------------

@main.command(epilog="\b\nExamples:\n  kdanim chapters\n  kdanim chapters --lang de")
@options([LANG, SCRIPT])
@click.pass_context
def chapters(ctx, **kw):
    """List the lesson's chapters, titled by its script (chapter 11 is played only with --sweep)."""
    own = own_script(kw)
    default_voice(ctx, own)  # a --lang with a --script of another language is a usage error
    titles = script.load_cached(own["script"]).titles
    for c in lesson_order(with_sweep=True):
        extra = f"  (with --sweep, after {c.after})" if hasattr(c, "after") else ""
        title = titles.get(c.key, c.key)
        click.echo(f"{c.number:2d}  {title:<28} {c.__module__.split('.')[-1] + '.py':<22} {c.__name__}{extra}")


@main.command(epilog="\b\nExamples:\n  kdanim check lesson/\n  kdanim check site/")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
def check(folder):
    """Check a lesson folder, an explorer site or a deck: files and hashes, video and audio encoding,
    loudness and true peak, captions, and its pages with axe-core (skipped, and said so, without chromium).
    Prints a row per check (value, rule, ✓/✗); exits 1 if one fails."""
    report = check_folder(folder, pages=True)
    click.echo(report.table() + "\n" + report.summary())
    if not report.ok:
        raise SystemExit(1)


@main.command(epilog="\b\nExample:\n  kdanim doctor")
def doctor():
    """Check that this machine can render: Python, cairo/pango, PyAV, voices, LaTeX, disk.

    Prints one line per check (✓ fine, ✗ missing, ! optional and missing) and
    what to install for anything missing. Exits 1 if a required check fails.
    """
    report, failed = doctormod.report(doctormod.checks())
    click.echo(report)
    if failed:
        click.echo("some required parts are missing: install them as shown above.", err=True)
        raise SystemExit(1)
    click.echo("ready to render.")


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
    click.echo(str(files.cache_dir()))
    for part, (n, size) in files.cache_usage().items():
        click.echo(f"  {part + '/':<12} {files.CACHE_PARTS[part]:<40} {n:6d} files {size / 1e6:9.1f} MB", err=True)


@cache.command("clear", epilog="\b\nExamples:\n  kdanim cache clear\n  kdanim cache clear --what voice")
@opt("--what", type=click.Choice(["all", *files.CACHE_PARTS]), default="all", help="Which part of the cache to delete.")
def cache_clear(what):
    """Delete cached chapters, traces and/or synthesized narration."""
    parts = list(files.CACHE_PARTS) if what == "all" else [what]
    try:
        n, size = files.clear_cache(parts)
    except OSError as e:
        raise click.ClickException(f"cannot clear {e.filename or files.cache_dir()}: {e.strerror or e}") from None
    click.echo(f"cleared {', '.join(parts)} in {files.cache_dir()}: {n} files, {size / 1e6:.1f} MB")
