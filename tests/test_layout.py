"""The package's structure, read from the sources with `ast` only (nothing is imported).

Every import of every module of kdanim/ and of the chapter files in scenes/ (installed as
kdanim.scenes), at any depth (inside functions too), makes the import graph. It has no
cycle, and its edges only point down the layers of the pipeline: the simulator, then the
trace and the facts read from it, the drawing kit, the lesson and its chapters, the
narration and the cluster, sweeps, rendering, publishing, the doctor, the command line.
"""

from __future__ import annotations

import ast
import sys
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE, SCENES = ROOT / "kdanim", ROOT / "scenes"

#: The layers, bottom first: a module may import only modules of its own rank or below. The
#: longest matching prefix decides (kdanim.publish.doctor is the doctor, not publishing).
#: kdanim (its __init__) and kdanim.files are the floor: every layer may use them.
RANKS = {
    "kdanim": 0, "kdanim.files": 0,
    "kdanim.sim": 1,
    "kdanim.trace": 2, "kdanim.facts": 2,
    "kdanim.viz": 3,
    "kdanim.lesson": 4, "kdanim.scenes": 4,
    "kdanim.narration": 5, "kdanim.cluster": 5,
    "kdanim.sweep": 6,
    "kdanim.render": 7,
    "kdanim.publish": 8,
    "kdanim.doctor": 9, "kdanim.publish.doctor": 9,
    "kdanim.cli": 10, "kdanim.cli_options": 10,
}

#: Imports that break the layering, each with its reason: keep it small and explicit. Anything else
#: pointing up fails, and so does an entry that no longer happens (the list only shrinks).
#: Empty since the lesson's words moved into the script (kdanim/narration/scripts): the chapter
#: files (scenes/chNN_*.py) imported the spoken-number formatters of kdanim.narration.speech, e.g.
#: ("kdanim.scenes.ch05_loss", "kdanim.narration.speech").
ALLOWED_UPWARD: set[tuple[str, str]] = set()

MAX_CLI_LINES = 400
MAX_TOP_LEVEL_MODULES = 8


def module_name(path: Path) -> str:
    """kdanim/render/cache.py -> kdanim.render.cache; scenes/ch05_loss.py -> kdanim.scenes.ch05_loss."""
    if path.is_relative_to(SCENES):
        parts = ["kdanim", "scenes", *path.relative_to(SCENES).with_suffix("").parts]
    else:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@lru_cache(maxsize=None)
def sources() -> dict[str, Path]:
    """Every module of kdanim/ and every .py file directly in scenes/, by module name."""
    files = [*PACKAGE.rglob("*.py"), *SCENES.glob("*.py")]
    return {module_name(p): p for p in sorted(files) if "__pycache__" not in p.parts}


def is_package(name: str) -> bool:
    return sources()[name].name == "__init__.py"


def resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute module a `from ... import` names (relative imports resolved against ``module``)."""
    if not node.level:
        return node.module
    base = module.split(".") if is_package(module) else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


@lru_cache(maxsize=None)
def imports_of(module: str) -> tuple[tuple[str, int, ast.AST], ...]:
    """(imported module, line, node) for every import in ``module``, at any depth.

    ``from X import name`` where X.name is one of our modules imports X.name (not the package X).
    """
    tree = ast.parse(sources()[module].read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno, node) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = resolve(module, node)
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in sources()]
            found += [(s, node.lineno, node) for s in subs]
            if len(subs) < len(node.names):  # names of the module itself (functions, classes, constants)
                found.append((target, node.lineno, node))
    return tuple(found)


def internal(target: str) -> str | None:
    """The module of ours that ``target`` names (itself, or the package it is in), else None."""
    while target and target not in sources():
        target = target.rpartition(".")[0]
    return target or None


def graph() -> dict[str, set[str]]:
    return {m: {t for name, _, _ in imports_of(m) if (t := internal(name)) and t != m} for m in sources()}


def rank(module: str) -> int | None:
    """The layer of ``module``: its longest prefix in RANKS ("kdanim" itself is the package's __init__ only)."""
    best = max((p for p in RANKS if module == p or p != "kdanim" and module.startswith(p + ".")), key=len,
               default=None)
    return RANKS[best] if best is not None else None


# -- the collector itself ------------------------------------------------------------------------

def test_every_module_is_read():
    names = set(sources())
    assert {"kdanim", "kdanim.files", "kdanim.sim", "kdanim.sim.datasets.digits", "kdanim.render.workers",
            "kdanim.scenes", "kdanim.scenes.ch11_choosing", "kdanim.scenes.lesson"} <= names
    assert len(names) > 60


def test_imports_are_resolved_to_modules_at_any_depth():
    # relative, aliased, inside a function, and `from package import module`
    assert "kdanim.render.options" in {t for t, _, _ in imports_of("kdanim.render.cache")}  # from .options
    workers = {t for t, _, _ in imports_of("kdanim.render.workers")}
    assert {"kdanim.scenes", "kdanim.cluster", "kdanim.render.cache"} <= workers
    lesson = {t for t, _, _ in imports_of("kdanim.publish.lesson")}
    assert {"kdanim.publish.media", "kdanim.publish.page", "kdanim.trace"} <= lesson  # from . import media, page
    assert "kdanim.publish" not in lesson
    narrator = {t for t, _, _ in imports_of("kdanim.narration.narrator")}  # from .speech import split_cues
    assert {"kdanim.narration.speech", "kdanim.narration.voices"} <= narrator and "kdanim.narration" not in narrator
    assert "kdanim.lesson" in {t for t, _, _ in imports_of("kdanim.scenes.ch05_loss")}
    digits = {t for t, _, _ in imports_of("kdanim.sim.datasets.digits")}
    assert "sklearn.datasets" in digits  # imported inside load_images()


# -- (a) no cycle --------------------------------------------------------------------------------

def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``g`` (as a path that returns to its start), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m):
        state[m] = 1
        path.append(m)
        for t in sorted(g.get(m, ())):
            if state.get(t) == 1:
                return path[path.index(t):] + [t]
            if t not in state and (found := visit(t)):
                return found
        path.pop()
        state[m] = 2
        return None

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for m in sorted(g):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycle():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


