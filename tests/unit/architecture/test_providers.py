"""The provider decides provider things: outside `lib/providers/`, no code compares a provider's
name (`CalendarProvider.MICROSOFT`, `.NONE`, or the literal names) - features ask the registry
(`lib.providers.registry`) what the provider does. And every name a link host may carry has a
provider installed."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from functions.wiring import install_providers
from lib.features.links.config import CalendarProvider
from lib.providers import registry

ROOT = Path(__file__).resolve().parents[3]
PROVIDERS = ROOT / "lib" / "providers"
NAMES = frozenset(p.value for p in CalendarProvider)


def _sources() -> Iterator[Path]:
    for top in ("lib", "functions"):
        for path in (ROOT / top).rglob("*.py"):
            if PROVIDERS not in path.parents:
                yield path


def _names_a_provider(node: ast.expr) -> bool:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.value.id == "CalendarProvider"
    return isinstance(node, ast.Constant) and node.value in NAMES


def provider_comparisons(source: str) -> list[int]:
    """Lines comparing something with a provider's name (==, !=, is, in, match)."""
    found: list[int] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
        elif isinstance(node, ast.MatchValue):
            sides = [node.value]
        else:
            continue
        if any(_names_a_provider(side) for side in sides):
            found.append(node.lineno)
    return found


def test_the_check_sees_the_comparisons_it_forbids() -> None:
    assert provider_comparisons("x = h.provider is CalendarProvider.NONE") == [1]
    assert provider_comparisons("y = p == 'microsoft'") == [1]
    assert provider_comparisons("match p:\n    case CalendarProvider.MICROSOFT:\n        pass") == [2]
    assert provider_comparisons("z = CalendarProvider(item.get('calendarProvider', 'microsoft'))") == []


def test_no_code_outside_providers_compares_a_provider_name() -> None:
    offenders = {
        str(path.relative_to(ROOT)): lines
        for path in _sources()
        if (lines := provider_comparisons(path.read_text()))
    }
    assert offenders == {}


def test_every_host_provider_name_has_a_provider_installed() -> None:
    install_providers()
    assert registry.installed() >= NAMES
    for name in NAMES:
        assert registry.provider_for(name).name == name


SYNC = ROOT / "lib" / "features" / "sync"
# What talks to Microsoft Graph itself: its client, its errors, the Microsoft provider, and
# connections' Graph client for an account.
SERVICE_MODULES = ("lib.adapters.graph", "lib.providers.microsoft", "lib.features.connections.graph_access")


def service_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of each import of a calendar service's own module, wherever it is made."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            if any(module == m or module.startswith(f"{m}.") for m in SERVICE_MODULES):
                found.append((node.lineno, module))
    return found


def test_the_check_sees_a_service_import() -> None:
    assert service_imports("from lib.adapters.graph import GraphGone") == [(1, "lib.adapters.graph")]
    assert service_imports("def f():\n    import lib.providers.microsoft.change_feed") == [
        (2, "lib.providers.microsoft.change_feed")
    ]
    assert service_imports("from lib.providers.change_feed import ChangeFeed") == []


def test_sync_follows_calendars_only_through_the_change_feed() -> None:
    """Subscriptions, delta rounds and busy rows go through the connection's provider
    (`lib.providers.change_feed`); sync never calls a calendar service itself."""
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in sorted(SYNC.rglob("*.py"))
        if (found := service_imports(path.read_text()))
    }
    assert offenders == {}
