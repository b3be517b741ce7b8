"""What a subscription's errors say: masked when unexpected, and in Korean on a socket that asks.

A subscription's results are sent one by one over the socket (strawberry's `on_stream_result`),
not as one answer at the end: each is shaped as /graphql shapes its answer.
"""

from __future__ import annotations

import json

import pytest
from websockets.asyncio.client import connect

from gateway import store

from .conftest import new_key
from .test_changes_feed import tech
from .test_subscriptions import (
    PROTOCOL,
    Server,
    errors_of,
    open_socket,
    receive,
    serving,
    subscribe,
    until_subscribed,
)

KOREAN = {"Accept-Language": "ko-KR,ko;q=0.9"}


@pytest.fixture
async def server(gateway_db: str):  # type: ignore[no-untyped-def]
    async with serving(gateway_db) as served:
        yield served


async def test_an_unexpected_error_mid_stream_is_masked_with_a_correlation_id(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("secret detail of the database")

    ws = await open_socket(server, (await new_key(server.conn, "catalog:read")).secret)
    try:
        await subscribe(ws, "1", "subscription { technologyChanged { code } }")
        await until_subscribed(server, 1)
        monkeypatch.setattr(store.described, "rows_by_key", broken)
        await server.project(tech("SEMI-001", 1))
        (error,) = errors_of(await receive(ws))
    finally:
        await ws.close()
    assert "secret" not in str(error), error
    assert error["message"] == "Internal server error."
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert len(error["extensions"]["correlationId"]) == 32


async def test_a_socket_that_asks_for_korean_gets_its_errors_in_korean(server: Server) -> None:
    key = (await new_key(server.conn, "catalog:read")).secret
    ws = await connect(server.url, subprotocols=[PROTOCOL], additional_headers=KOREAN)
    try:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"X-API-Key": key}}))
        assert await receive(ws) == {"type": "connection_ack"}
        await subscribe(ws, "1", "subscription { designationChanged { id } }")
        (forbidden,) = errors_of(await receive(ws))
        await subscribe(ws, "2", "subscription { technologyChanged { code nope } }")
        (unknown,) = errors_of(await receive(ws))
        await subscribe(ws, "3", "query A { __typename } query B { __typename }")
        (two,) = errors_of(await receive(ws))
    finally:
        await ws.close()
    assert forbidden["message"] == "이 키에는 firms:read 범위(scope)가 없습니다."
    assert forbidden["extensions"] == {"code": "FORBIDDEN", "scope": "firms:read"}
    assert unknown["message"].startswith("'Technology' 타입에는 'nope' 필드가 없습니다.")
    assert two["message"].startswith("문서에 연산이 2개 있습니다.")
