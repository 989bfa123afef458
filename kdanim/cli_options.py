"""The command line's options: their types, the options several commands share, and how their values are
checked and turned into a run (a bad value is a usage error: one line, exit status 2). kdanim.cli uses them."""

import math
import os
import re

import click

from . import facts, sweep as sweepmod, trace as tracemod
from .narration import script
from .narration import locale
from .narration.voices import VOICES, voices_help
from .publish import check_out_dir
from .publish.check import check_folder
from .render import (QUALITIES, RenderOptions, chapter_titles, check_script, check_words, default_jobs, expected_beats,
                     make_voice)
from .render.progress import ChapterProgress
from .scenes import SWEEP_SCENES, lesson_order
from .sim import datasets
from .sim.config import DEFAULT_STUDENT, DEFAULT_TEACHER, MAX_EPOCHS, STUDENT_PRESETS, TEACHER_PRESETS, ConfigError
from .sim.config import config_from_options as sim_config, parse_widths

__all__ = ["config_from_options", "bad", "check_scheduler", "say_to_stderr", "check_written", "LOUDNESS", "sweep_view_option", "lesson_trace",
           "prepare_run", "default_voice", "own_script", "checked_words", "OWN_OPTIONS", "FiniteFloatRange", "Parsed", "opt", "options", "sim_options", "SIM_OPTIONS", "RENDER_OPTIONS",
           "LESSON_OPTIONS", "SITE_OPTIONS", "WORDS_OPTIONS", "EXPORT_OPTIONS", "QUIET", "quality_option", "scheduler_option", "TauList", "AlphaList", "ChapterList"]


class FiniteFloatRange(click.FloatRange):
    """click.FloatRange that also refuses nan and ±inf (which compare False against any bound)."""

    def convert(self, value, param, ctx):
        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return rv


class Parsed(click.ParamType):
    """A value read by a library parser ``parse(text, option)`` that raises ConfigError or ValueError."""

    def __init__(self, name, parse):
        self.name, self.parse = name, parse

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            return self.parse(value, param.opts[0] if param else self.name)
        except ConfigError as e:
            self.fail(e.message, param, ctx)
        except ValueError as e:  # SweepError included: "--option: what is wrong"
            self.fail(str(e).partition(": ")[2] or str(e), param, ctx)


def _chapter_numbers(text, option):
    valid = {c.number for c in lesson_order(with_sweep=True)}
    parts = [p.strip() for p in text.split(",")]
    for part in parts:
        if not part.isdigit() or int(part) not in valid:
            raise ValueError(f"{option}: {part!r} is not a chapter number (1–{max(valid)}; see `kdanim chapters`).")
    return sorted({int(p) for p in parts})


Widths = Parsed("W,W,...", parse_widths)
ChapterList = Parsed("N,N,...", _chapter_numbers)
TauList = Parsed("X,X,...", lambda t, o: list(sweepmod.parse_floats(t, o, 0.0, math.inf, lo_open=True)))
AlphaList = Parsed("X,X,...", lambda t, o: list(sweepmod.parse_floats(t, o, 0.0, 1.0)))


def _presets(presets, default):
    return ", ".join(f"{name} ({len(w)}×{w[0]}" + ("" if len(set(w)) == 1 else f"…{w[-1]}")
                     + (", default)" if name == default else ")") for name, w in presets.items())


def opt(*decls, **kw):
    """click.option, showing its default."""
    return click.option(*decls, show_default=kw.pop("show_default", "default" in kw and kw["default"] is not None),
                        **kw)


