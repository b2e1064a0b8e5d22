"""`python -X importtime` output, parsed: each module with its own and cumulative time (µs), its
depth in the import tree and the chain of modules that imported it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


@dataclass(frozen=True)
class Imported:
    name: str
    self_us: int
    cumulative_us: int
    depth: int
    parents: tuple[str, ...]  # outermost first

    @property
    def top_package(self) -> str:
        return self.name.split(".", 1)[0]


def parse(stderr: str) -> list[Imported]:
    """Modules in the order Python finished importing them. A child line comes before its parent's,
    one indentation level (two spaces) deeper; parents are resolved after the fact."""
    rows: list[tuple[str, int, int, int]] = []
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match:
            self_us, cumulative_us, indent, name = match.groups()
            rows.append((name, int(self_us), int(cumulative_us), len(indent) // 2))
    parents: list[tuple[str, ...]] = [()] * len(rows)
    # Walk backwards: a module's parent is the next line (later in the output) with a smaller depth.
    stack: list[tuple[int, str]] = []  # (depth, name) of enclosing modules, innermost last
    for index in range(len(rows) - 1, -1, -1):
        name, _, _, depth = rows[index]
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[index] = tuple(n for _, n in stack)
        stack.append((depth, name))
    return [Imported(n, s, c, d, p) for (n, s, c, d), p in zip(rows, parents, strict=True)]


def find(modules: Iterable[Imported], name: str) -> Imported | None:
    return next((m for m in modules if m.name == name), None)


def within(modules: list[Imported], root: str) -> list[Imported]:
    """The modules imported (first) while `root` was being imported, `root` included."""
    return [m for m in modules if m.name == root or root in m.parents]


def owner(module: Imported) -> str:
    """Who a module's import time belongs to: the app's own code, the Functions library the worker
    loads anyway, or a third-party / standard-library package (by top-level name)."""
    top = module.top_package
    if top in ("lib", "functions", "function_app"):
        return "app code (lib, functions)"
    if module.name.startswith("azure.functions"):
        return "azure.functions (the worker's own library)"
    return top
