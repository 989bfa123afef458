import json

import pytest
from click.testing import CliRunner

from kdanim import trace as tr
from kdanim.cli import config_from_options, main


@pytest.fixture
def run(tmp_path):
    def invoke(*args):
        return CliRunner().invoke(main, ["simulate", *args], catch_exceptions=False)
    return invoke


@pytest.mark.parametrize("args,option", [
    (["--tau", "0"], "--tau"),
    (["--tau", "-1"], "--tau"),
    (["--tau", "nan"], "--tau"),
    (["--tau", "inf"], "--tau"),
    (["--tau", "abc"], "--tau"),
    (["--alpha", "-0.1"], "--alpha"),
    (["--alpha", "1.01"], "--alpha"),
    (["--alpha", "nan"], "--alpha"),
    (["--epochs", "0"], "--epochs"),
    (["--epochs", "10001"], "--epochs"),
    (["--epochs", "2.5"], "--epochs"),
    (["--seed", "-3"], "--seed"),
    (["--teacher-hidden", "256,0,128"], "--teacher-hidden"),
    (["--teacher-hidden", "256,,128"], "--teacher-hidden"),
    (["--student-hidden", "-5"], "--student-hidden"),
    (["--student-hidden", "6.5"], "--student-hidden"),
    (["--student-hidden", "wide"], "--student-hidden"),
    (["--teacher", "huge"], "--teacher"),
    (["--student", "medium"], "--student"),
    (["--teacher", "small", "--teacher-hidden", "64"], "--teacher"),
    (["--student", "tiny", "--student-hidden", "64"], "--student"),
])
def test_bad_input_exits_2_naming_the_option(run, tmp_path, args, option):
    out = tmp_path / "trace.json"
    result = run(*args, "--out", str(out))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    assert f"'{option}'" in lines[0]
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target", ["missing-dir/trace.json", ".", "a-file/trace.json"])
def test_unwritable_out_exits_2(run, tmp_path, target):
    (tmp_path / "a-file").write_text("x")  # a path under a regular file: unwritable even for root
    result = run("--epochs", "1", "--out", str(tmp_path / target))
    assert result.exit_code == 2
    assert "'--out'" in result.output and len(result.output.strip().splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"] and (tmp_path / "a-file").read_text() == "x"


def test_help_ends_with_an_example():
    for args in (["--help"], ["simulate", "--help"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0
        assert result.output.rstrip().splitlines()[-1].strip().startswith("kdanim simulate --tau 3")
    assert "small (3×228, default)" in " ".join(CliRunner().invoke(main, ["simulate", "--help"]).output.split())


def test_simulate_writes_a_valid_trace_and_prints_a_table(run, tmp_path):
    out = tmp_path / "t.json"
    result = run("--tau", "2", "--alpha", "0.25", "--epochs", "2", "--seed", "5", "--teacher", "compact",
                 "--student-hidden", "32", "--out", str(out))
    assert result.exit_code == 0, result.output
    t = tr.load(out)
    assert t["config"]["tau"] == 2.0 and t["config"]["alpha"] == 0.25 and t["config"]["seed"] == 5
    assert t["config"]["teacher_hidden"] == [256, 256] and t["config"]["student_hidden"] == [32]
    assert t["config"]["teacher_preset"] == "compact" and t["config"]["student_preset"] is None
    for word in ("teacher", "student (scratch)", "student (distilled)", "params", "µs", "trace hash"):
        assert word in result.output
    assert f"{t['summary']['teacher']['params']:,}" in result.output
    assert list(tmp_path.iterdir()) == [out]


def test_simulate_json_summary(run):
    result = run("--epochs", "1", "--teacher-hidden", "16", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert set(summary) == {"teacher", "scratch", "distilled"}
    assert summary["teacher"]["hidden"] == [16]
    assert summary["distilled"]["latency_us"] > 0


def test_config_from_options_defaults():
    cfg = config_from_options(tau=3.0, alpha=0.5, epochs=100, seed=0, teacher=None, teacher_hidden=None,
                              student=None, student_hidden=None, unrelated="ignored")
    assert cfg.teacher_preset == "small" and cfg.student_hidden == (114,)


def test_top_level_cli_py_runs_the_same_command(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "t.json"
    proc = subprocess.run([sys.executable, str(root / "cli.py"), "simulate", "--epochs", "1", "--teacher-hidden",
                           "8", "--out", str(out), "--json"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["teacher"]["hidden"] == [8]
    tr.load(out)
    proc = subprocess.run([sys.executable, str(root / "cli.py"), "simulate", "--alpha", "2"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "'--alpha'" in proc.stderr


# -- the reproduce line: cli_args(config) gives the options that make the same config -----------

def _config_from_args(args):
    """The SimConfig `kdanim render <args>` would simulate (parsed by the real command)."""
    ctx = main.commands["render"].make_context("render", list(args))
    return config_from_options(**ctx.params)


@pytest.mark.parametrize("config", [
    dict(),
    dict(tau=2.5, alpha=0.7, epochs=40, seed=12),
    dict(tau=3.14159265358979, alpha=1 / 3, seed=2**40),
    dict(teacher_preset="large", teacher_hidden=(256, 256, 256, 256), student_preset="small",
         student_hidden=(96, 64)),
    dict(teacher_preset=None, teacher_hidden=(256, 256, 128), student_preset=None, student_hidden=(64,)),
    dict(teacher_preset=None, teacher_hidden=(228, 228, 228)),  # the default widths, given explicitly
])
def test_cli_args_reproduce_the_config(config):
    from kdanim.sim.config import SimConfig, cli_args

    cfg = SimConfig(**config)
    args = cli_args(cfg)
    assert _config_from_args(args) == cfg, args
    assert cli_args(cfg.to_dict()) == args  # a trace's config dict gives the same line
    assert args[:4] == ["--tau", args[1], "--alpha", args[3]]


def test_cli_args_covers_every_option_that_shapes_the_trace():
    """Every simulator option of the command is a CLI_FIELDS field or an architecture option: a new option
    added to the CLI without cli_args knowing it fails here."""
    from kdanim.sim.config import CLI_FIELDS

    params = {p.name for p in main.commands["render"].params} & {p.name for p in main.commands["simulate"].params}
    sim = params - {"out", "help"}
    assert sim == set(CLI_FIELDS) | {"teacher", "teacher_hidden", "student", "student_hidden"}
    assert sim <= {p.name for p in main.commands["slides"].params}  # a deck of any run


def test_chapter_10_breaks_a_long_command_between_options():
    from kdanim.scenes.ch10_summary import command_lines

    from kdanim.sim.config import SimConfig, cli_args

    cfg = SimConfig(tau=2.5, alpha=0.7, epochs=40, seed=12, teacher_preset=None, teacher_hidden=(256, 256, 128),
                    student_preset=None, student_hidden=(96, 64))
    words = ["kdanim", "render", *cli_args(cfg)]
    lines = command_lines(words)
    assert len(lines) > 1 and all(len(line) <= 52 for line in lines), lines
    assert " ".join(line.strip().removesuffix("\\").strip() for line in lines).split() == words
    assert all(line.strip().startswith("--") for line in lines[1:])  # an option never split from its value
    assert command_lines(["kdanim", "render", "--tau", "3", "--alpha", "0.5"]) == ["kdanim render --tau 3 --alpha 0.5"]


def test_full_disk_is_one_line_exit_1(tmp_path, monkeypatch):
    """A full disk is not a usage error: one line naming the file, exit status 1, nothing written."""
    import errno
    import os

    from kdanim import trace as tracemod

    real_replace = os.replace

    def disk_full(src, dst):  # the trace's bytes did not all reach the disk
        if str(dst).endswith("trace.json"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(tracemod.os, "replace", disk_full)
    result = CliRunner().invoke(main, ["simulate", "--epochs", "1", "--teacher-hidden", "8", "--out",
                                       str(tmp_path / "trace.json")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: could not write ") and "No space left" in lines[0]
    assert "trace.json" in lines[0] and list(tmp_path.iterdir()) == []


def test_chapter_10_shows_and_says_the_whole_command(tmp_path):
    """Chapter 10 of a run with explicit widths shows every option that shaped it, inside the frame, and says
    what the command reproduces (all but the measured latency)."""
    from kdanim.scenes import Summary
    from chapter_runs import run_chapter

    from kdanim.sim.config import SimConfig, cli_args
    from kdanim.trace import simulate_trace

    cfg = SimConfig(tau=2.5, alpha=0.7, epochs=2, seed=12, teacher_preset=None, teacher_hidden=(16, 8),
                    student_preset=None, student_hidden=(4,))
    ctx, scene = run_chapter(Summary, simulate_trace(cfg, measure_latency=False), tmp_path)
    shown = "".join(t.replace("\\", "") for t in ctx.seen_text if t.startswith(("kdanim", "--")))
    assert shown == "".join(["kdanim", "render", *cli_args(cfg)])  # Manim's Text keeps no spaces
    assert all(option in shown for option in ("--teacher-hidden16,8", "--student-hidden4", "--seed12", "--epochs2"))
    assert ctx.layout_problems == []
    assert "everything but the measured latency" in scene.beats[-1]