SIM_OPTIONS = {
    "dataset": opt("--dataset", type=click.Choice(datasets.names()), default=datasets.DEFAULT, help="What the "
                   "networks learn: " + "; ".join(f"{n}: {datasets.get(n).title}" for n in datasets.names()) + "."),
    "tau": opt("--tau", type=FiniteFloatRange(min=0, min_open=True), default=3.0, help="Distillation temperature τ (> 0)."),
    "alpha": opt("--alpha", type=FiniteFloatRange(0.0, 1.0), default=0.5,
                 help="Weight α of the soft (KL) term: 0 = hard labels only, 1 = soft labels only."),
    "epochs": opt("--epochs", type=click.IntRange(1, MAX_EPOCHS), default=100, help="Student training epochs."),
    "seed": opt("--seed", type=click.IntRange(0, None), default=0, help="Root seed for data, initialisation and batch order."),
    "teacher": opt("--teacher", type=click.Choice(list(TEACHER_PRESETS)), default=None,
                   help=f"Teacher preset: {_presets(TEACHER_PRESETS, DEFAULT_TEACHER)}."),
    "teacher_hidden": opt("--teacher-hidden", type=Widths, default=None,
                          help="Explicit teacher hidden widths, e.g. 256,256,128 (instead of --teacher)."),
    "student": opt("--student", type=click.Choice(list(STUDENT_PRESETS)), default=None,
                   help=f"Student preset: {_presets(STUDENT_PRESETS, DEFAULT_STUDENT)}."),
    "student_hidden": opt("--student-hidden", type=Widths, default=None,
                          help="Explicit student hidden widths, e.g. 64 (instead of --student)."),
}


def options(*groups):
    """Apply lists of click options in the order given."""
    def apply(f):
        for option in reversed([o for g in groups for o in g]):
            f = option(f)
        return f
    return apply


def sim_options(f=None, skip=()):
    """The simulator's options, shared by every command that runs a simulation (but those in ``skip``)."""
    if f is None:
        return lambda g: sim_options(g, skip)
    return options([o for name, o in SIM_OPTIONS.items() if name not in skip])(f)


def quality_option(default):
    return opt("--quality", type=click.Choice(list(QUALITIES)), default=default,
               help="low 480p15 · medium 720p30 · high 1080p60 · 4k 2160p60 (Manim's presets).")


def scheduler_option(help):
    return opt("--scheduler", default=None, metavar="tcp://HOST:PORT", help=help)


QUIET = opt("-q", "--quiet", is_flag=True, help="No progress output.")
#: The narration track's loudness (`render` and `publish`; a deck has no narration track).
LOUDNESS = opt("--loudness", type=FiniteFloatRange(-40.0, -8.0), default=-16.0, metavar="LUFS",
               help="Integrated loudness of the narration track (EBU R128), its true peak kept under −1 dBTP.")
VOICE = opt("--voice", type=click.Choice(list(VOICES)), default=None, help=voices_help() + " [default: the "
            "language's: " + ", ".join(f"{c} {l.default_voice}" for c, l in locale.LANGUAGES.items()) + "].")
#: The lesson's language: its shipped script (kdanim/narration/scripts/LANG.md) and, unless --voice says, its voice.
LANG = opt("--lang", type=click.Choice(list(script.LANGUAGES)), default="en",
           help=f"The lesson's language: {locale.choices()}. Its words, numbers, page and voice (German: espeak-ng's; "
                f"a German Piper voice with --voice piper --voice-model PATH.onnx).")
CHAPTERS = opt("--chapters", type=ChapterList, default=None, help="Only these chapters, e.g. 2,5.")
JOBS = opt("--jobs", type=click.IntRange(1, 64), default=None,
           help="Render chapters in this many parallel processes [default: the number of CPU cores, at most 8].")
TRACE = opt("--trace", "trace_path", type=click.Path(dir_okay=False), default=None,
            help="Render this saved trace instead of simulating (not with simulator options).")
PROBE = opt("--probe-class", default=None,
            help="Class of the input shown in the soft-label and prediction chapters (name or index).")
SWEEP = opt("--sweep", "sweep_path", type=click.Path(dir_okay=False), default=None,
            help="A sweep.json from `kdanim sweep`: adds the chapter \"Choosing τ and α\" after chapter 8.")
#: The frame checks (off-frame, overlaps, tick labels, contrast, the caption-safe band) at every beat's end.
NO_CHECK = opt("--no-check", is_flag=True, help="Render even when a frame fails the layout checks (off-frame, "
               "overlapping text, contrast, the caption band): a warning for each problem instead of an error.")
RENDER_OPTIONS = [VOICE, LANG, CHAPTERS, JOBS, NO_CHECK]
SCRIPT = opt("--script", "script_path", type=click.Path(exists=True, dir_okay=False), default=None,
             help="Your own lesson script (`kdanim script --out FILE` writes one to edit): its words instead of the "
                  "shipped ones, checked in full first.")
