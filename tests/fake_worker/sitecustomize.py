"""Fake chapters in other processes: Dask workers and the spawned processes of `--jobs N`.

A Python process started with this folder and tests/ on PYTHONPATH and KDANIM_FAKE_WORKER set to a
folder draws its chapters with tests/fake_chapters.py's FakeRenderer, patched in as
``kdanim.render.workers.render_chapter`` the moment that module is imported (a process that never
imports it, a `dask scheduler`, is untouched). Every render leaves two empty files in the folder,
``<ns>-<pid>-ch<N>-tau<τ>.start`` before and ``.done`` after, so a test sees which process drew which
chapter when, and can kill a worker in the middle of one; KDANIM_FAKE_DELAY (seconds) makes each
render last at least that long.
"""

import importlib.abc
import importlib.util
import os
import sys


def _install(workers) -> None:
    import time
    from pathlib import Path

    from fake_chapters import FakeRenderer

    log = Path(os.environ["KDANIM_FAKE_WORKER"])
    fake = FakeRenderer(log / f"voice-{os.getpid()}")
    delay = float(os.environ.get("KDANIM_FAKE_DELAY") or 0)

    def render_chapter(chapter_cls, trace, opts, work, on_beat=None):
        tag = f"{log}/{time.time_ns()}-{os.getpid()}-ch{chapter_cls.number}-tau{trace['config']['tau']:g}"
        Path(tag + ".start").touch()
        time.sleep(delay)
        res = fake(chapter_cls, trace, opts, work, on_beat)
        Path(tag + ".done").touch()
        return res

    workers.render_chapter = render_chapter


class _PatchOnImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "kdanim.render.workers":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            _install(module)

        spec.loader.exec_module = exec_module
        return spec


if os.environ.get("KDANIM_FAKE_WORKER"):
    sys.meta_path.insert(0, _PatchOnImport())
