"""Each feature owns its records: only the feature that declares a record kind opens its table
(`storage_account().table(Kind)`); another feature reads it through the owner's repository
functions (`connections.repository`, `sync.sync_state`, `bookings.locks` ...)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FEATURES = ROOT / "lib" / "features"


def _feature_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if parts[:2] == ["lib", "features"] and len(parts) > 2 else None


def _tables_opened(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, record name, feature that declares it) of each `.table(Name)` call in the file."""
    tree = ast.parse(path.read_text())
    declared_in: dict[str, str | None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                declared_in[alias.asname or alias.name] = _feature_of(node.module)
        elif isinstance(node, ast.ClassDef):
            declared_in[node.name] = _feature_of(".".join(path.relative_to(ROOT).with_suffix("").parts))
    opened = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "table"
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Name)
        ):
            name = node.args[0].id
            opened.append((node.lineno, name, declared_in.get(name)))
    return opened


def test_a_feature_opens_only_its_own_tables() -> None:
    trespass = []
    for path in sorted(FEATURES.rglob("*.py")):
        here = path.relative_to(FEATURES).parts[0].removesuffix(".py")
        for line, record, owner in _tables_opened(path):
            if owner is not None and owner != here:
                trespass.append(f"{path.relative_to(ROOT)}:{line} opens {owner}'s {record}")
    assert trespass == [], "read another feature's records through its repository"


def test_the_reader_finds_table_calls() -> None:
    found = _tables_opened(FEATURES / "connections" / "repository.py")
    assert ("ConnectionRecord", "connections") in [(name, owner) for _, name, owner in found]