#: Your own script and the credits: `render`, `slides`, `narration` and `publish` take them.
OWN_OPTIONS = [SCRIPT, opt("--strict", is_flag=True, help="A number written in the script that is not this run's "
                           "is an error, not a warning."),
               *[opt(f"--{k}", default=None, metavar="TEXT", help=f"The lesson's {k}: on the title card, the page, the "
                     f"deck and the video's tags [default: the script's '{k}:']." if k == "title" else
                     f"The lesson's {k} (as --title).") for k in script.CREDITS]]
#: What a lesson is drawn from and says (`narration` takes these alone).
WORDS_OPTIONS = [TRACE, PROBE, SWEEP, CHAPTERS, QUIET, LANG, *OWN_OPTIONS]
#: `kdanim script`: the shipped script to edit, or the facts of a run (chosen as for `narration`).
EXPORT_OPTIONS = [
    opt("--out", type=click.Path(dir_okay=False), default=None,
        help="Write the script here, to edit (over an existing file only with --force) [default: print it]."),
    opt("--force", is_flag=True, help="Overwrite --out."),
    opt("--facts", "list_facts", is_flag=True, help="List every fact a script may use, with this run's value and "
        "meaning, and the formatters."),
    *WORDS_OPTIONS,
]
VOICE_MODEL = opt("--voice-model", type=click.Path(exists=True, dir_okay=False), default=None,
                  help="Another Piper .onnx voice (with its .onnx.json beside it).")
NO_CACHE = opt("--no-cache", is_flag=True, help="Render every chapter again even if a cached render exists.")
SCHEDULER = opt("--scheduler", default=None, metavar="tcp://HOST:PORT", envvar="DASK_SCHEDULER_ADDRESS",
                help="Render the chapters on this Dask scheduler's workers, which send them back [default: "
                     "$DASK_SCHEDULER_ADDRESS, else local processes, --jobs].")
THEME = opt("--theme", type=click.Choice(["dark", "light"]), default="dark",
            help="Colours: dark (video) or light (projectors, printed handouts).")
#: The options of a lesson's render that `publish` takes too.
SITE_OPTIONS = [PROBE, VOICE_MODEL, THEME, NO_CACHE, SCHEDULER]
LESSON_OPTIONS = [
    quality_option("high"), TRACE, PROBE, VOICE_MODEL, NO_CACHE, SWEEP, SCHEDULER, THEME,
    QUIET,
    opt("-v", "--verbose", is_flag=True, help="Show Manim's own log."),
    *OWN_OPTIONS,
]


# -- checking values and turning them into a run ----------------------------------------------------

def config_from_options(**kw):
    """SimConfig from the values of @sim_options, checked that its dataset can be loaded here."""
    config = sim_config(**kw)
    datasets.get(config.dataset).check_available()
    return config


def bad(option, fn, *args):
    """``fn(*args)``, its ValueError (or OSError) as a usage error of ``option``."""
    try:
        return fn(*args)
    except (ValueError, OSError) as e:
        raise click.BadParameter(str(e), param_hint=f"'{option}'") from None


def check_scheduler(address):
    if address is not None and "://" not in address:
        raise click.BadParameter(f"{address!r} is not an address like tcp://10.0.0.5:8786.", param_hint="'--scheduler'")
    return address


def say_to_stderr(quiet):
    return (lambda msg: None) if quiet else (lambda msg: click.echo(msg, err=True))


def check_written(folder, quiet) -> None:
    """`render`, `publish` and `slides` end by checking what they wrote (`kdanim check`): its one-line
    summary (said even with --quiet when a check fails), and exit status 1 if one does."""
    report = check_folder(folder)
    if not report.ok or not quiet:
        click.echo(report.summary(), err=True)
    if not report.ok:
        raise SystemExit(1)


def sweep_view_option(path, trace_path, chapters):
    """The sweep chapter's view of --sweep (None without it)."""
    if path is None:
        needs = [c for c in SWEEP_SCENES if chapters and c.number in chapters]
        if needs:
            raise click.BadParameter(f"'{needs[0].number}' is the chapter \"{script.load_cached().titles[needs[0].key]}\": "
                                     f"it needs --sweep.",
                                     param_hint="'--chapters'")
        return None
    if trace_path:
        raise click.UsageError("--sweep cannot be combined with --trace: the sweep chapter goes with a "
                               "simulated lesson (use the simulator options).")
    return bad("--sweep", lambda: facts.sweep_view(sweepmod.load(path)))


