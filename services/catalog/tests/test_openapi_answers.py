"""The catalog's answers agree with its OpenAPI document: what schemathesis found, kept fixed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .test_api import add, assert_problem, publish, revision

P = pytest.param


@pytest.fixture
def api(catalog: httpx.AsyncClient) -> httpx.AsyncClient:
    """The catalog app, with an editor token."""
    return catalog


async def document(api: httpx.AsyncClient) -> dict[str, Any]:
    body: dict[str, Any] = (await api.get("/openapi.json")).json()
    return body


async def test_every_error_status_is_documented_as_a_problem(api: httpx.AsyncClient) -> None:
    doc = await document(api)
    assert "Problem" in doc["components"]["schemas"]
    assert doc["components"]["securitySchemes"]["staffToken"]["scheme"] == "bearer"
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            errors = {s: r for s, r in op["responses"].items() if s.startswith(("4", "5"))}
            assert {"414", "503"} <= set(errors), (method, path)
            if path.startswith("/v1/"):
                assert {"401", "403"} <= set(errors), (method, path)
            if "{" in path:
                assert "404" in errors, (method, path)
            if method != "get":
                assert "409" in errors, (method, path)
            for status, answer in errors.items():
                if path == "/readyz":
                    continue  # its 503 is the readiness body, documented as such
                assert list(answer["content"]) == ["application/problem+json"], (method, path, status)
    cursor = next(p for p in doc["paths"]["/v1/industries"]["get"]["parameters"] if p["name"] == "cursor")
    assert cursor["schema"]["anyOf"][0]["minLength"] == 1


async def test_an_empty_cursor_is_a_documented_422(api: httpx.AsyncClient) -> None:
    assert_problem(await api.get("/v1/industries", params={"cursor": ""}), 422, "cursor")


@pytest.mark.parametrize(
    "fields",
    [
        P({"decided_on": 0}, id="integer"),
        P({"effective_on": "0"}, id="digit-string"),
        P({"decided_on": "20240110"}, id="basic-format"),
    ],
)
async def test_a_day_is_only_yyyy_mm_dd(api: httpx.AsyncClient, fields: dict[str, Any]) -> None:
    body = {**revision([add("SEMI-001")]), **fields}
    assert_problem(await api.post("/v1/revisions", json=body), 422, next(iter(fields)))


async def test_as_of_is_only_yyyy_mm_dd(api: httpx.AsyncClient) -> None:
    assert_problem(await api.get("/v1/technologies", params={"as_of": "0"}), 422, "as_of")
    assert (await api.get("/v1/technologies", params={"as_of": "2024-01-01"})).status_code == 200


async def test_a_405_allows_every_method_of_the_path(api: httpx.AsyncClient) -> None:
    for path, allowed in [
        ("/v1/industries", "GET, POST"),
        ("/v1/revisions/00000000-0000-0000-0000-000000000000", "DELETE, GET, PATCH"),
    ]:
        r = await api.request("PUT", path)
        assert_problem(r, 405)
        assert r.headers["allow"] == allowed


async def test_a_conflict_names_its_field_with_a_message(api: httpx.AsyncClient) -> None:
    await api.post("/v1/industries", json={"code": "SEMI", "name_en": "Semiconductors", "name_ko": "반도체"})
    await publish(api, [add("SEMI-001")])
    resp = await api.post("/v1/revisions", json=revision([add("SEMI-001")]))
    body = assert_problem(resp, 409)
    assert body["errors"] == [{"field": "changes[0]", "message": "technology SEMI-001 already exists"}]
