"""`kdanim doctor`: is this machine ready to render? Each check says what to install if not.

    for c in checks():
        print("✓" if c.ok else "✗", c.name, c.detail, c.fix)

A check that fails and is `required` makes `kdanim doctor` exit 1; optional
ones (espeak, LaTeX, the webm/gif encoders, slides, axe-core, a dataset's
extra, low disk) only warn. Nothing here touches the network or writes outside
the cache folder (one probe file, deleted at once).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kdanim.files import cache_dir

from .axe import AXE_VERSION, AxeUnavailable, axe_script

__all__ = ["Check", "checks", "report", "MIN_FREE_BYTES", "MIN_PYTHON"]

MIN_PYTHON = (3, 10)
MIN_FREE_BYTES = 2 * 1024 ** 3  # warn below ~2 GB: a 1080p60 lesson and its chapter cache need a few hundred MB

#: PyAV encoders kdanim uses: name -> (what for, required).
ENCODERS = {
    "libx264": ("H.264 video of lesson.mp4", True),
    "aac": ("AAC narration of lesson.mp4", True),
    "libvpx-vp9": ("VP9 video for --format webm", False),
    "libopus": ("Opus narration for --format webm", False),
    "gif": ("--format gif", False),
}

_CAIRO_FIX = ("sudo apt-get install libcairo2-dev libpango1.0-dev pkg-config python3-dev, "
              "then pip install --force-reinstall pycairo manimpango")


@dataclass(frozen=True)
class Check:
    """One thing `kdanim doctor` looked at."""

    name: str
    ok: bool
    detail: str  # what was found
    fix: str = ""  # what to install or do when not ok ("" when ok)
    required: bool = True  # a failing required check makes `kdanim doctor` exit 1


def _python() -> Check:
    v = sys.version_info
    ok = v[:2] >= MIN_PYTHON
    return Check("Python", ok, f"{v.major}.{v.minor}.{v.micro} ({sys.executable})",
                 "" if ok else f"Python ≥ {MIN_PYTHON[0]}.{MIN_PYTHON[1]} is needed: "
                               "sudo apt-get install python3.11 python3.11-venv, then bash scripts/setup.sh")


def _module_version(mod) -> str:
    return str(getattr(mod, "__version__", None) or getattr(mod, "version", "") or "installed")


def _cairo() -> Check:
    try:
        import cairo
    except ImportError as e:  # the wheel is missing, or the system libcairo2 is
        return Check("cairo", False, f"cannot import cairo ({e})", _CAIRO_FIX)
    return Check("cairo", True, f"pycairo {cairo.version}, libcairo {cairo.cairo_version_string()}")


def _pango() -> Check:
    try:
        import manimpango
    except ImportError as e:
        return Check("pango", False, f"cannot import manimpango ({e})", _CAIRO_FIX)
    pango = getattr(manimpango, "pango_version", lambda: "?")()
    return Check("pango", True, f"manimpango {manimpango.__version__}, pango {pango}")


def _manim() -> Check:
    try:
        import manim
    except Exception as e:  # manim's import runs its config machinery: more than ImportError can happen
        return Check("Manim", False, f"cannot import manim ({type(e).__name__}: {e})",
                     "pip install 'manim>=0.19' (needs cairo and pango, see above)")
    return Check("Manim", True, f"manim {manim.__version__}")


def _pyav() -> list[Check]:
    try:
        import av
    except ImportError as e:
        return [Check("PyAV", False, f"cannot import av ({e})", "pip install 'av>=12'")]
    out = [Check("PyAV", True, f"av {av.__version__}, libavcodec "
                 + ".".join(map(str, av.library_versions.get("libavcodec", ()))))]
    for name, (use, required) in ENCODERS.items():
        try:
            av.codec.Codec(name, "w")
            out.append(Check(f"encoder {name}", True, use, required=required))
        except Exception:  # av's UnknownCodecError; its module moved between PyAV versions
            out.append(Check(f"encoder {name}", False, f"not in this PyAV build (needed for {use})",
                             "pip install --force-reinstall av (the PyPI wheels of PyAV include "
                             "libx264, aac, libvpx-vp9, libopus and gif)", required=required))
    return out


def _voices() -> list[Check]:
    """One check per registered voice that needs something installed; the default voice is required."""
    from kdanim.narration.voices import DEFAULT_VOICE, VOICES, VoiceUnavailable

    out = []
    for name, cls in VOICES.items():
        if not cls.install:
            continue  # needs nothing (the silent voice)
        required = name == DEFAULT_VOICE
        try:
            out.append(Check(f"voice {name}", True, cls().found(), required=required))  # loads no model
        except VoiceUnavailable as e:
            others = " / ".join(f"--voice {n}" for n in VOICES if n != name)
            out.append(Check(f"voice {name}", False,
                             str(e) if required else f"{e} (only needed for --voice {name})",
                             f"{cls.install} (or use {others})" if required else cls.install,
                             required=required))
    return out


def _latex() -> Check:
    missing = [p for p in ("latex", "dvisvgm") if shutil.which(p) is None]
    if missing:
        return Check("LaTeX", False, f"{' and '.join(missing)} not on PATH (optional: kdanim draws "
                     "its formulas with Text, LaTeX is only for your own MathTex scenes)",
                     "sudo apt-get install texlive-latex-base texlive-latex-extra dvisvgm", required=False)
    return Check("LaTeX", True, f"latex and dvisvgm at {shutil.which('latex')}", required=False)


def _datasets() -> list[Check]:
    """One optional check per dataset that needs an extra package (e.g. digits: scikit-learn)."""
    from kdanim.sim import datasets

    out = []
    for name in datasets.names():
        source = datasets.get(name)
        if source.requires is None:
            continue
        try:
            source.check_available()
        except datasets.DatasetUnavailable:
            out.append(Check(f"dataset {name}", False, f"{source.requires} is not installed "
                             f"(only needed for --dataset {name})", source.install, required=False))
            continue
        mod = __import__(source.requires)
        out.append(Check(f"dataset {name}", True, f"{source.requires} {_module_version(mod)}", required=False))
    return out


def _existing(path: Path) -> Path:
    """The path itself or its nearest existing ancestor."""
    path = path.absolute()
    for p in (path, *path.parents):
        if p.exists():
            return p
    return Path(path.anchor)


def _gb(n: float) -> str:
    return f"{n / 1024 ** 3:.1f} GB"


def _disk(label: str, path: Path) -> Check:
    where = _existing(path)
    try:
        free = shutil.disk_usage(where).free
    except OSError as e:
        return Check(f"free disk ({label})", False, f"cannot measure {where}: {e.strerror or e}",
                     "check that the folder is mounted", required=False)
    ok = free >= MIN_FREE_BYTES
    return Check(f"free disk ({label})", ok, f"{_gb(free)} free at {where}",
                 "" if ok else f"free some space (at least {_gb(MIN_FREE_BYTES)}) or point "
                               "KDANIM_CACHE / --out elsewhere", required=False)


def _cache_writable(root: Path) -> Check:
    name = "cache folder writable"
    fix = f"make {root} writable (chown/chmod) or set KDANIM_CACHE to a writable folder"
    if root.exists():
        if not root.is_dir():
            return Check(name, False, f"{root} exists and is not a folder", fix)
        try:
            fd, tmp = tempfile.mkstemp(dir=root, prefix=".doctor-")
            os.close(fd)
            os.unlink(tmp)
        except OSError as e:
            return Check(name, False, f"cannot write in {root}: {e.strerror or e}", fix)
        return Check(name, True, str(root))
    parent = _existing(root)
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        return Check(name, False, f"{root} does not exist and {parent} is not a writable folder", fix)
    return Check(name, True, f"{root} (will be created in {parent})")


def _slides() -> Check:
    from .slides import SlidesUnavailable, check_available

    try:
        where = check_available()
    except SlidesUnavailable as e:
        return Check("slides", False, "`kdanim slides` cannot run here (optional)", str(e), required=False)
    return Check("slides", True, f"manim-slides, python-pptx, reveal.js in {where}", required=False)


def _axe() -> Check:
    try:
        where = axe_script()
    except AxeUnavailable as e:
        return Check("axe-core", False, "`kdanim check` cannot audit the pages here (optional)", str(e),
                     required=False)
    return Check("axe-core", True, f"axe-core {AXE_VERSION} at {where}", required=False)


def checks() -> list[Check]:
    """Every check, in the order `kdanim doctor` prints them."""
    root = cache_dir()
    return [
        _python(), _cairo(), _pango(), _manim(), *_pyav(), *_voices(), _latex(), _slides(), _axe(), *_datasets(),
        _disk("cache", root), _disk("current folder", Path.cwd()), _cache_writable(root),
    ]


def report(found: list[Check]) -> tuple[str, bool]:
    """The checks as `kdanim doctor` prints them (✓ fine, ✗ missing, ! optional and missing), and whether a
    required one failed."""
    lines = []
    for c in found:
        lines.append(f"{'✓' if c.ok else ('✗' if c.required else '!')} {c.name:<27} {c.detail}")
        if not c.ok:
            lines.append(f"  {'→ install' if c.required else '→ optional'}: {c.fix}")
    return "\n".join(lines), any(c.required and not c.ok for c in found)