def lesson_trace(ctx, kw):
    """The run a lesson is drawn from: --trace, or the simulator options' run (from the trace cache)."""
    given = [n for n in SIM_OPTIONS if ctx.get_parameter_source(n) not in (click.core.ParameterSource.DEFAULT, None)]
    if kw["trace_path"] and given:
        raise click.UsageError(f"--trace renders a saved run: it cannot be combined with --{given[0].replace('_', '-')}.")
    if kw["trace_path"]:
        return bad("--trace", lambda: _named(kw["trace_path"], tracemod.load))
    config = config_from_options(**kw)
    bad("--probe-class", facts.probe_index, kw["probe_class"], datasets.get(config.dataset).class_names)
    say = say_to_stderr(kw["quiet"])
    return tracemod.cached_trace(config, lambda: say("simulating teacher, student from scratch and distilled student ..."))


def own_script(kw) -> dict:
    """The RenderOptions of --script (else the shipped script) and the credits given; the script checked in
    full (parse, templates, beat ids, the facts' and formatters' names): its first mistake is a usage error."""
    source = kw.get("script_path") or kw.get("lang") or "en"
    _script_usage(check_script, source)
    return {"script": source, "credits": {k: kw[k] for k in script.CREDITS if kw.get(k)} or None}


def checked_words(traces, opts, strict: bool):
    """``opts``, once its words filled for every run of ``traces``: a warning line on stderr for each number
    of the script that is not the run's (``strict``: a usage error)."""
    seen = []
    for tr in traces:
        for w in _script_usage(check_words, tr, opts, strict):
            if w not in seen:
                seen.append(w)
                click.echo(re.sub(r"^(.*?:\d+): ", r"\1: warning: ", w), err=True)
    return opts


def default_voice(ctx, own: dict) -> str:
    """The voice when --voice is not given: the one of the script's language (espeak-ng for German). A --lang
    given with a --script of another language is a usage error."""
    lang = script.load_cached(own["script"]).language
    given = ctx.get_parameter_source("lang") not in (click.core.ParameterSource.DEFAULT, None)
    if given and ctx.params.get("script_path") and ctx.params.get("lang") != lang:
        raise click.BadParameter(f"--script {ctx.params['script_path']} is in {lang!r} (its 'language:'), not "
                                 f"{ctx.params['lang']!r}.", param_hint="'--lang'")
    return locale.default_voice(lang)


def _script_usage(fn, *args):
    try:
        return fn(*args)
    except script.ScriptError as e:
        raise click.UsageError(str(e)) from None


def _named(path, load):
    try:
        return load(path)
    except (tracemod.TraceError, OSError, ValueError) as e:
        raise ValueError(f"{path}: {e}") from None


def prepare_run(ctx, kw: dict, preview: bool = False, words_only: bool = False):
    """Check the options of `render`, `slides` and `narration`; return (trace, RenderOptions, progress or None)."""
    sweep_view = sweep_view_option(kw["sweep_path"], kw["trace_path"], kw["chapters"])
    own = own_script(kw)  # the script checked before any work
    voice = kw.get("voice") or default_voice(ctx, own)  # --voice, else the one of the lesson's language
    if not words_only:
        check_scheduler(kw["scheduler"]), bad("--out", check_out_dir, kw["out"])
    tr = lesson_trace(ctx, kw)
    probe = bad("--probe-class", facts.probe_index, kw["probe_class"], tr["classes"]["names"])
    if words_only:
        opts = RenderOptions(probe_class=probe, chapters=kw["chapters"], sweep=sweep_view, **own)
        return tr, checked_words([tr], opts, kw["strict"]), None
    opts = RenderOptions(
        quality=kw["quality"], voice=voice, voice_model=kw["voice_model"], chapters=kw["chapters"],
        probe_class=probe, preview=preview, jobs=kw["jobs"] or default_jobs(os.cpu_count()), verbose=kw["verbose"],
        use_cache=not kw["no_cache"], theme=kw["theme"], sweep=sweep_view, scheduler=kw["scheduler"],
        loudness=kw.get("loudness", -16.0), check=not kw.get("no_check"), **own)
    checked_words([tr], opts, kw["strict"])
    bad("--voice", make_voice, opts)  # fail now, not after the first chapter (a voice that cannot speak the language)
    return tr, opts, None if kw["quiet"] else ChapterProgress(chapter_titles(opts), expected_beats())
