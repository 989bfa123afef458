"""Publish an output folder as a whole: a reader sees all of the old folder or all of the new one.

    with staging_for(out) as staging:          # a sibling of `out`, removed unless published
        (staging / "lesson.mp4").write_bytes(...)
        publish(staging, out, {"kdanim": "0.1.0", ...})

`publish` writes ``manifest.json`` (the given fields plus every staged file's
name, size and sha256), carries over the files of ``out`` that kdanim did not
write (those its previous manifest does not list) by hard link, then swaps the
staging folder for ``out`` in one atomic exchange (Linux ``renameat2``), or
where that is missing, by renaming the old folder away and the new one in
(undone if the second rename fails; :func:`recover` puts the old one back
after a crash between the two). Files listed by the previous manifest and
not staged now (a ``lesson.mp4`` after a render to webm) are gone with the
old folder. Every feature that writes into the output folder (the lesson,
preview stills, a page, slides) publishes through here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from kdanim.files import aside_name, replace_dir

__all__ = ["MANIFEST", "PublishError", "OutputError", "check_out_dir", "publish", "staging_for", "recover", "published_files"]

MANIFEST = "manifest.json"


class PublishError(Exception):
    """The output folder cannot be replaced without touching a file kdanim did not write."""


class OutputError(ValueError):
    """An output folder that cannot be published at all (checked before any work is done)."""


def check_out_dir(out) -> Path:
    """``out`` as a folder that can be replaced as a whole, or OutputError saying why not."""
    p = Path(os.path.realpath(out))
    if p.exists() and not p.is_dir():
        raise OutputError(f"{out!r} exists and is not a folder.")
    parent = next((a for a in p.parents if a.exists()), None)
    if parent is not None and not parent.is_dir():
        raise OutputError(f"{out!r} cannot be made: {str(parent)!r} is a file.")
    if parent is None or not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{out!r} is not writable.")
    here = Path.cwd().resolve()
    if here == p or p in here.parents:
        raise OutputError(f"{out!r} holds the current folder: kdanim replaces the output folder as a "
                          f"whole, so render into a folder of its own.")
    return p


def recover(out) -> None:
    """Tidy up after a publish that was killed: put the old folder back if the fallback swap was cut
    between its two renames, and remove what dead processes left beside ``out``."""
    out = Path(out)
    old = aside_name(out)
    if old.is_dir() and not out.exists():
        os.rename(old, out)
    elif old.is_dir():
        shutil.rmtree(old, ignore_errors=True)  # a finished swap whose clean-up was cut short
    for stale in out.parent.glob(f".{out.name}.staging-*-*"):
        pid = stale.name.rsplit(".staging-", 1)[1].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def staging_for(out):
    """A fresh folder beside ``out`` (same file system) to build the new contents in; removed on exit."""
    out = Path(os.path.realpath(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    recover(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-{os.getpid()}-", dir=out.parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def published_files(out) -> set[str]:
    """The files kdanim wrote into ``out``: those its manifest lists, and the manifest itself."""
    path = Path(out) / MANIFEST
    if not path.exists():
        return set()
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        names = {f["name"] for f in manifest["files"]}
        assert "kdanim" in manifest and all(isinstance(n, str) for n in names)
    except (ValueError, KeyError, TypeError, AssertionError):
        return set()  # not kdanim's manifest: every file is the user's
    return names | {MANIFEST}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def _carry_over(out: Path, staging: Path, ours: set[str], staged: set[str]) -> None:
    """Hard-link (or copy) into ``staging`` every file of ``out`` kdanim did not write."""
    for name in _files(out):
        if name in ours:
            continue
        if name in staged:
            raise PublishError(f"{out / name} was not written by kdanim (its {MANIFEST} does not list it): "
                               f"move it away or write to another folder")
        src, dst = out / name, staging / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
            continue
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    for d in out.rglob("*"):  # the user's empty folders too
        if d.is_dir() and not d.is_symlink():
            (staging / d.relative_to(out)).mkdir(parents=True, exist_ok=True)


def publish(staging, out, manifest: dict) -> dict:
    """Replace the folder ``out`` by ``staging`` (a folder from :func:`staging_for`) as a whole.

    Writes ``manifest`` plus ``"files"`` (name, bytes, sha256 of every staged
    file, in name order) to ``staging/manifest.json``, keeps the files of
    ``out`` kdanim did not write, and swaps. Returns the manifest written.
    """
    staging, out = Path(staging), Path(os.path.realpath(out))
    if staging.parent != out.parent:
        raise ValueError(f"publish: {staging} must be a folder beside {out} (use staging_for)")
    if out.exists() and not out.is_dir():
        raise PublishError(f"{out} exists and is not a folder")
    names = [n for n in _files(staging) if n != MANIFEST]
    manifest = {**manifest, "files": [{"name": n, "bytes": (staging / n).stat().st_size,
                                       "sha256": _sha256(staging / n)} for n in names]}
    if out.exists():
        _carry_over(out, staging, published_files(out), set(names) | {MANIFEST})
    with open(staging / MANIFEST, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
    os.chmod(staging, 0o755 if not out.exists() else out.stat().st_mode & 0o7777)
    replace_dir(staging, out)
    return manifest
