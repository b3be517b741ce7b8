"""Request limits on the gateway behind a real HTTP server: a huge query is refused before it is read."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.settings import GatewaySettings
from mpe_devstack.rawhttp import exchange
from mpe_devstack.testing import uvicorn_serving
from mpe_kit import bodylimit, db

from .conftest import new_key

LIMIT = 256 * 1024
PART = 64 * 1024


@contextlib.asynccontextmanager
async def serving(settings: GatewaySettings) -> AsyncIterator[int]:
    """The gateway as it is served in production (its HTTP parser and options), on a free port."""
    app = create_app(settings, with_workers=False)
    async with (
        LifespanManager(app),
        uvicorn_serving(app, lifespan="off", **bodylimit.server_options(settings)) as url,
    ):
        yield int(url.rsplit(":", 1)[1])


@pytest.fixture
async def port(gateway_db: str) -> AsyncIterator[int]:
    settings = GatewaySettings(
        database_url=gateway_db, log_json=False, kafka_bootstrap="127.0.0.1:1", key_cache_ttl_s=0
    )
    assert settings.max_body_bytes == LIMIT  # the documented default
    async with serving(settings) as p:
        yield p


def post_head(secret: str, *, length: int | None) -> str:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST /graphql HTTP/1.1\r\nHost: gateway\r\nX-API-Key: {secret}\r\n"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n"
    )


def assert_problem(answer_status: int, headers: dict[str, str], body: bytes, status: int) -> None:
    assert answer_status == status, body[:300]
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == status
    assert problem["detail"]


async def test_a_30_mb_comment_is_refused_with_413_before_its_body_is_read(conn: db.Conn, port: int) -> None:
    key = await new_key(conn, "catalog:read")
    payload = json.dumps({"query": "{ __typename " + "#" * 30_000_000 + "\n}"}).encode()
    parts = [payload[i : i + PART] for i in range(0, len(payload), PART)]
    declared = await exchange(port, post_head(key.secret, length=len(payload)), parts)
    assert_problem(declared.status, declared.headers, declared.body, 413)
    assert declared.json()["limit"] == LIMIT
    # Refused on its Content-Length: far less than the body was sent when the answer came.
    assert declared.sent < len(payload) // 2

    chunked = [f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts] + [b"0\r\n\r\n"]
    counted = await exchange(port, post_head(key.secret, length=None), chunked)
    assert_problem(counted.status, counted.headers, counted.body, 413)
    # Counted while reading: the answer came once the limit was passed, not at the end.
    assert counted.sent < len(payload) // 2

    small = json.dumps({"query": "{ __typename }"}).encode()
    ok = await exchange(port, post_head(key.secret, length=len(small)), [small])
    assert ok.status == 200
    assert ok.json()["data"] == {"__typename": "Query"}


async def test_a_body_just_within_the_limit_is_read(conn: db.Conn, port: int) -> None:
    key = await new_key(conn, "catalog:read")
    padding = " " * (LIMIT - 200)
    body = json.dumps({"query": "{ __typename }" + padding}).encode()
    assert len(body) <= LIMIT
    answer = await exchange(port, post_head(key.secret, length=len(body)), [body])
    assert answer.status == 200
    assert answer.json()["data"] == {"__typename": "Query"}


async def test_a_long_url_is_a_414_problem(port: int) -> None:
    query = quote("{ __typename " + "#" * 5_000 + "\n}")
    assert 8 * 1024 < len(query) < 64 * 1024  # over our limit, under the HTTP parser's own
    answer = await exchange(port, f"GET /graphql?query={query} HTTP/1.1\r\nHost: gateway\r\n\r\n")
    assert_problem(answer.status, answer.headers, answer.body, 414)