# -- (b) the layers only point down ----------------------------------------------------------------

def test_every_module_has_a_layer():
    assert [m for m in sources() if rank(m) is None] == [], "give every new module its layer in RANKS"


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def upward_imports() -> dict[tuple[str, str], list[str]]:
    """(module, imported) -> ["file:line", ...] for every import of a higher layer."""
    found: dict[tuple[str, str], list[str]] = {}
    for m in sources():
        for name, line, _ in imports_of(m):
            t = internal(name)
            if t and rank(t) is not None and rank(m) is not None and rank(t) > rank(m):
                found.setdefault((m, t), []).append(f"{shown(sources()[m])}:{line}")
    return found


def test_layers_only_point_down():
    found = upward_imports()
    bad = {k: v for k, v in found.items() if k not in ALLOWED_UPWARD}
    assert not bad, "imports of a higher layer:\n" + "\n".join(
        f"  {where[0]}: {m} (rank {rank(m)}) imports {t} (rank {rank(t)})" for (m, t), where in sorted(bad.items()))
    gone = ALLOWED_UPWARD - set(found)
    assert not gone, f"these imports are gone: remove them from ALLOWED_UPWARD: {sorted(gone)}"


def test_an_upward_import_is_found(tmp_path):
    """The check above, on a simulator module that imports the renderer inside a function."""
    probe = tmp_path / "losses.py"
    probe.write_text("import numpy\n\ndef f():\n    from kdanim.render import render_chapters\n", encoding="utf-8")
    real = sources()["kdanim.sim.losses"]
    imports_of.cache_clear()
    try:
        sources()["kdanim.sim.losses"] = probe
        assert upward_imports()[("kdanim.sim.losses", "kdanim.render")] == [f"{probe}:4"]
    finally:
        sources()["kdanim.sim.losses"] = real
        imports_of.cache_clear()


def test_the_rank_table_reads_the_longest_prefix():
    assert rank("kdanim.sim.datasets.digits") == 1 and rank("kdanim.publish.doctor") == 9
    assert rank("kdanim.publish.page") == 8 and rank("kdanim.files") == 0 and rank("kdanim.simulator") is None


# -- (c) the top level stays small -------------------------------------------------------------------

def test_cli_is_a_thin_boundary():
    lines = len((PACKAGE / "cli.py").read_text(encoding="utf-8").splitlines())
    assert lines < MAX_CLI_LINES, (f"kdanim/cli.py has {lines} lines (at most {MAX_CLI_LINES - 1}): the command "
                                   f"line parses options and prints; the work belongs in the library")


def test_few_modules_directly_in_kdanim():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, (f"{len(top)} modules directly in kdanim/ (at most "
                                               f"{MAX_TOP_LEVEL_MODULES}): {top}; put new ones in a subpackage")


# -- (d) the simulator stands alone ------------------------------------------------------------------

SIM_ALLOWED = {"numpy", "threadpoolctl"} | set(sys.stdlib_module_names)
#: Optional datasets' libraries, each only inside the one function that loads the data.
SIM_OPTIONAL = {"sklearn": ("kdanim.sim.datasets.digits", "load_images")}


def sim_import_problems() -> list[str]:
    """"file:line: module" for every import of kdanim/sim (datasets included) outside what it may use."""
    bad = []
    for m in (m for m in sources() if m == "kdanim.sim" or m.startswith("kdanim.sim.")):
        for name, line, _ in imports_of(m):
            top = name.split(".")[0]
            if name == "kdanim.sim" or name.startswith("kdanim.sim.") or top in SIM_ALLOWED:
                continue
            where = SIM_OPTIONAL.get(top)
            if where and where[0] == m and _inside(m, line, where[1]):
                continue
            bad.append(f"{shown(sources()[m])}:{line}: {name}")
    return bad


def test_sim_imports_nothing_but_numpy_threadpoolctl_and_the_standard_library():
    """kdanim/sim (datasets included) is the bottom layer: it runs without the rest of kdanim."""
    assert {"kdanim.sim.datasets.rings", "kdanim.sim.datasets.digits"} <= set(sources())
    bad = sim_import_problems()
    assert not bad, "kdanim/sim imports outside NumPy, threadpoolctl and the standard library:\n" + "\n".join(bad)


def test_a_sim_import_outside_is_found(tmp_path):
    """The check above, on a dataset module that imports kdanim.files, and scikit-learn outside its loader."""
    probe = tmp_path / "digits.py"
    probe.write_text("import json\nfrom kdanim.files import cache_dir\nimport sklearn\n\n"
                     "def load_images():\n    from sklearn.datasets import load_digits\n", encoding="utf-8")
    real = sources()["kdanim.sim.datasets.digits"]
    imports_of.cache_clear()
    try:
        sources()["kdanim.sim.datasets.digits"] = probe
        assert sim_import_problems() == [f"{probe}:2: kdanim.files", f"{probe}:3: sklearn"]
    finally:
        sources()["kdanim.sim.datasets.digits"] = real
        imports_of.cache_clear()


def _inside(module: str, line: int, function: str) -> bool:
    """Whether ``line`` of ``module`` is inside the top-level function ``function``."""
    tree = ast.parse(sources()[module].read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            return node.lineno <= line <= node.end_lineno
    return False
