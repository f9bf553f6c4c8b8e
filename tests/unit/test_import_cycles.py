"""No import cycles between dbbench's modules, counting every import: module-level,
inside functions (late), under ``if TYPE_CHECKING:``, and by name: a string that names
a module (``importlib.import_module("dbbench.x")``, a registry's ``"dbbench.x:Class"``).

A cycle means two modules that cannot be understood, tested or moved apart; a late
import only hides one from Python, not from the reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import dbbench

SOURCE = Path(dbbench.__file__).parent


def _module_name(path: Path) -> str:
    parts = ("dbbench", *path.relative_to(SOURCE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(SOURCE.rglob("*.py"))}


def _imported(name: str, path: Path, known: set[str]) -> set[str]:
    """Every dbbench module ``name`` (at ``path``) imports, wherever the import stands.

    ``from dbbench.pkg import x`` counts as importing ``dbbench.pkg.x`` when that is a
    module, else ``dbbench.pkg`` (its ``__init__``: from inside ``pkg`` too).  Importing
    ``dbbench.a.b`` also runs ``dbbench.a``'s ``__init__``, but a package's ``__init__``
    is not counted as imported that way: the edge a reader follows is to the module named.
    A string constant that is exactly a module's name below ``dbbench``, or
    ``module:attribute``, counts as importing that module: the registries load their
    entries by name (``importlib``).
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            targets = [
                f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module
                for alias in node.names
            ]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            named = node.value.partition(":")[0]
            # "dbbench" alone is the program's name (a label, the distribution)
            if named not in known or named == "dbbench":
                continue
            targets = [named]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imported(name, path, known) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
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
    return found


def _path_through(graph: dict[str, set[str]], component: list[str]) -> str:
    """One concrete loop inside ``component``, ``a -> b -> a``, for the failure message."""
    members = set(component)
    start = component[0]
    trail = [start]
    seen = {start}
    while True:
        nexts = sorted(graph[trail[-1]] & members)
        back = [n for n in nexts if n in seen]
        if back:
            trail.append(back[0])
            return " -> ".join(trail[trail.index(back[0]) :])
        trail.append(nexts[0])
        seen.add(nexts[0])


def test_the_checker_sees_late_and_type_checking_imports(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert _path_through(graph, ["a", "b", "c"]) == "a -> b -> c -> a"
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from dbbench.config.settings import Settings\n"
        "def f():\n    from dbbench.drivers import get_driver\n"
        "from . import errors\n"
    )
    known = {"dbbench.config.settings", "dbbench.drivers", "dbbench.errors", "dbbench.m"}
    assert _imported("dbbench.m", source, known) == {
        "dbbench.config.settings",
        "dbbench.drivers",
        "dbbench.errors",
    }


def test_the_checker_sees_imports_by_name_and_of_the_own_packages_init(tmp_path):
    # a registry in a package's __init__ loads its modules by name, and they import a
    # name from that __init__: a cycle, though no import statement closes it
    package = tmp_path / "pkg"
    package.mkdir()
    init = package / "__init__.py"
    init.write_text(
        "import importlib\n"
        "MODULES = {'a': 'dbbench.pkg.a', 'b': 'dbbench.pkg.b:Thing'}\n"
        "def load(name):\n    return importlib.import_module(MODULES[name])\n"
        "NOT_ONE = 'dbbench.pkg.a.setting_name'\n"  # only like a module's name
        "PROGRAM = 'dbbench'\n"
    )
    module = package / "a.py"
    module.write_text("from dbbench.pkg import load\nfrom . import MODULES\n")
    known = {"dbbench", "dbbench.pkg", "dbbench.pkg.a", "dbbench.pkg.b"}
    assert _imported("dbbench.pkg", init, known) == {"dbbench.pkg.a", "dbbench.pkg.b"}
    assert _imported("dbbench.pkg.a", module, known) == {"dbbench.pkg"}
    graph = {"dbbench.pkg": {"dbbench.pkg.a", "dbbench.pkg.b"}, "dbbench.pkg.a": {"dbbench.pkg"}}
    graph["dbbench.pkg.b"] = set()
    assert cycles(graph) == [["dbbench.pkg", "dbbench.pkg.a"]]


def test_no_import_cycles():
    graph = import_graph()
    assert "dbbench.cli" in graph and graph["dbbench.cli"]  # the walk found the code
    loops = [_path_through(graph, component) for component in cycles(graph)]
    assert not loops, "import cycles (late and TYPE_CHECKING imports count):\n" + "\n".join(loops)


def _entry(module: str) -> str:
    """The top-level entry of ``src/dbbench`` a module belongs to: its folder, or itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def folder_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The import graph between the top-level entries (``engine``, ``results``, ``cli``,
    ...): an edge for each import from one into another. The package's ``__init__`` is
    left out: it names the public API, importing it from every folder on first use."""
    folders: dict[str, set[str]] = {}
    for module, imported in graph.items():
        source = _entry(module)
        if source == "__init__":
            continue
        targets = {_entry(target) for target in imported} - {source, "__init__"}
        folders.setdefault(source, set()).update(targets)
    return folders


def test_the_folders_depend_on_each_other_in_one_direction():
    # CONTRIBUTING's layout: cli over scenarios over engine, runners, drivers, server,
    # results; the model imports none of those; output draws the model (and the engine's
    # progress and timeline, the runners' traits) but calls no scenario; the shared
    # leaves (errors, parsing, numbers, histogram, stats, text) import nothing above them
    graph = folder_graph(import_graph())
    loops = [_path_through(graph, component) for component in cycles(graph)]
    assert not loops, "folders importing each other: " + "; ".join(loops)
    above_the_model = {"engine", "scenarios", "output", "runners", "drivers", "server", "cli"}
    assert not graph["results"] & above_the_model
    assert not graph["output"] & {"scenarios", "server", "cli"}
    leaves = {"errors", "parsing", "numbers", "histogram", "stats", "text"}
    for leaf in leaves:
        assert not graph[leaf] - leaves, leaf
    assert not graph["text"], "text imports nothing of dbbench"
