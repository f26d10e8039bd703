"""No import cycle among the modules of gmnn, counting imports inside functions too.

The graph is read from the import statements (ast), so a new cycle fails here before it
shows up as an ImportError at some later call. An edge goes from a module to the module
it names: ``from gmnn.data.h5 import x`` is an edge to ``gmnn.data.h5``; ``from gmnn.data
import x`` is an edge to ``gmnn.data`` (its ``__init__``), or to ``gmnn.data.x`` when ``x``
is a submodule. A package's ``__init__`` importing its own submodules is not a cycle with
them unless a submodule imports the package back.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gmnn"


def module_names(root: Path = PACKAGE) -> dict[str, Path]:
    out = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                submodules = [f"{source}.{a.name}" for a in node.names]
                targets = [t for t in submodules if t in modules] or [source]
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_gmnn_has_no_import_cycle():
    found = cycles(import_graph(module_names()))
    assert not found, "import cycles among gmnn's modules: " + "; ".join(
        " <-> ".join(c) for c in found
    )


@pytest.mark.parametrize(
    "files, expected",
    [
        ({"a": "import pkg.b\n", "b": "def f():\n    from pkg import a\n"}, [["pkg.a", "pkg.b"]]),
        ({"a": "from pkg.b import x\n", "b": "x = 1\n"}, []),
        (
            {"a": "from . import b\n", "b": "from .c import y\n", "c": "from .a import z\n"},
            [["pkg.a", "pkg.b", "pkg.c"]],
        ),
    ],
)
def test_the_check_finds_cycles_inside_functions_and_relative_imports(tmp_path, files, expected):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, text in files.items():
        (package / f"{name}.py").write_text(text)
    assert cycles(import_graph(module_names(package))) == expected
