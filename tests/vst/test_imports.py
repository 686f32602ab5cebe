"""Imports run in one direction: no cycle among the modules of ``vst/`` and ``training/``, and no library or training
module imports the app layer (``vst.app``).

Every module is parsed with :mod:`ast` (nothing is imported), and every ``import``/``from … import`` anywhere in it
counts — at module level or inside a function, class or ``try`` — except those under ``if TYPE_CHECKING:`` (they never
run). Relative imports are resolved against the module's package. ``from P import name`` is an edge to ``P.name``
when that is a module of the project, else to ``P`` (a package's ``__init__`` is the package's module). Importing
``a.b.c`` from outside package ``a`` also runs ``a/__init__`` and ``a/b/__init__``, so it is an edge to each of those
too; from inside ``a`` it is not (that package's ``__init__`` has already started).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: The top-level packages whose modules the graph holds.
PACKAGES = ("vst", "training")
#: The library's layers, lowest first: a module may import the ones before it, never (even indirectly) one after it.
LAYERS = ("vst.errors", "vst.settings", "vst.style_folder", "vst.hub_client", "vst.catalog", "vst.checkpoint_check",
          "vst.hub", "vst.pipeline")
APP = "vst.app"

Graph = dict[str, set[str]]


def module_name(path: Path, root: Path) -> str:
    """``vst/app/gallery.py`` → ``vst.app.gallery``; ``vst/__init__.py`` → ``vst``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Every module of ``packages`` under ``root``: dotted name → file."""
    return {module_name(path, root): path for package in packages for path in sorted((root / package).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement in ``tree``, at any depth, but the bodies of ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules that module ``name`` (file ``path``) imports, by the rules of the module docstring."""
    package = name if _is_package(path) else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in import_nodes(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        if node.level:
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if package else []
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        for alias in node.names:
            targets.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source)
    edges: set[str] = set()
    for target in targets:
        parts = target.split(".")
        for i in range(1, len(parts) + 1):
            ancestor = ".".join(parts[:i])
            inside = name == ancestor or name.startswith(ancestor + ".")
            if ancestor in modules and ancestor != name and (i == len(parts) or not inside):
                edges.add(ancestor)
    return edges


def import_graph(root: Path = REPO, packages: Iterable[str] = PACKAGES) -> Graph:
    """Module → the project modules it imports."""
    modules = project_modules(root, packages)
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (each holds at least one cycle), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def reachable(graph: Graph, start: str) -> set[str]:
    """Every module that importing ``start`` imports, directly or not."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.fixture(scope="module")
def graph() -> Graph:
    return import_graph()


def test_the_graph_sees_imports_at_every_depth(tmp_path: Path) -> None:
    """The checker itself: relative imports, imports in functions and ``from package import module`` are edges, an
    import under ``if TYPE_CHECKING:`` is not, and a cycle through a function-level import is found."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .a import f\n")
    (pkg / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import C\n"
                              "def f():\n    from .sub import b\n    return b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("import os\ntry:\n    from .. import a\nexcept ImportError:\n    a = None\n")
    (pkg / "c.py").write_text("from . import a\n")
    found = import_graph(tmp_path, ["pkg"])
    assert found == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.sub", "pkg.sub.b"}, "pkg.sub": set(), "pkg.sub.b": {"pkg.a"},
                     "pkg.c": {"pkg.a"}}
    assert cycles(found) == [["pkg.a", "pkg.sub.b"]]


def test_the_graph_holds_the_project(graph: Graph) -> None:
    """Not vacuous: the graph has the library's and training's modules and the imports they are known to make."""
    assert {"vst", "vst.app.gallery", "vst.app.stylize_jobs", "vst.app.blind_vote", "vst.app.ab_pair",
            "training.data", "training.data.shards", *LAYERS} <= set(graph)
    assert "vst.catalog" in graph["vst.hub"] and "vst.errors" in graph["vst.style_folder"]
    assert "vst" in graph["training.export"]  # importing vst.<module> from training runs vst/__init__.py


def test_no_import_cycle(graph: Graph) -> None:
    found = cycles(graph)
    assert not found, "import cycles (function-level imports included): " + "; ".join(
        " <-> ".join(component) for component in found)


def test_library_and_training_do_not_import_the_app(graph: Graph) -> None:
    offenders = {name: sorted(t for t in targets if _in(t, APP)) for name, targets in graph.items()
                 if not _in(name, APP)}
    assert not {name: targets for name, targets in offenders.items() if targets}


@pytest.mark.parametrize("layer", LAYERS[:-1])
def test_layers_import_downwards_only(graph: Graph, layer: str) -> None:
    """errors → settings → style metadata → Hub client → catalog → checkpoint checks → checkpoint finding →
    pipeline."""
    later = set(LAYERS[LAYERS.index(layer) + 1:])
    assert not reachable(graph, layer) & later
