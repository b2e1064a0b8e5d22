"""HTTP route templates as the Functions host matches them: `{name}` segments, constraints such as
`{id:int}` / `{id:guid}` / `{id:alpha}` / `{flag:bool}`, optional `{name?}` and catch-all `{*rest}`.
Literal segments win over parameters, and literals match in any case (`/API/Links/x` is `/api/links/x`),
as in ASP.NET Core routing; parameter values keep the case they were sent in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

_PARAM = re.compile(r"^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?(\?)?\}$")
_CONSTRAINTS = {
    None: r"[^/]+",
    "int": r"-?\d+",
    "long": r"-?\d+",
    "guid": r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    "alpha": r"[A-Za-z]+",
    "bool": r"(?i:true|false)",
}


class RouteTemplateError(ValueError):
    pass


@dataclass(frozen=True)
class Route:
    template: str
    regex: re.Pattern[str]
    # Lower sorts first: literals (0) before constrained (1) before plain (2) before catch-all (3).
    precedence: tuple[int, ...] = field(compare=False)

    def match(self, path: str) -> dict[str, str] | None:
        m = self.regex.match(path)
        if not m:
            return None
        return {k: unquote(v) for k, v in m.groupdict().items() if v is not None}


def compile_route(template: str) -> Route:
    pattern = ""
    precedence: list[int] = []
    for segment in [s for s in template.strip("/").split("/") if s]:
        param = _PARAM.match(segment)
        if param is None:
            if "{" in segment or "}" in segment:
                raise RouteTemplateError(f"unsupported route segment {segment!r} in {template!r}")
            pattern += "/" + re.escape(segment)
            precedence.append(0)
            continue
        catch_all, name, constraint, optional = param.groups()
        if constraint not in _CONSTRAINTS:
            raise RouteTemplateError(f"unsupported constraint {constraint!r} in {template!r}")
        if catch_all:
            pattern += f"(?:/(?P<{name}>.*))?"
            precedence.append(3)
        else:
            body = f"/(?P<{name}>{_CONSTRAINTS[constraint]})"
            pattern += f"(?:{body})?" if optional else body
            precedence.append(1 if constraint else 2)
    return Route(template, re.compile(f"^{pattern}/?$", re.IGNORECASE), tuple(precedence))
