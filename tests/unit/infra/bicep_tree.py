"""Parsed Bicep for the infra tests: every template under infra/ through pycep (a pure-Python Bicep
parser), plus small helpers to read the parsed tree.

pycep keeps the difference that matters for these tests: a quoted string literal comes back as
`str`, while an identifier (a parameter, variable or resource symbol) comes back as
`pycep.models.BicepElement`, a `str` subclass. Expressions come back as dicts:
`{"function": {"type": ..., "parameters": {...}}}` and `{"operator": {"type": ..., "operands": {...}}}`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from pycep import BicepParser
from pycep.models import BicepElement

REPO_ROOT = Path(__file__).resolve().parents[3]
INFRA_DIR = REPO_ROOT / "infra"
MAIN_BICEP = INFRA_DIR / "main.bicep"

Tree = dict[str, Any]


def bicep_files() -> list[Path]:
    return sorted(INFRA_DIR.rglob("*.bicep"))


@functools.cache
def _parser() -> BicepParser:
    return BicepParser(cache=False)


@functools.cache
def parse(path: Path) -> Tree:
    return cast(Tree, _parser().parse(file_path=path))


def module_path(name: str) -> Path:
    return INFRA_DIR / "modules" / f"{name}.bicep"


def is_reference(value: object) -> bool:
    """An identifier (parameter, variable, resource or module symbol), not a string literal."""
    return isinstance(value, BicepElement)


def is_literal(value: object) -> bool:
    return isinstance(value, str) and not isinstance(value, BicepElement)


def unquote_key(key: str) -> str:
    """Object keys that needed quotes in Bicep (`'azd-service-name'`) keep them in the tree."""
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == "'" else key


def accessor_path(value: object) -> str | None:
    """`storage.properties.primaryEndpoints.blob` for a property-accessor chain; None otherwise."""
    if isinstance(value, BicepElement):
        return str(value)
    if isinstance(value, dict) and "operator" in value:
        operator = value["operator"]
        if operator.get("type") == "property_accessor":
            left = accessor_path(operator["operands"]["operand_1"])
            right = accessor_path(operator["operands"]["operand_2"])
            if left is not None and right is not None:
                return f"{left}.{right}"
    return None


def resource_body(resource: Tree) -> Tree:
    """The object of a resource declaration, looking through `if (...)` conditions and `for` loops."""
    config = cast(Tree, resource["config"])
    while "config" in config and ("condition" in config or "loop_type" in config):
        config = cast(Tree, config["config"])
    return config


def resources_of_type(tree: Tree, resource_type: str) -> dict[str, Tree]:
    return {
        name: resource
        for name, resource in tree.get("resources", {}).items()
        if resource["type"].lower() == resource_type.lower()
    }


def single_resource(tree: Tree, resource_type: str) -> Tree:
    found = resources_of_type(tree, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.values()))


def walk(value: object, path: str = "") -> Iterator[tuple[str, object]]:
    """Every (path, leaf value) in a parsed tree, dict keys and list indexes joined by '/'."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from walk(child, f"{path}/{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from walk(child, f"{path}/{index}")
    else:
        yield path, value
