"""/graphql's errors in Korean for a request whose Accept-Language prefers Korean.

The message changes language; `extensions.code`, the paths, the locations and the data do not.
Without such a header nothing changes. Each test runs on both engines (compiled and strawberry).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gateway.state import state_of
from mpe_kit import db

from .conftest import Running, hub_caught_up, new_key

pytestmark = pytest.mark.usefixtures("seeded")

KOREAN = {"Accept-Language": "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7"}  # what a Korean browser sends
HANGUL = re.compile(r"[가-힣]")


async def _both(client: httpx.AsyncClient, body: dict[str, Any]) -> tuple[httpx.Response, httpx.Response]:
    """The answer to `body` without a language asked, then with Korean asked."""
    english = await client.post("/graphql", json=body)
    korean = await client.post("/graphql", json=body, headers=KOREAN)
    return english, korean


def _same_but_messages(english: dict[str, Any], korean: dict[str, Any]) -> None:
    """The two answers differ in their errors' messages alone (and `dataAsOf`'s instant)."""
    english.pop("extensions")
    korean.pop("extensions")
    assert korean.get("data") == english.get("data")
    assert len(korean["errors"]) == len(english["errors"])
    for k, e in zip(korean["errors"], english["errors"], strict=True):
        assert {**k, "message": None} == {**e, "message": None}
        assert HANGUL.search(k["message"]), k
        assert not HANGUL.search(e["message"]), e


@pytest.fixture
async def client(conn: db.Conn, gateway: Callable[[str], httpx.AsyncClient]) -> httpx.AsyncClient:
    """A key that reads the catalog only."""
    return gateway((await new_key(conn, "catalog:read")).secret)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ technologies(first: 500) { totalCount } }", "BAD_USER_INPUT"),
        ('{ technologies(first: 5, after: "nope") { totalCount } }', "BAD_USER_INPUT"),
        ("{ technologies(first: 5) { totalCount nope } }", "GRAPHQL_VALIDATION_FAILED"),
        ('{ technologies(first: "ten") { totalCount } }', "GRAPHQL_VALIDATION_FAILED"),
        ("{ technologies(first: 5) { totalCount }", "GRAPHQL_PARSE_FAILED"),
        ("{ firms(first: 5) { totalCount } }", "FORBIDDEN"),
        (
            "{ revisions(first: 100) { edges { node { changes { technology { code } } } } } }",
            "QUERY_TOO_COSTLY",
        ),
    ],
    ids=[
        "first-too-large",
        "not-a-cursor",
        "unknown-field",
        "wrong-type",
        "syntax",
        "forbidden",
        "too-costly",
    ],
)
async def test_an_error_is_in_korean_when_korean_is_preferred(
    client: httpx.AsyncClient, query: str, code: str
) -> None:
    english, korean = await _both(client, {"query": query})
    assert english.status_code == korean.status_code == 200
    assert "content-language" not in english.headers
    assert korean.headers["content-language"] == "ko"
    assert "Accept-Language" in english.headers["vary"]
    assert "Accept-Language" in korean.headers["vary"]
    e, k = english.json(), korean.json()
    assert [x["extensions"]["code"] for x in e["errors"]] == [code]
    _same_but_messages(e, k)


async def test_a_forbidden_error_names_its_scope_in_korean(client: httpx.AsyncClient) -> None:
    _, korean = await _both(client, {"query": "{ firms(first: 5) { totalCount } }"})
    [error] = korean.json()["errors"]
    assert error["message"] == "이 키에는 firms:read 범위(scope)가 없습니다."
    assert error["extensions"] == {"code": "FORBIDDEN", "scope": "firms:read"}


async def test_a_refused_request_is_answered_in_korean(client: httpx.AsyncClient) -> None:
    two = {"query": "query A { technologies(first: 1) { totalCount } } query B { __typename }"}
    english, korean = await _both(client, two)
    assert english.status_code == korean.status_code == 400
    assert korean.headers["content-language"] == "ko"
    assert korean.json()["errors"][0]["message"] == (
        "문서에 연산이 2개 있습니다. 실행할 연산을 `operationName`으로 골라 보내십시오."
    )
    assert english.json()["errors"][0]["message"].startswith("The document has 2 operations")
    r = await client.post(
        "/graphql", content=b"{not json", headers={**KOREAN, "content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["message"] == "본문이 올바른 JSON이 아닙니다."


async def test_the_cache_answers_each_language_in_its_own(
    client: httpx.AsyncClient, gateway_app: Running, conn: db.Conn
) -> None:
    # BAD_USER_INPUT depends on the request alone, so the cache keeps it: the second, third and
    # fourth answers come from it, each in the language it asks.
    await hub_caught_up(gateway_app.app, conn)
    responses = state_of(gateway_app.app).graphql.responses
    hits = responses.hits
    body = {"query": "{ technologies(first: 0) { totalCount } }"}
    answers = [
        await client.post("/graphql", json=body, headers=headers) for headers in ({}, KOREAN, {}, KOREAN)
    ]
    assert responses.hits - hits == 3
    messages = [r.json()["errors"][0]["message"] for r in answers]
    assert messages[0] == messages[2] == "`first` must be between 1 and 100; got 0."
    assert messages[1] == messages[3] == "`first`는 1에서 100 사이여야 합니다. 받은 값: 0."


async def test_english_first_or_no_korean_changes_nothing(client: httpx.AsyncClient) -> None:
    body = {"query": "{ technologies(first: 500) { totalCount } }"}
    plain = (await client.post("/graphql", json=body)).json()
    for header in ("en-US,en;q=0.9,ko;q=0.8", "ko;q=0", "fr-FR", "*"):
        r = await client.post("/graphql", json=body, headers={"Accept-Language": header})
        assert "content-language" not in r.headers, header
        got = r.json()
        got.pop("extensions")
        assert got == {k: v for k, v in plain.items() if k != "extensions"}, header


async def test_an_answer_without_errors_is_the_same_in_either_language(client: httpx.AsyncClient) -> None:
    english, korean = await _both(
        client, {"query": "{ technologies(first: 3) { totalCount edges { node { code } } } }"}
    )
    assert "content-language" not in korean.headers
    e, k = english.json(), korean.json()
    e.pop("extensions")
    k.pop("extensions")
    assert e == k
    assert "errors" not in k
