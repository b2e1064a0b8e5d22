"""openapi.yaml is valid OpenAPI 3.1 and describes exactly the HTTP routes the app registers."""

from __future__ import annotations

from pathlib import Path

import yaml
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parents[3]
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text())
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head"}


def test_the_spec_is_valid_openapi() -> None:
    validate(SPEC)


def test_spec_and_routes_agree(app_routes: set[tuple[str, str]]) -> None:
    documented = {
        (path, method) for path, item in SPEC["paths"].items() for method in item if method in HTTP_METHODS
    }
    assert documented - app_routes == set(), "documented but not served"
    assert app_routes - documented == set(), "served but not documented"


def test_every_error_response_is_problem_json() -> None:
    responses = SPEC["components"]["responses"]
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS or path == "/auth/callback":
                continue
            for status, response in op["responses"].items():
                if int(status) < 400 or path == "/health":
                    continue
                resolved = responses[response["$ref"].rsplit("/", 1)[-1]] if "$ref" in response else response
                assert "application/problem+json" in resolved["content"], f"{method.upper()} {path} {status}"


def test_problem_codes_cover_every_error_class() -> None:
    import lib.core.errors as errors_module
    from lib.adapters.graph import errors as graph_errors
    from lib.adapters.identity import sign_in_errors
    from lib.features.connections import errors as connection_errors

    documented = set(SPEC["components"]["schemas"]["Problem"]["properties"]["code"]["enum"])
    classes: list[type] = []
    for module in (errors_module, connection_errors, graph_errors, sign_in_errors):
        classes += [
            v
            for v in vars(module).values()
            if isinstance(v, type) and issubclass(v, errors_module.SlotbridgeError)
        ]
    assert {c.code for c in classes} <= documented
