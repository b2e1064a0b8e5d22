"""Collections: pages that follow `@odata.nextLink`, and delta rounds that end at `@odata.deltaLink`.
Links are absolute URLs from Graph and are followed only under the client's base URL. Each page is
its own request with its own deadline (a long calendar is slow, not failing)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import GraphError, GraphForeignLink
from .urls import Params

if TYPE_CHECKING:
    from .client import GraphClient

# A guard against a server that keeps handing out links forever.
MAX_PAGES = 10_000


@dataclass(frozen=True)
class DeltaResult:
    items: list[dict[str, Any]]  # changed items, and `{"id", "@removed": {...}}` for deleted ones
    delta_link: str  # where the next round starts


def _link(client: GraphClient, page: Mapping[str, Any], name: str) -> str | None:
    link = page.get(name)
    if link is None:
        return None
    if not isinstance(link, str) or not client.owns(link):
        raise GraphForeignLink(f"Refused an {name} outside the Graph base URL.", graph_code="ForeignLink")
    return link


def iter_pages(
    client: GraphClient,
    path: str,
    *,
    params: Params | None = None,
    prefer: str | Sequence[str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Each page of a collection; `params` apply to the first request only (the nextLink carries
    them on), while `prefer`/`headers` go with every page, as Graph expects."""
    url: str | None = path
    first = True
    for _ in range(MAX_PAGES):
        if url is None:
            return
        page = client.get(url, params=params if first else None, prefer=prefer, headers=headers)
        first = False
        yield page
        url = _link(client, page, "@odata.nextLink")
    raise GraphError(f"More than {MAX_PAGES} pages; giving up.", graph_code="TooManyPages")


def iter_items(
    client: GraphClient,
    path: str,
    *,
    params: Params | None = None,
    prefer: str | Sequence[str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Iterator[dict[str, Any]]:
    for page in iter_pages(client, path, params=params, prefer=prefer, headers=headers):
        value = page.get("value")
        if isinstance(value, list):
            yield from (item for item in value if isinstance(item, dict))


def delta(
    client: GraphClient,
    path_or_link: str,
    *,
    params: Params | None = None,
    prefer: str | Sequence[str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> DeltaResult:
    """One delta round: from a start path (with its window `params`) or a saved deltaLink, follow
    nextLinks until the deltaLink. Raises GraphGone (410 / syncStateNotFound / resyncRequired)
    when Graph wants a full resync."""
    items: list[dict[str, Any]] = []
    for page in iter_pages(client, path_or_link, params=params, prefer=prefer, headers=headers):
        value = page.get("value")
        if isinstance(value, list):
            items.extend(item for item in value if isinstance(item, dict))
        if "@odata.nextLink" in page:
            continue
        delta_link = _link(client, page, "@odata.deltaLink")
        if delta_link is None:
            raise GraphError("A delta page had neither a nextLink nor a deltaLink.", graph_code="NoDeltaLink")
        return DeltaResult(items, delta_link)
    raise GraphError("A delta round ended without a deltaLink.", graph_code="NoDeltaLink")
