"""The layering of oneapi_app, read from its imports (every ``import`` statement, at any depth: inside
functions and under ``if TYPE_CHECKING:`` too -- a lazy import is still a dependency).

    api, pages, runtime ──> relay (/v1; relay/adaptors: pure translators)
            │                 │
            ▼                 ▼
         services  ──>  models, catalog, errors, settings, db ...

- an adaptor (``relay/adaptors/*``) never imports services, api, pages or a web framework;
- services never import api, pages or the relay; pages never import api;
- models never import services, api, relay or pages;
- no import cycle among oneapi_app's modules.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "oneapi_app"

# KNOWN violations, each removed by work in progress (issue 9) whose owner is named. The test fails on any
# violation not listed here, and on a listed one that no longer happens: whoever removes a violation deletes
# its line, so the sets only shrink (the lead empties them).
KNOWN_LAYER_VIOLATIONS: set[str] = set()
# Modules still inside an import circle.
KNOWN_CYCLE_MODULES: set[str] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """Every module this one imports: absolute names, resolved to a module of the package when it is one
    (``from . import x`` imports the submodule x when it exists)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, path.name == "__init__.py", node)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
    return found


@cache
def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _under(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


P = PACKAGE
RULES: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    # (rule, importers, forbidden targets)
    ("adaptors never import services, api, pages or web frameworks", (f"{P}.relay.adaptors",),
     (f"{P}.services", f"{P}.api", f"{P}.pages", "fastapi", "starlette", "reflex")),
    ("services never import api, pages or relay", (f"{P}.services",), (f"{P}.api", f"{P}.pages", f"{P}.relay")),
    ("pages never import api", (f"{P}.pages",), (f"{P}.api",)),
    ("models never import services, api, relay or pages", (f"{P}.models",),
     (f"{P}.services", f"{P}.api", f"{P}.relay", f"{P}.pages")),
]


def layer_violations(graph: dict[str, set[str]]) -> set[str]:
    found = set()
    for rule, importers, forbidden in RULES:
        for module, targets in graph.items():
            if not _under(module, *importers):
                continue
            for target in targets:
                if _under(target, *forbidden):
                    found.add(f"{module} -> {target} ({rule})")
    return found


def _edges(graph: dict[str, set[str]]) -> dict[str, list[str]]:
    return {m: sorted(t for t in targets if t in graph and t != m) for m, targets in graph.items()}


def _components(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan): the import circles."""
    edges = _edges(graph)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return [sorted(c) for c in components]


def import_cycles(graph: dict[str, set[str]]) -> set[str]:
    """One cycle per import circle, written ``a -> b -> ... -> a`` from its smallest module name."""
    edges = _edges(graph)
    return {_cycle_text(c, edges) for c in _components(graph)}


def _cycle_text(component: list[str], edges: dict[str, list[str]]) -> str:
    """A shortest path from the component's first module back to itself, inside the component."""
    members = set(component)
    start = component[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in edges[node]:
                if nxt not in members:
                    continue
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    names = [start, *reversed(path[:-1]), start]
                    return "cycle: " + " -> ".join(names) + f" ({len(component)} modules in the circle)"
                if nxt not in previous:
                    previous[nxt] = node
                    following.append(nxt)
        frontier = following
    return "cycle: " + " -> ".join(component)


def test_the_graph_sees_every_kind_of_import():
    graph = _graph()
    assert f"{P}.errors" in graph[f"{P}.api.envelopes"]
    assert f"{P}.relay.pipeline" in graph[f"{P}.relay.fastlane"]
    assert "fastapi" in graph[f"{P}.api.envelopes"]


def test_cycle_finder_reports_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == {"cycle: a -> b -> c -> a (3 modules in the circle)"}
    assert import_cycles({"a": {"b"}, "b": set()}) == set()


def test_layer_rules_catch_a_lazy_or_type_checking_import(tmp_path):
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..relay import x\n" \
             "def f():\n    from ..api import deps\n"
    path = tmp_path / "mod.py"
    path.write_text(source)
    known = {f"{P}.relay.x", f"{P}.api.deps"}
    imports = _imports(f"{P}.services.mod", path, known)
    assert imports == {"typing", f"{P}.relay.x", f"{P}.api.deps"}
    found = layer_violations({f"{P}.services.mod": imports})
    assert {v.split(" (")[0] for v in found} == {f"{P}.services.mod -> {P}.relay.x",
                                                 f"{P}.services.mod -> {P}.api.deps"}


def test_layer_rules():
    found = {v.split(" (")[0]: v for v in layer_violations(_graph())}
    new = sorted(v for key, v in found.items() if key not in KNOWN_LAYER_VIOLATIONS)
    assert not new, "import rules broken:\n" + "\n".join(new)
    gone = sorted(KNOWN_LAYER_VIOLATIONS - set(found))
    assert not gone, "no longer violated: remove from KNOWN_LAYER_VIOLATIONS:\n" + "\n".join(gone)


def test_no_import_cycles():
    graph = _graph()
    components = _components(graph)
    in_cycles = {m for c in components for m in c}
    new = sorted(_cycle_text(c, _edges(graph)) for c in components if not set(c) <= KNOWN_CYCLE_MODULES)
    assert not new, "import cycles:\n" + "\n".join(new)
    gone = sorted(KNOWN_CYCLE_MODULES - in_cycles)
    assert not gone, "no longer in a cycle: remove from KNOWN_CYCLE_MODULES:\n" + "\n".join(gone)
