"""The tables the Bicep template creates are exactly the tables the code's record kinds use, so a
deployment starts with every table it needs and no stray ones."""

from __future__ import annotations

import importlib
import pkgutil

import lib
from lib.adapters.storage.records import TableRecord
from tests.unit.infra.bicep_tree import MAIN_BICEP, parse


def _record_kinds() -> set[str]:
    for module in pkgutil.walk_packages(lib.__path__, "lib."):
        importlib.import_module(module.name)
    kinds: set[str] = set()
    pending: list[type[TableRecord]] = [TableRecord]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("lib.") and "table_kind" in vars(cls):
            kinds.add(cls.table_kind)
    return kinds


def test_the_template_creates_one_table_per_table_kind_of_the_code() -> None:
    declared = parse(MAIN_BICEP)["parameters"]["tableKinds"]["default"]
    assert len(declared) == len(set(declared))
    assert set(declared) == _record_kinds()
