"""Files: where kdanim keeps its caches, how it hashes its own sources, how it writes a file or replaces a
folder atomically, and how a long job cleans up when it is stopped."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import shutil
import signal
import threading
import tempfile
from pathlib import Path

from kdanim import __version__

__all__ = ["ROOT", "cache_dir", "source_hash", "atomic_path", "atomic_write", "exchange_dirs", "replace_dir",
           "aside_name", "check_writable_file", "remove_dir", "folder_size", "CACHE_PARTS", "cache_usage",
           "clear_cache", "sigterm_as_interrupt"]

#: The checkout (or site-packages) folder that holds kdanim/ and scenes/.
ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """The cache folder: $KDANIM_CACHE, else $XDG_CACHE_HOME/kdanim, else ~/.cache/kdanim."""
    root = os.environ.get("KDANIM_CACHE")
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "kdanim" if xdg else Path.home() / ".cache" / "kdanim"


#: The parts of the cache folder, and what each holds.
CACHE_PARTS = {"chapters": "rendered chapters", "animations": "rendered animations (parts of chapters)",
               "traces": "simulated runs", "voice": "synthesized narration",
               "narration": "narration tracks, per chapter", "pictures": "contact-sheet pictures, per chapter",
               "texts": "on-screen text, laid out"}


def cache_usage() -> dict[str, tuple[int, int]]:
    """(files, bytes) of every part of the cache, by part name."""
    root = cache_dir()
    return {part: folder_size(root / part) for part in CACHE_PARTS}


def clear_cache(parts) -> tuple[int, int]:
    """Delete these parts of the cache (each renamed away first); return the (files, bytes) removed."""
    root = cache_dir()
    total_n = total_size = 0
    for part in parts:
        folder = root / part
        if folder.exists():
            n, size = folder_size(folder)
            remove_dir(folder)
            total_n, total_size = total_n + n, total_size + size
    return total_n, total_size


def source_hash(*paths) -> str:
    """A short hash of the Python sources under ``paths`` (folders or files inside kdanim's checkout).

    The one source hasher: the trace cache keys on the simulator's code, the chapter cache on all of it.
    """
    h = hashlib.sha256(__version__.encode())
    for path in paths:
        path = Path(path)
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for p in files:
            h.update(p.relative_to(ROOT).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


@contextlib.contextmanager
def atomic_path(path, suffix: str = ""):
    """Yield an empty temporary file beside `path`; rename it to `path` when the block succeeds.

    Any exception (Ctrl-C included) removes the temporary file and leaves `path`
    as it was, so nothing half-written ever has the final name. `suffix` ends
    the temporary name, for writers that choose a format by extension.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{suffix}")
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        tmp.chmod(0o644)  # mkstemp makes 0600; published files should be readable
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_writable_file(path) -> str:
    """``path`` if a file can be written there (checked before any work is done), else ValueError saying why."""
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a directory.")
    if not os.path.isdir(parent):
        raise ValueError(f"directory {parent!r} does not exist.")
    if not os.access(parent, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise ValueError(f"{path!r} is not writable.")
    return path


def atomic_write(path, data: str | bytes) -> Path:
    """Write `data` (text as UTF-8, newlines as given) to `path` atomically; return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


def aside_name(out: Path) -> Path:
    """Where :func:`replace_dir` keeps the old ``out`` for a moment where it cannot exchange atomically."""
    return out.parent / f".{out.name}.old"


def exchange_dirs(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where that is not available."""
    fn = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if fn is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False  # this file system cannot exchange
    raise OSError(err, os.strerror(err), str(b))


def replace_dir(staging: Path, out: Path) -> None:
    """Put the folder ``staging`` in the place of ``out`` (atomically where the system can); the old one is removed.

    The one way kdanim replaces a folder: a published lesson, a chapter cache entry. Where
    an atomic exchange is missing, ``out`` is renamed to :func:`aside_name` first and put
    back if the second rename fails.
    """
    if not out.exists():
        os.rename(staging, out)
        return
    if exchange_dirs(staging, out):
        shutil.rmtree(staging, ignore_errors=True)  # the old folder, now under the staging name
        return
    old = aside_name(out)
    os.rename(out, old)
    try:
        os.rename(staging, out)
    except BaseException:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def remove_dir(folder: Path) -> None:
    """Delete ``folder``: renamed away first, so a reader never sees it half-deleted."""
    trash = folder.parent / f".trash-{folder.name}-{os.getpid()}"
    os.replace(folder, trash)
    shutil.rmtree(trash)


def folder_size(folder: Path) -> tuple[int, int]:
    """(files, bytes) under ``folder`` (0, 0 when it does not exist)."""
    n = size = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            try:
                size += os.lstat(os.path.join(dirpath, name)).st_size
                n += 1
            except OSError:
                pass
    return n, size


@contextlib.contextmanager
def sigterm_as_interrupt():
    """While working, SIGTERM raises KeyboardInterrupt, so `finally` blocks remove temporary files."""
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
