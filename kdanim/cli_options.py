"""The command line's option types and the options several commands share (kdanim.cli uses them)."""

import math

import click

from . import sweep as sweepmod
from .narration.voices import DEFAULT_VOICE, VOICES, voices_help
from .render import QUALITIES
from .scenes import lesson_order
from .sim import datasets
from .sim.config import DEFAULT_STUDENT, DEFAULT_TEACHER, MAX_EPOCHS, STUDENT_PRESETS, TEACHER_PRESETS, ConfigError
from .sim.config import parse_widths

__all__ = ["FiniteFloatRange", "Parsed", "opt", "options", "sim_options", "SIM_OPTIONS", "RENDER_OPTIONS",
           "LESSON_OPTIONS", "QUIET", "quality_option", "scheduler_option", "TauList", "AlphaList", "ChapterList"]


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
RENDER_OPTIONS = [
    opt("--voice", type=click.Choice(list(VOICES)), default=DEFAULT_VOICE, help=voices_help() + "."),
    opt("--chapters", type=ChapterList, default=None, help="Only these chapters, e.g. 2,5."),
    opt("--jobs", type=click.IntRange(1, 64), default=None,
        help="Render chapters in this many parallel processes [default: the number of CPU cores, at most 8]."),
]
LESSON_OPTIONS = [
    quality_option("high"),
    opt("--trace", "trace_path", type=click.Path(dir_okay=False), default=None,
        help="Render this saved trace instead of simulating (not with simulator options)."),
    opt("--probe-class", default=None,
        help="Class of the input shown in the soft-label and prediction chapters (name or index)."),
    opt("--voice-model", type=click.Path(exists=True, dir_okay=False), default=None,
        help="Another Piper .onnx voice (with its .onnx.json beside it)."),
    opt("--no-cache", is_flag=True, help="Render every chapter again even if a cached render exists."),
    opt("--sweep", "sweep_path", type=click.Path(dir_okay=False), default=None,
        help="A sweep.json from `kdanim sweep`: adds the chapter \"Choosing τ and α\" after chapter 8."),
    scheduler_option("Render the chapters on this Dask scheduler's workers [default: local processes, --jobs]."),
    opt("--theme", type=click.Choice(["dark", "light"]), default="dark",
        help="Colours: dark (video) or light (projectors, printed handouts)."),
    QUIET,
    opt("-v", "--verbose", is_flag=True, help="Show Manim's own log."),
]
