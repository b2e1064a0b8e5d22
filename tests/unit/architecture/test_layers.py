"""The house's rule, read from the code: in `lib/`, imports point down only and never go round in a
circle. Every import counts — at module top or inside a function — except those under
`if TYPE_CHECKING:`, which never run.

Layers, bottom up: core < engine < adapters < providers < features < api. Features are ordered
among themselves too (`FEATURE_ORDER`): a feature may import those before it, and hears of the
ones after it only through hooks that `functions/wiring.py` installs."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
LIB = ROOT / "lib"
LAYERS = ["core", "engine", "adapters", "providers", "features", "api"]
FEATURE_ORDER = [
    "outbox",
    "connections",
    "sync",
    "links",
    "bookings",
    "availability",
    "housekeeping",
    "health",
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in LIB.rglob("*.py")}


def rank(module: str) -> tuple[int, int]:
    """(layer, feature) of a module; `lib` itself is below everything."""
    parts = module.split(".")
    if len(parts) < 2:
        return (-1, 0)
    layer = LAYERS.index(parts[1])
    feature = FEATURE_ORDER.index(parts[2]) if parts[1] == "features" and len(parts) > 2 else 0
    return (layer, feature)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for orelse in child.orelse:
                yield from _runtime_imports(orelse)
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        yield from _runtime_imports(child)


def imports_of(module: str) -> set[str]:
    """The `lib` modules `module` imports at run time (a name taken from a package that is a
    submodule counts as that submodule)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in _runtime_imports(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            target = f"{base}.{alias.name}"
            if target in MODULES:
                found.add(target)
            elif base in MODULES:
                found.add(base)
    found.discard(module)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def test_the_layers_are_the_folders_of_lib() -> None:
    folders = {p.name for p in LIB.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders <= set(LAYERS), f"a folder of lib/ that is no layer: {folders - set(LAYERS)}"
    features = {p.stem for p in (LIB / "features").iterdir() if p.name != "__init__.py"} - {"__pycache__"}
    assert features <= set(FEATURE_ORDER), (
        f"a feature missing from FEATURE_ORDER: {features - set(FEATURE_ORDER)}"
    )


def test_imports_point_down_only() -> None:
    upward = sorted(
        f"{source} -> {target}"
        for source, targets in GRAPH.items()
        for target in targets
        if rank(target) > rank(source)
    )
    assert upward == [], "imports from a lower layer (or earlier feature) to a higher one"


def _circles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = 0
    for root in sorted(GRAPH):
        if root in index:
            continue
        work = [(root, iter(sorted(GRAPH[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(GRAPH[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    return circles


def test_no_import_circles() -> None:
    assert _circles() == []


def test_the_reader_sees_what_it_should() -> None:
    # The reader itself: it finds function-local imports and skips TYPE_CHECKING ones.
    assert "lib.features.bookings.checks" in GRAPH
    assert any(t.startswith("lib.core") for t in GRAPH["lib.features.bookings.checks"])
