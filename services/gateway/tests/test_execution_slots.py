"""Execution slots: past an instance's capacity a request waits a bounded time, then gets 503."""

from __future__ import annotations

import asyncio
import time

import pytest
import structlog

from gateway.http.endpoint import GraphQLHTTP
from gateway.settings import GatewaySettings
from mpe_kit import db

from .conftest import new_key
from .test_access import serving
from .test_changes_feed import until

pytestmark = pytest.mark.usefixtures("seeded")

NAME = "query($code: String!) { technology(code: $code) { code nameEn } }"


async def test_a_request_that_finds_every_slot_taken_is_told_to_retry(conn: db.Conn, gateway_db: str) -> None:
    key = await new_key(conn, "catalog:read")
    async with serving(gateway_db, graphql_executions=1, graphql_queue_wait_s=0.3) as served:
        state: GraphQLHTTP = served.app.state.gateway.graphql
        settings: GatewaySettings = served.app.state.settings
        async with state.executions.slot(settings):  # a long query holds the only slot
            t0 = time.monotonic()
            with structlog.testing.capture_logs() as logs:
                refused = await served.query(key.secret, NAME, code="SEMI-004")
            waited = time.monotonic() - t0
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["content-type"] == "application/problem+json"
        body = refused.json()
        assert body["retry_after_s"] == 1
        assert "all 1 of its query slots stayed busy for 0.3 s" in body["detail"]
        assert waited >= 0.3
        assert [e["outcome"] for e in logs if e["event"] == "graphql request"] == ["busy"]
        assert state.executions.waiting == 0
        # The slot is free again: the same request is answered.
        again = await served.query(key.secret, NAME, code="SEMI-004")
        assert again.status_code == 200
        assert again.json()["data"]["technology"]["code"] == "SEMI-004"


async def test_a_request_waits_for_a_slot_that_frees_up_in_time(conn: db.Conn, gateway_db: str) -> None:
    key = await new_key(conn, "catalog:read")
    async with serving(gateway_db, graphql_executions=1, graphql_queue_wait_s=5) as served:
        state: GraphQLHTTP = served.app.state.gateway.graphql
        settings: GatewaySettings = served.app.state.settings
        async with state.executions.slot(settings):
            waiting = asyncio.create_task(served.query(key.secret, NAME, code="SEMI-005"))
            await until(lambda: state.executions.waiting == 1)
            assert not waiting.done()
        answered = await waiting
        assert answered.status_code == 200
        assert answered.json()["data"]["technology"]["code"] == "SEMI-005"


async def test_many_requests_at_once_share_the_slots_and_are_all_answered(
    conn: db.Conn, gateway_db: str
) -> None:
    key = await new_key(conn, "catalog:read")
    async with serving(
        gateway_db, graphql_executions=2, graphql_queue_wait_s=10, response_cache_size=0
    ) as served:
        state: GraphQLHTTP = served.app.state.gateway.graphql
        codes = [f"SEMI-00{n}" for n in range(1, 6)] * 4
        answers = await asyncio.gather(*(served.query(key.secret, NAME, code=c) for c in codes))
        assert [a.status_code for a in answers] == [200] * len(codes)
        assert [a.json()["data"]["technology"]["code"] for a in answers] == codes
        assert state.executions.waiting == 0
        # Every slot came back: two can be held at once again, and no third.
        settings: GatewaySettings = served.app.state.settings
        async with state.executions.slot(settings), state.executions.slot(settings):
            assert state.executions._free.locked()


async def test_an_answer_from_the_response_cache_takes_no_slot(conn: db.Conn, gateway_db: str) -> None:
    key = await new_key(conn, "catalog:read")
    async with serving(gateway_db, graphql_executions=1, graphql_queue_wait_s=0.2) as served:
        state: GraphQLHTTP = served.app.state.gateway.graphql
        settings: GatewaySettings = served.app.state.settings
        first = await served.query(key.secret, NAME, code="SEMI-004")
        async with state.executions.slot(settings):
            cached = await served.query(key.secret, NAME, code="SEMI-004")
            other = await served.query(key.secret, NAME, code="SEMI-005")
        assert cached.status_code == 200
        assert cached.json()["data"] == first.json()["data"]
        assert other.status_code == 503
