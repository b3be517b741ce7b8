"""Out-of-range values for every integer and date parameter an OpenAPI document declares.

A service must answer them with a 4xx, never a 500: a value that Postgres cannot hold (an
int4 past 2^31) or that no program date can be. Tests walk a service's own document, so a
new route is checked the day it is added.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Past every column type we use (int4, int8) and every date Python or Postgres parses.
_HUGE = [2**31, 2**63, -(2**63) - 1, 10**30]
_DATES = ["0000-01-01", "10000-01-01", "2024-02-30", "-2024-01-01"]


@dataclass(frozen=True)
class Probe:
    """One request with one parameter out of range."""

    method: str
    path: str
    params: dict[str, str]
    parameter: str
    value: str


def _schema(param: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = param.get("schema", {})
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return dict(option)
    return schema


def unbounded_integers(openapi: dict[str, Any]) -> list[str]:
    """`METHOD path parameter` of each integer parameter without both a minimum and a maximum."""
    out = []
    for path, method, param in _parameters(openapi):
        schema = _schema(param)
        if schema.get("type") == "integer" and not (
            ("minimum" in schema or "exclusiveMinimum" in schema)
            and ("maximum" in schema or "exclusiveMaximum" in schema)
        ):
            out.append(f"{method.upper()} {path} {param['name']}")
    return out


def probes(openapi: dict[str, Any]) -> Iterator[Probe]:
    """A request per out-of-range value of each integer and date parameter."""
    for path, method, param in _parameters(openapi):
        schema = _schema(param)
        values: list[str] = []
        if schema.get("type") == "integer":
            edges = (
                [schema.get("minimum", 0) - 1, schema.get("maximum", 0) + 1] if "maximum" in schema else []
            )
            values = [str(v) for v in [*edges, *_HUGE]]
        elif schema.get("format") == "date":
            values = list(_DATES)
        for value in values:
            params: dict[str, str] = {}
            concrete = path
            for other in openapi["paths"][path][method].get("parameters", []):
                if other["in"] == "path":
                    filler = value if other["name"] == param["name"] else _filler(_schema(other))
                    concrete = concrete.replace("{" + other["name"] + "}", filler)
            if param["in"] == "query":
                params[param["name"]] = value
            yield Probe(method.upper(), concrete, params, param["name"], value)


def _filler(schema: dict[str, Any]) -> str:
    if schema.get("type") == "integer":
        return str(schema.get("minimum", 1))
    if schema.get("format") == "uuid":
        return "00000000-0000-0000-0000-000000000000"
    return "X"


def _parameters(openapi: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            for param in operation.get("parameters", []):
                if param["in"] in ("query", "path"):
                    yield path, method, param


# A query parameter no route of ours takes.
NOT_A_PARAMETER = "not_a_parameter"


def unknown_query_probes(openapi: dict[str, Any]) -> Iterator[Probe]:
    """A request per operation of the API (`/v1/`; the health probes take anything) with a query
    parameter it does not take, and one per snake_case query parameter written in camelCase
    (`asOf` for `as_of`), as a GraphQL habit would."""
    for path, methods in openapi["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in methods.items():
            declared = operation.get("parameters", [])
            concrete = path
            for param in declared:
                if param["in"] == "path":
                    concrete = concrete.replace("{" + param["name"] + "}", _filler(_schema(param)))
            yield Probe(method.upper(), concrete, {NOT_A_PARAMETER: "1"}, NOT_A_PARAMETER, "1")
            for param in declared:
                name = param["name"]
                if param["in"] == "query" and "_" in name:
                    head, *rest = name.split("_")
                    camel = head + "".join(part.title() for part in rest)
                    yield Probe(method.upper(), concrete, {camel: "1"}, camel, name)


async def unknown_query_refusals(client: Any) -> tuple[int, int]:
    """Send every `/v1/` operation of the service's document a parameter it does not take (and
    its snake_case parameters in camelCase); assert each is a 422 naming exactly that parameter,
    a camelCase one pointed to its snake_case form. Returns (operations, camelCase probes)."""
    openapi = (await client.get("/openapi.json")).json()
    tried = camel = 0
    for probe in unknown_query_probes(openapi):
        r = await client.request(probe.method, probe.path, params=probe.params, json={})
        assert r.status_code == 422, (probe, r.status_code, r.text)
        errors = r.json()["errors"]
        assert [e["field"] for e in errors] == [probe.parameter], (probe, r.text)
        if probe.parameter != NOT_A_PARAMETER:  # a snake_case parameter written in camelCase
            assert errors[0]["message"].endswith(f"did you mean {probe.value}?"), (probe, r.text)
            camel += 1
        tried += 1
    operations = sum(len(methods) for path, methods in openapi["paths"].items() if path.startswith("/v1/"))
    assert tried == operations + camel
    return operations, camel
