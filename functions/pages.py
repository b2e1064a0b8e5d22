"""The booking page, the manage page, the settings page and their static assets, served from `web/`
(anonymous, GET): no build step, no third-party resources, no inline script.

- `GET /book/{slug}`                 the public booking page (`?embed=1`: the compact, framable variant)
- `GET /book/manage/{bookingId}`     the attendee's manage page (`#token=` the manage token)
- either with `?embedOrigin=<origin>`: embedded by that page of the product, which gets the page's
  `slotbridge:booking_*` messages (README, *Embedding the booking page*)
- `GET /settings`                    a host's settings page (the user token in the URL fragment `#token=`)
- `GET /web/{file}`                  scripts, styles and images of those pages

Every answer has a strict Content-Security-Policy (scripts, styles and requests from this origin only),
`X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer` (the manage URL carries a token).
Pages are `no-store`; assets are cacheable for a few minutes with an ETag. Asset names are one path
segment from an allowlist of characters and extensions, resolved inside `web/` — nothing else is read.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import azure.functions as func

from functions.http_io import problem_response, traced
from lib.core.errors import FieldError, NotFound, ValidationFailed
from lib.core.input_rules import text_fault
from lib.core.settings import get_settings

bp = func.Blueprint()

WEB = Path(__file__).resolve().parent.parent / "web"
ASSET_MAX_AGE_S = 300

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_BOOKING_ID = re.compile(r"^[0-9a-fA-F-]{1,64}$")
_ASSET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.(js|css|svg|png|ico)$")
CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml",
    "png": "image/png",
    "ico": "image/x-icon",
}


@dataclass(frozen=True)
class _File:
    body: bytes
    etag: str
    mtime_ns: int


_cache: dict[Path, _File] = {}


def _read(path: Path) -> _File:
    """The file's bytes and ETag, cached until its modification time changes."""
    mtime = path.stat().st_mtime_ns
    cached = _cache.get(path)
    if cached is None or cached.mtime_ns != mtime:
        body = path.read_bytes()
        cached = _File(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"', mtime)
        _cache[path] = cached
    return cached


def _base_headers() -> dict[str, str]:
    return {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def content_security_policy(frame_ancestors: str) -> str:
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; manifest-src 'none'; "
        f"frame-ancestors {frame_ancestors}"
    )


def _framable_by_product() -> str:
    # The product's own pages (SLOTBRIDGE_ALLOWED_ORIGINS) may embed the booking and settings pages.
    origins = [o for o in get_settings().allowed_origins if re.fullmatch(r"https?://[A-Za-z0-9.:\[\]-]+", o)]
    return " ".join(["'self'", *origins])


def _embed_origin(req: func.HttpRequest) -> str | None:
    """The origin named by `?embedOrigin=` if it is one of SLOTBRIDGE_ALLOWED_ORIGINS (canonical
    form), else None (a page any visitor may open still works). The page posts its events to this
    origin only - postMessage delivers nothing when the parent is another origin - and only this
    origin (besides the app) may frame it. Text no origin can hold is `ValidationFailed`."""
    from lib.features.connections.return_urls import allowed_origin

    named = req.params.get("embedOrigin")
    if named and (fault := text_fault(named)) is not None:
        raise ValidationFailed("The embedding origin is not valid.", [FieldError("embedOrigin", fault)])
    return allowed_origin(named, get_settings().allowed_origins)


def _not_found(what: str) -> func.HttpResponse:
    response = problem_response(NotFound(f"No {what} here."))
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _assets_base(req: func.HttpRequest, route_start: str) -> str:
    """The URL path of `web/` as this request sees it (`/api/web` under the default routePrefix)."""
    path = urlsplit(req.url).path
    cut = path.rfind("/" + route_start)
    prefix = path[:cut] if cut >= 0 else ""
    return f"{prefix}/web"


def _page(req: func.HttpRequest, name: str, route_start: str, frame_ancestors: str) -> func.HttpResponse:
    page = _read(WEB / name)
    try:
        embed_origin = _embed_origin(req)
    except ValidationFailed as invalid:
        return problem_response(invalid)
    if embed_origin is not None:
        frame_ancestors = f"'self' {embed_origin}"  # exactly the embedder named
    body = page.body.replace(b"{{ASSETS}}", _assets_base(req, route_start).encode()).replace(
        b"{{EMBED_ORIGIN}}", html.escape(embed_origin or "", quote=True).encode()
    )
    return func.HttpResponse(
        body,
        status_code=200,
        headers={
            **_base_headers(),
            "Content-Type": CONTENT_TYPES["html"],
            "Content-Security-Policy": content_security_policy(frame_ancestors),
            "Cache-Control": "no-store",
        },
    )


@bp.route(route="book/{slug}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@traced
def booking_page(req: func.HttpRequest) -> func.HttpResponse:
    if not _SLUG.match(req.route_params.get("slug", "")):
        return _not_found("booking page")
    return _page(req, "book.html", "book/", _framable_by_product())


@bp.route(route="book/manage/{bookingId}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@traced
def manage_page(req: func.HttpRequest) -> func.HttpResponse:
    if not _BOOKING_ID.match(req.route_params.get("bookingId", "")):
        return _not_found("booking")
    return _page(req, "manage.html", "book/manage/", "'self'")


@bp.route(route="settings", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@traced
def settings_page(req: func.HttpRequest) -> func.HttpResponse:
    return _page(req, "settings.html", "settings", _framable_by_product())


@bp.route(route="web/{file}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@traced
def web_asset(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("file", "")
    match = _ASSET.match(name)
    if match is None:
        return _not_found("file")
    path = (WEB / name).resolve()
    if path.parent != WEB or not path.is_file():
        return _not_found("file")
    asset = _read(path)
    headers = {
        **_base_headers(),
        "Content-Type": CONTENT_TYPES[match.group(1)],
        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
        "Cache-Control": f"public, max-age={ASSET_MAX_AGE_S}",
        "ETag": asset.etag,
    }
    if asset.etag in {t.strip() for t in (req.headers.get("if-none-match") or "").split(",")}:
        return func.HttpResponse(status_code=304, headers=headers)
    return func.HttpResponse(asset.body, status_code=200, headers=headers)
