"""The README's "Building a product on Slotbridge" examples are true to openapi.yaml: every curl names
an operation the spec has, with the method, query parameters and headers it takes, a JSON body
its request schema accepts, and answer statuses it documents."""

from __future__ import annotations

import itertools
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[3]
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text())
SECTION = "## Building a product on Slotbridge"


def _guide() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index(SECTION)
    return readme[start : readme.index("\n## ", start + len(SECTION))]


def _commands(block: str) -> list[str]:
    """The block's commands, each with its continuation lines and the comment lines under it."""
    commands: list[str] = []
    pending = ""
    for line in block.splitlines():
        if not pending and line.lstrip().startswith("#") and commands:
            commands[-1] += "\n" + line
            continue
        pending = f"{pending}\n{line}" if pending else line
        try:
            shlex.split(pending.replace("\\\n", " "), comments=True)
        except ValueError:  # a quote still open: the command goes on
            continue
        if not pending.endswith("\\"):
            commands.append(pending)
            pending = ""
    assert not pending, f"unterminated command: {pending}"
    return commands


@dataclass
class Call:
    text: str
    method: str
    path: str
    query: set[str]
    headers: set[str]
    body: str | None
    statuses: set[str]


def _calls() -> tuple[list[Call], dict[str, str]]:
    calls: list[Call] = []
    variables: dict[str, str] = {}
    for block in re.findall(r"```sh\n(.*?)```", _guide(), re.DOTALL):
        for command in _commands(block):
            words = shlex.split(command.replace("\\\n", " "), comments=True)
            if re.fullmatch(r"[A-Z_]+=.*", words[0], re.DOTALL):
                name, value = words[0].split("=", 1)
                variables[name] = value
                continue
            assert words[0] == "curl", command
            method, headers, body = "GET", set(), None
            query: set[str] = set()
            for flag, value in itertools.pairwise(words):
                if flag == "-X":
                    method = value
                elif flag == "-H":
                    headers.add(value.split(":", 1)[0].lower())
                elif flag == "-d":
                    body = value
                elif flag == "--data-urlencode":
                    query.add(value.split("=", 1)[0])
            get = "-G" in words
            url = next(w for w in words if w.startswith("$BASE"))
            path, _, raw_query = url.removeprefix("$BASE").partition("?")
            query |= {pair.split("=", 1)[0] for pair in raw_query.split("&") if pair}
            assert not (get and method != "GET"), command
            statuses = set(re.findall(r"#\s*(\d{3})\b", command))
            calls.append(Call(command, method, path, query, headers, body, statuses))
    return calls, variables


def _operation(method: str, path: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    assert path.startswith("/api/"), path
    path = path.removeprefix("/api")
    for template, item in SPEC["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            operation = item[method.lower()]
            return operation, [*item.get("parameters", []), *operation.get("parameters", [])]
    raise AssertionError(f"{method} {path} is no operation of openapi.yaml")


def _resolved(parameter: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in parameter:
        name = parameter["$ref"].rsplit("/", 1)[1]
        resolved: dict[str, Any] = SPEC["components"]["parameters"][name]
        return resolved
    return parameter


def _check_body(call: Call, operation: dict[str, Any], variables: dict[str, str]) -> None:
    assert call.body is not None
    text = call.body
    edit = re.fullmatch(r"\$\(jq '\.(\w+) = (\w+)' <<<\$(\w+)\)", text)
    if edit:  # `jq '.field = value' <<<"$VAR"`: the variable's body with one field set
        field, value, name = edit.groups()
        document = json.loads(variables[name]) | {field: json.loads(value)}
    else:
        text = variables.get(text.removeprefix("$"), text)
        document = json.loads(text)
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": SPEC["components"]}).validate(document)


def test_the_product_guide_calls_only_what_the_spec_describes() -> None:
    calls, variables = _calls()
    assert len(calls) >= 18, "the guide's curl examples are no longer found"
    for call in calls:
        operation, parameters = _operation(call.method, call.path)
        declared = {_resolved(p)["name"] for p in parameters if _resolved(p)["in"] == "query"}
        assert call.query <= declared, (call.text, call.query - declared)
        header_names = {_resolved(p)["name"].lower() for p in parameters if _resolved(p)["in"] == "header"}
        assert call.headers - {"x-api-key", "content-type"} <= header_names, call.text
        schemes = {name for requirement in operation.get("security", []) for name in requirement}
        if "x-api-key" in call.headers:
            assert "apiKey" in schemes, call.text
        else:
            assert operation.get("security") == [], f"{call.text}: needs a credential"
        if call.body is not None:
            _check_body(call, operation, variables)
        assert call.statuses <= set(map(str, operation["responses"])), call.text
