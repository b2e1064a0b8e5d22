"""openapi.yaml shows every operation by example, and its examples are true: every request body
and success answer of every operation (and of every webhook event) has an example, every problem
answer has one, and each example validates against its own schema (OpenAPI 3.1, formats checked),
against the edge model of `lib.api.spec.CONTRACT` where there is one, and a problem example is what
`lib.core.errors.Problem` writes for its code."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from typing import Any

import pytest

from lib.api.spec import CONTRACT, ContractSchema
from tests.fixtures.openapi_spec import SPEC, pointer, schema_errors

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
PROBLEM = "application/problem+json"


def _at(at: str) -> Any:
    """The node at a JSON pointer into the spec."""
    node: Any = SPEC
    for part in at.removeprefix("/").split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    """A `$ref` to a component (response, example) as the component it names."""
    while "$ref" in node:
        node = _at(node["$ref"].removeprefix("#"))
    return node


def _operations() -> Iterator[tuple[str, tuple[str, ...], dict[str, Any]]]:
    """Every operation: its label, its place in the spec and the operation."""
    for section in ("paths", "webhooks"):
        for route, item in SPEC.get(section, {}).items():
            for method in HTTP_METHODS:
                if method in item:
                    yield f"{method.upper()} {route}", (section, route, method), item[method]


OPERATIONS = list(_operations())


def _example_values(media: dict[str, Any]) -> list[Any]:
    if "example" in media:
        return [media["example"]]
    return [_resolve(e)["value"] for e in media.get("examples", {}).values()]


def _success_media(operation: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for status, response in operation["responses"].items():
        if str(status).startswith("2"):
            for media_type, media in _resolve(response).get("content", {}).items():
                yield str(status), media_type, media


@pytest.mark.parametrize(("label", "where", "operation"), OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_every_operation_has_a_request_and_a_success_example(
    label: str, where: tuple[str, ...], operation: dict[str, Any]
) -> None:
    missing = [
        f"request {media_type}"
        for media_type, media in _resolve(operation.get("requestBody", {})).get("content", {}).items()
        if not _example_values(media)
    ]
    missing += [
        f"{status} {kind}" for status, kind, media in _success_media(operation) if not _example_values(media)
    ]
    assert missing == [], f"{label}: no example for {missing}"
    assert any(str(s).startswith(("2", "3")) for s in operation["responses"]), f"{label}: no success answer"


def _problem_responses() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, response in SPEC["components"]["responses"].items():
        if PROBLEM in response.get("content", {}):
            yield f"components/responses/{name}", response
    for label, _, operation in OPERATIONS:
        for status, response in operation["responses"].items():
            if "$ref" not in response and PROBLEM in response.get("content", {}):
                yield f"{label} {status}", response


PROBLEM_RESPONSES = list(_problem_responses())


@pytest.mark.parametrize(("label", "response"), PROBLEM_RESPONSES, ids=[p[0] for p in PROBLEM_RESPONSES])
def test_every_problem_answer_has_an_example_of_a_code_it_names(label: str, response: dict[str, Any]) -> None:
    examples = _example_values(response["content"][PROBLEM])
    assert examples, f"{label}: no problem example"
    for example in examples:
        assert f"`{example['code']}`" in response["description"], f"{label}: {example['code']} not described"


def _problem_classes() -> set[tuple[str, int, str]]:
    """(code, status, title) of every error class the app raises (every module of lib/ loaded, so
    every class is defined)."""
    import lib
    from lib.core.errors import SlotbridgeError

    for module in pkgutil.walk_packages(lib.__path__, "lib."):
        importlib.import_module(module.name)
    found: set[tuple[str, int, str]] = set()
    stack: list[type[SlotbridgeError]] = [SlotbridgeError]
    while stack:
        cls = stack.pop()
        found.add((cls.code, cls.status, cls.title))
        stack += cls.__subclasses__()
    return found


def test_every_problem_example_is_what_the_app_writes_for_its_code(
    monkeypatch_module: pytest.MonkeyPatch,
) -> None:
    classes = _problem_classes()
    for label, response in PROBLEM_RESPONSES:
        for example in _example_values(response["content"][PROBLEM]):
            assert example["type"] == f"https://slotbridge.dev/problems/{example['code']}", label
            written = (example["code"], example["status"], example["title"])
            assert written in classes, f"{label}: no error class writes {written}"


def _examples(node: Any, path: tuple[str, ...]) -> Iterator[tuple[str, str, Any]]:
    """Every example in the spec: where it is, the JSON pointer of the schema it shows, the value.
    Media types and parameters hold theirs next to `schema`; a schema may hold its own."""
    if isinstance(node, dict):
        if "example" in node or "examples" in node:
            if isinstance(node.get("schema"), dict):
                for value in _example_values(node):
                    yield "/".join(path), pointer(*path, "schema"), value
            else:  # a schema: one `example`, or 3.1's list of `examples`
                values = [node["example"]] if "example" in node else node["examples"]
                for value in values if isinstance(values, list) else []:
                    yield "/".join(path), pointer(*path), value
        for key, child in node.items():
            if key not in ("example", "examples"):
                yield from _examples(child, (*path, str(key)))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _examples(child, (*path, str(i)))


EXAMPLES = list(_examples(SPEC, ()))


def test_the_examples_are_found() -> None:
    assert len(EXAMPLES) > len(OPERATIONS), "the walk no longer finds the spec's examples"


@pytest.mark.parametrize(("where", "at", "value"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_every_example_validates_against_its_schema(where: str, at: str, value: Any) -> None:
    assert schema_errors(at, value) == []


def _contract_of(at: str) -> ContractSchema | None:
    """The edge model whose schema this is: an inline contract schema, or a `$ref` to a component."""
    for entry in CONTRACT:
        if pointer(*entry.where) == at:
            return entry
    node = _at(at)
    ref = node.get("$ref", "") if isinstance(node, dict) else ""
    for entry in CONTRACT:
        if entry.where[:2] == ("components", "schemas") and ref == "#" + pointer(*entry.where):
            return entry
    return None


MODEL_EXAMPLES = [
    (where, entry, value)
    for where, at, value in EXAMPLES
    if (entry := _contract_of(at)) is not None and at.startswith("/paths/")
]


@pytest.mark.parametrize(("where", "entry", "value"), MODEL_EXAMPLES, ids=[e[0] for e in MODEL_EXAMPLES])
def test_every_body_example_is_one_the_edge_model_reads_or_writes(
    where: str, entry: ContractSchema, value: Any
) -> None:
    """A request example is one the model accepts; an answer example is exactly what the model
    writes back (no field it does not know, every date-time in the form the app writes)."""
    if entry.mode == "validation":
        entry.model.model_validate(value)
        return
    read = getattr(entry.model, "answer", entry.model.model_validate)  # WireModel.answer, or a RootModel
    assert read(value).model_dump(mode="json", by_alias=True, exclude_unset=True) == value
