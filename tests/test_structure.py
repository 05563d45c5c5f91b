"""The shape of src/: small modules, short functions, and imports that only go down the
layers of docs/architecture.md (so there is no import cycle, between modules or packages).

Read from the source with `ast`; nothing is imported or run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

# Packages (and top-level modules) from the bottom up: a module may import its own
# package and anything in a lower layer, nothing beside or above it. docs/architecture.md
# says what each layer is for.
LAYERS: list[set[str]] = [
    {
        "tether",
        "tether.errors",
        "tether.ids",
        "tether.tasks",
        "tether.backoff",
        "tether.private",
        "tether.sanitize",
    },
    {
        "tether.protocol",
        "tether.store",
        "tether.reconnect",
        "tether.hubfile",
        "tether.hub_secrets",
        "tether.config_json",
        "tether.remote",
        "tether.eventloop",
        "tether.gcpolicy",
    },
    {"tether.config", "tether.heartbeat"},
    {"tether.transports"},
    {"tether.terminal"},
    {"tether.auth", "tether.agents"},
    {"tether.client", "tether.cluster", "tether.teams_check"},
    {"tether.runner", "tether.hub"},
    {"tether.mcp", "tether.web", "tether.ptyhost"},
    {"tether.notify"},
    {"tether.app"},
    {"tether.serve"},
    {"tether.cli"},
    {"tether.__main__"},
]

# What other work in progress has not fixed yet. This set must only shrink: fix an
# offender, then delete its line here (the test says which lines are stale).
KNOWN_OFFENDERS: set[str] = set(
    # modules over MAX_MODULE_LINES, functions over MAX_FUNCTION_LINES, imports that go
    # sideways or up (each is half of a cycle): none left.
)


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module

    @property
    def rel(self) -> str:
        return self.path.relative_to(SRC / "tether").as_posix()

    @property
    def package(self) -> str:
        """`tether.hub` for tether.hub.broker; a top-level module is its own package."""
        return ".".join(self.name.split(".")[:2])


def _modules() -> dict[str, Module]:
    found = {}
    for path in sorted((SRC / "tether").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        found[name] = Module(name, path, ast.parse(path.read_text(), str(path)))
    return found


MODULES = _modules()


def _functions(node: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.AST]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.ClassDef):
            yield from _functions(child, f"{prefix}{child.name}.")
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix + child.name, child
            yield from _functions(child, f"{prefix}{child.name}.")


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: Module) -> set[str]:
    """The tether modules `module` imports at run time (also inside functions; not under
    `if TYPE_CHECKING:`, which only the type checker follows)."""
    out: set[str] = set()

    def visit(nodes: Iterable[ast.AST]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                out.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    out.add(submodule if submodule in MODULES else node.module)
            visit(ast.iter_child_nodes(node))

    visit(module.tree.body)
    return {name for name in out if name in MODULES and name != module.name}


GRAPH = {name: _imports(module) for name, module in MODULES.items()}


def _layer_of(package: str) -> int:
    for rank, layer in enumerate(LAYERS):
        if package in layer:
            return rank
    raise AssertionError(
        f"{package} is in no layer: add it to LAYERS in tests/test_structure.py "
        "and to the table in docs/architecture.md"
    )


def _offenders() -> set[str]:
    found = set()
    for module in MODULES.values():
        lines = len(module.path.read_text().splitlines())
        if lines > MAX_MODULE_LINES:
            found.add(f"module {module.rel}")
        for qualified, node in _functions(module.tree):
            assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.add(f"function {module.rel}:{qualified}")
    for name, imported in GRAPH.items():
        package = MODULES[name].package
        for other in sorted(imported):
            target = MODULES[other].package
            if target != package and _layer_of(target) >= _layer_of(package):
                found.add(f"import {package} -> {target}")
    return found


OFFENDERS = _offenders()


def test_every_package_has_a_layer() -> None:
    for module in MODULES.values():
        _layer_of(module.package)


def test_no_new_offenders() -> None:
    new = sorted(OFFENDERS - KNOWN_OFFENDERS)
    assert not new, (
        f"modules over {MAX_MODULE_LINES} lines, functions over {MAX_FUNCTION_LINES} lines, "
        "or imports that go sideways or up a layer (docs/architecture.md):\n  " + "\n  ".join(new)
    )


def test_known_offenders_only_shrink() -> None:
    stale = sorted(KNOWN_OFFENDERS - OFFENDERS)
    assert not stale, "fixed — delete from KNOWN_OFFENDERS:\n  " + "\n  ".join(stale)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
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
            connect(node)
    return found


def _known_import(a: str, b: str) -> bool:
    return f"import {a} -> {b}" in KNOWN_OFFENDERS


@pytest.mark.parametrize("level", ["module", "package"])
def test_no_import_cycles(level: str) -> None:
    if level == "module":
        graph = {
            name: {
                other
                for other in imported
                if not _known_import(MODULES[name].package, MODULES[other].package)
            }
            for name, imported in GRAPH.items()
        }
    else:
        graph = {}
        for name, imported in GRAPH.items():
            package = MODULES[name].package
            for other in imported:
                target = MODULES[other].package
                if target != package and not _known_import(package, target):
                    graph.setdefault(package, set()).add(target)
    assert _cycles(graph) == []


def test_the_checks_see_what_they_check() -> None:
    # Guards the tests above against passing because they read nothing.
    assert len(MODULES) > 100
    assert "tether.hub.sessions" in GRAPH["tether.hub.ingest"]
    assert "tether.protocol.delivery" in GRAPH["tether.hub.ingest"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    names = dict(_functions(MODULES["tether.hub.broker"].tree))
    assert "Broker.runner_connected" in names
