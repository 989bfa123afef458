"""The `kdanim` command line: a thin boundary over kdanim.sim and kdanim.trace."""

import json
import math
import os

import click

from . import __version__
from .sim.config import (
    DEFAULT_STUDENT, DEFAULT_TEACHER, MAX_EPOCHS, STUDENT_PRESETS, TEACHER_PRESETS,
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


def sim_options(f):
    """The simulator's options, shared by every command that runs a simulation."""
    options = [
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
    for option in reversed(options):
        f = option(f)
    return f


SIM_OPTION_NAMES = ("tau", "alpha", "epochs", "seed", "teacher", "teacher_hidden", "student", "student_hidden")


def config_from_options(**kw):
    """SimConfig from the values of @sim_options (other keys are ignored); bad values -> click.BadParameter."""
    try:
        teacher_preset, teacher_hidden = resolve_hidden("teacher", kw.get("teacher"), kw.get("teacher_hidden"))
        student_preset, student_hidden = resolve_hidden("student", kw.get("student"), kw.get("student_hidden"))
        fields = {k: kw[k] for k in ("tau", "alpha", "epochs", "seed") if kw.get(k) is not None}
        return SimConfig(teacher_hidden=teacher_hidden, student_hidden=student_hidden,
                         teacher_preset=teacher_preset, student_preset=student_preset, **fields)
    except ConfigError as e:
        raise click.BadParameter(e.message, param_hint=f"'{e.option}'") from None


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
        f"τ = {cfg['tau']:g} · α = {cfg['alpha']:g} · {cfg['epochs']} epochs · seed {cfg['seed']} · "
        f"{cfg['n_train']} labelled examples (teacher: {cfg['teacher_n_train']}) · {cfg['n_test']} test",
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
    """A click group whose usage errors print as one line ("Error: ..."), exit status 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            e.ctx = None
            raise


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
    from .sim import simulate as run_simulation
    from .trace import content_hash, save

    config = config_from_options(**kw)
    out = check_output_path(out)
    trace = run_simulation(config)
    if out is not None:
        try:
            save(trace, out)
        except OSError as e:
            raise click.BadParameter(f"cannot write {out!r}: {e.strerror or e}", param_hint="'--out'") from None
    if as_json:
        click.echo(json.dumps(trace["summary"], indent=2, sort_keys=True))
        return
    click.echo(format_summary(trace))
    click.echo(f"trace hash: {content_hash(trace)[:16]}" + (f" · written to {out}" if out else ""))
