"""The package's shape: import cycles, file sizes, the light core's imports, file names."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "keras_audiosr"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_modules(path: Path, name: str, modules: set) -> set:
    """The package modules ``path`` imports anywhere (module top, functions, methods): for
    ``from a.b import c`` the module ``a.b.c`` when it is one, else ``a.b``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # ``import a.b.c`` of a name inside a module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict:
    """``{module: set of package modules it imports}`` for every ``.py`` file under ``keras_audiosr/``."""
    files = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    modules = set(files)
    return {name: _imported_modules(path, name, modules) for name, path in files.items()}


def _cycles(graph: dict) -> list:
    """One cycle (a list of modules, first repeated last) per strongly connected component of ``graph``."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(v):  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(set(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    cycles = []
    for component in components:  # a shortest way back to the start, inside the component
        start = min(component)
        paths, seen = [[start]], {start}
        while paths:
            path = paths.pop(0)
            nxt = sorted(w for w in graph[path[-1]] if w in component)
            if start in nxt:
                cycles.append(path + [start])
                break
            for w in nxt:
                if w not in seen:
                    seen.add(w)
                    paths.append(path + [w])
    return cycles


def test_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]


def test_no_import_cycles():
    graph = import_graph()
    assert "keras_audiosr.streaming.upsampler" in graph and graph["keras_audiosr.export.convert"], "no graph parsed"
    cycles = _cycles(graph)
    assert not cycles, "import cycles between files (imports inside functions count):\n" + "\n".join(
        " -> ".join(c) for c in cycles
    )


# ----------------------------------------------------------------------------------------- size, layers, names
REPO = PACKAGE.parent
SOURCE_DIRS = ("keras_audiosr", "edge", "recipes", "tools", "tests")
MAX_LINES = 600
#: The light core: importing these (and building the command line) loads no Keras and no TensorFlow.
LIGHT_CORE = (
    "keras_audiosr",
    "keras_audiosr.args",
    "keras_audiosr.audio",
    "keras_audiosr.baselines",
    "keras_audiosr.degrade",
    "keras_audiosr.metrics",
    "keras_audiosr.evaluation",
    "keras_audiosr.inference",
    "keras_audiosr.streaming",
    "keras_audiosr.pretrained",
    "keras_audiosr.pretrained.ship",
    "keras_audiosr.pretrained.trim",
    "keras_audiosr.cli",
    "keras_audiosr.utils",
)
TRACKER_WORDS = re.compile(r"issue[_-]?\d|ticket[_-]?\d|bug[_-]?\d", re.IGNORECASE)


def _source_files():
    return [p for d in SOURCE_DIRS for p in sorted((REPO / d).rglob("*.py")) if "__pycache__" not in p.parts]


def test_no_source_file_is_over_600_lines():
    files = _source_files()
    assert len(files) > 50, "source files not found"
    long = {
        str(p.relative_to(REPO)): n for p in files if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"files over {MAX_LINES} lines (split them by job): {long}"


def test_the_light_core_imports_without_keras_or_tensorflow():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in LIGHT_CORE)
        + "keras_audiosr.cli.build_parser()\n"
        + "print('HEAVY', sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "HEAVY []" in proc.stdout, proc.stdout


def test_the_layer_and_name_checks_can_fail():
    code = "import sys\nimport keras_audiosr.layers\nprint(sorted(m for m in ('keras',) if m in sys.modules))\n"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"},
        check=False,
    )
    assert "['keras']" in proc.stdout, "the Keras layer should import Keras: the light-core check would see it"
    assert TRACKER_WORDS.search("tools/bench_issue9.py") and not TRACKER_WORDS.search("tools/bench_never_worse.py")


def test_no_tracker_words_in_file_names():
    names = [
        str(p.relative_to(REPO))
        for d in (*SOURCE_DIRS, "docs")
        if (REPO / d).is_dir()
        for p in (REPO / d).rglob("*")
        if "__pycache__" not in p.parts
    ]
    bad = [n for n in names if TRACKER_WORDS.search(Path(n).name)]
    assert not bad, f"file names carrying tracker words: {bad}"
