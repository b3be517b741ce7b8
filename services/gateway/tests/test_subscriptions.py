"""Subscriptions over graphql-transport-ws, on a real uvicorn server with a real WebSocket client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from gateway.app import create_app
from gateway.partners import keys
from gateway.read.hub import ChangeHub
from gateway.settings import GatewaySettings
from mpe_devstack.testing import uvicorn_serving
from mpe_kit import db
from mpe_kit.consumer import Event

from .conftest import batch, brn, designation, designation_event, new_key, project, project_event
from .test_changes_feed import tech, until

PROTOCOL = Subprotocol("graphql-transport-ws")
REVIEWED = date(2020, 10, 5)


@dataclass
class Server:
    """A gateway served by uvicorn on a free port, and a connection to write its read model with."""

    url: str
    hub: ChangeHub
    conn: db.Conn

    async def project(self, *events: Event) -> None:
        """Apply events as one projector batch, notification included."""
        await batch(self.conn, *events)


@pytest.fixture
async def server(gateway_db: str) -> AsyncIterator[Server]:
    async with serving(gateway_db) as served:
        yield served


@contextlib.asynccontextmanager
async def serving(gateway_db: str, **overrides: Any) -> AsyncIterator[Server]:
    settings = GatewaySettings(
        database_url=gateway_db, log_json=False, kafka_bootstrap="127.0.0.1:1", **overrides
    )
    app = create_app(settings, with_workers=False)
    async with uvicorn_serving(app, lifespan="on") as url:
        conn = await db.connect(gateway_db)
        try:
            yield Server(f"ws{url.removeprefix('http')}/graphql", app.state.gateway.changes, conn)
        finally:
            await conn.close()


async def receive(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(10):
        message: dict[str, Any] = json.loads(await ws.recv())
    return message


async def open_socket(server: Server, key: str) -> ClientConnection:
    ws = await connect(server.url, subprotocols=[PROTOCOL])
    await ws.send(json.dumps({"type": "connection_init", "payload": {"X-API-Key": key}}))
    assert await receive(ws) == {"type": "connection_ack"}
    return ws


async def subscribe(ws: ClientConnection, id: str, query: str, **variables: Any) -> None:
    await ws.send(
        json.dumps({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}})
    )


async def close_code(ws: ClientConnection) -> int:
    """The code the server closes the socket with, before it sends anything more."""
    with pytest.raises(ConnectionClosed) as closed:
        await receive(ws)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def until_subscribed(server: Server, n: int) -> None:
    await until(lambda: server.hub.subscribers == n)


async def test_a_technology_subscription_gets_each_change_that_matches_its_filter(server: Server) -> None:
    key = await new_key(server.conn, "catalog:read")
    ws = await open_socket(server, key.secret)
    try:
        await subscribe(
            ws,
            "disp",
            "subscription($industry: String) { technologyChanged(industry: $industry)"
            " { code nameEn version industry { code } } }",
            industry="DISP",
        )
        await subscribe(ws, "two", 'subscription { technologyChanged(codes: ["SEMI-002"]) { code version } }')
        await until_subscribed(server, 2)
        await server.project(tech("SEMI-001", 1), tech("DISP-001", 1, industry_code="DISP"))
        got = [await receive(ws)]
        # Each answer is the entity as it stands when it is sent: the next change waits for it.
        await server.project(tech("SEMI-002", 1), tech("DISP-001", 2, industry_code="DISP", name_en="Film"))
        got += [await receive(ws), await receive(ws)]
        by_id: dict[str, list[Any]] = {}
        for m in got:
            assert m["type"] == "next", m
            by_id.setdefault(m["id"], []).append(m["payload"]["data"]["technologyChanged"])
        assert by_id == {
            "disp": [
                {"code": "DISP-001", "nameEn": "Tech DISP-001", "version": 1, "industry": None},
                {"code": "DISP-001", "nameEn": "Film", "version": 2, "industry": None},
            ],
            "two": [{"code": "SEMI-002", "version": 1}],
        }
        await ws.send(json.dumps({"id": "two", "type": "complete"}))
        await until_subscribed(server, 1)
    finally:
        await ws.close()
    await until(lambda: server.hub.subscribers == 0)


async def test_designation_and_project_subscriptions_filter_on_the_current_state(server: Server) -> None:
    key = await new_key(server.conn, "firms:read", "budget:read")
    ws = await open_socket(server, key.secret)
    firm_a, firm_b = brn(11), brn(12)
    try:
        await subscribe(
            ws,
            "d",
            "subscription($brn: String) { designationChanged(brn: $brn, status: UNDER_REVIEW) { id status } }",
            brn=f"{firm_a[:3]}-{firm_a[3:5]}-{firm_a[5:]}",
        )
        await subscribe(
            ws,
            "p",
            'subscription { projectChanged(fiscalYear: 2024, program: "MP-2024", technology: "SEMI-009")'
            " { code status fiscalYear } }",
        )
        await until_subscribed(server, 2)
        wanted = uuid.uuid4()
        await server.project(
            designation_event(designation(wanted, firm_a)),  # applied: not under review
            designation_event(designation(uuid.uuid4(), firm_b, ("under_review", REVIEWED))),
            designation_event(designation(wanted, firm_a, ("under_review", REVIEWED))),
            project_event(project("MP-2023-001", technology_codes=["SEMI-009"])),
            project_event(project("MP-2024-001", fiscal_year=2024, program_code="MP-2024")),
            project_event(
                project(
                    "MP-2024-002",
                    fiscal_year=2024,
                    program_code="MP-2024",
                    technology_codes=["X", "SEMI-009"],
                )
            ),
        )
        got = {m["id"]: m["payload"]["data"] for m in [await receive(ws), await receive(ws)]}
        assert got == {
            "d": {"designationChanged": {"id": str(wanted), "status": "UNDER_REVIEW"}},
            "p": {"projectChanged": {"code": "MP-2024-002", "status": "PROPOSED", "fiscalYear": 2024}},
        }
    finally:
        await ws.close()


def errors_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The errors a subscription ended with: an `error` message, or a `next` that carries errors."""
    if message["type"] == "error":
        return list(message["payload"])
    assert message["type"] == "next", message
    return list(message["payload"]["errors"])


async def test_scopes_and_bad_arguments_end_a_subscription_with_an_error(server: Server) -> None:
    catalog = await open_socket(server, (await new_key(server.conn, "catalog:read")).secret)
    firms = await open_socket(server, (await new_key(server.conn, "firms:read")).secret)
    budget = await open_socket(server, (await new_key(server.conn, "budget:read")).secret)
    try:
        # Found by a probe: a year such as 20233 subscribed quietly, and nothing ever came.
        await subscribe(budget, "4", "subscription { projectChanged(fiscalYear: 20233) { code } }")
        (error,) = errors_of(await receive(budget))
        assert error["extensions"] == {"code": "BAD_USER_INPUT"}
        assert "`fiscalYear` must be between 1 and 9999" in error["message"]
        assert await receive(budget) == {"id": "4", "type": "complete"}
        await subscribe(catalog, "1", "subscription { designationChanged { id } }")
        message = await receive(catalog)
        assert message["id"] == "1"
        assert errors_of(message)[0]["extensions"] == {"code": "FORBIDDEN", "scope": "firms:read"}
        await subscribe(firms, "2", 'subscription { designationChanged(brn: "123") { id } }')
        (error,) = errors_of(await receive(firms))
        assert error["extensions"] == {"code": "BAD_USER_INPUT"}
        assert "brn" in error["message"]
        assert await receive(firms) == {"id": "2", "type": "complete"}
        await subscribe(firms, "3", "subscription { technologyChanged { code } }")
        assert errors_of(await receive(firms))[0]["extensions"]["code"] == "FORBIDDEN"
        assert server.hub.subscribers == 0
    finally:
        await catalog.close()
        await firms.close()
        await budget.close()


@pytest.mark.parametrize("payload", [{}, {"X-API-Key": "mpe_not-a-key"}, {"X-API-Key": 42}])
async def test_connection_init_without_a_valid_key_is_refused_with_4403(
    server: Server, payload: dict[str, Any]
) -> None:
    async with connect(server.url, subprotocols=[PROTOCOL]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert await close_code(ws) == 4403


async def test_a_revoked_key_is_refused_and_http_is_unchanged(server: Server) -> None:
    key = await new_key(server.conn, "catalog:read")
    await keys.revoke(server.conn, key.id)
    async with connect(server.url, subprotocols=[PROTOCOL]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"X-API-Key": key.secret}}))
        assert await close_code(ws) == 4403
    live = await new_key(server.conn, "catalog:read")
    http_url = server.url.replace("ws://", "http://")
    async with httpx.AsyncClient() as client:
        r = await client.post(http_url, json={"query": "{ __typename }"}, headers={"X-API-Key": live.secret})
        assert r.status_code == 200
        assert r.json() == {"data": {"__typename": "Query"}, "extensions": {"dataAsOf": None}}
        r = await client.post(http_url, json={"query": "{ __typename }"})
        assert r.status_code == 401


async def test_a_key_revoked_while_subscribed_gets_nothing_more(server: Server) -> None:
    key = await new_key(server.conn, "catalog:read")
    ws = await open_socket(server, key.secret)
    try:
        await subscribe(ws, "t", "subscription { technologyChanged { code version } }")
        await until_subscribed(server, 1)
        await server.project(tech("SEMI-001", 1))
        assert (await receive(ws))["payload"]["data"] == {
            "technologyChanged": {"code": "SEMI-001", "version": 1}
        }
        await keys.revoke(server.conn, key.id)
        await asyncio.sleep(1.1)  # past the key cache's second
        await server.project(tech("SEMI-001", 2))
        message = await receive(ws)
        [error] = errors_of(message)
        assert (error["message"], error["extensions"]) == (
            "The API key is not valid or has been revoked.",
            {"code": "UNAUTHENTICATED"},
        )
        assert "SEMI-001" not in json.dumps(message)
        await until_subscribed(server, 0)
    finally:
        await ws.close()


async def test_a_key_revoked_on_an_open_socket_gets_no_more_answers(server: Server) -> None:
    # Found by a review: a query sent over a socket opened before the key was revoked was still
    # answered, for as long as the socket stayed open; only subscriptions checked the key.
    key = await new_key(server.conn, "catalog:read")
    ws = await open_socket(server, key.secret)
    try:
        await subscribe(ws, "q1", "query { __typename }")
        assert (await receive(ws))["payload"] == {"data": {"__typename": "Query"}}
        assert await receive(ws) == {"id": "q1", "type": "complete"}
        await keys.revoke(server.conn, key.id)
        await asyncio.sleep(1.1)  # past the key cache's second
        await subscribe(ws, "q2", "query { technologies(first: 1) { totalCount } }")
        assert await close_code(ws) == 4403
    finally:
        await ws.close()


async def test_a_socket_runs_a_bounded_number_of_operations(gateway_db: str) -> None:
    # Found by a review: one socket could hold any number of subscriptions, each a follower of
    # the change hub for as long as it runs.
    async with serving(gateway_db, max_operations_per_socket=2) as server:
        key = await new_key(server.conn, "catalog:read")
        ws = await open_socket(server, key.secret)
        try:
            for n in ("a", "b"):
                await subscribe(ws, n, "subscription { technologyChanged { code } }")
            await until_subscribed(server, 2)
            await subscribe(ws, "c", "subscription { technologyChanged { code } }")
            message = await receive(ws)
            assert message["id"] == "c"
            assert errors_of(message)[0]["extensions"] == {"code": "TOO_MANY_OPERATIONS", "limit": 2}
            await ws.send(json.dumps({"id": "a", "type": "complete"}))
            await until_subscribed(server, 1)
            await subscribe(ws, "d", "subscription { technologyChanged { code } }")
            await until_subscribed(server, 2)  # room again once one completed
        finally:
            await ws.close()


# Found by a review: a subscribe message skipped the limits and the rate that HTTP applies.

# technologyChanged, then designations and their firm five times, then brn: 12 deep (the limit is 10).
TOO_DEEP = (
    "subscription { technologyChanged { designations(first: 1) { firm { designations(first: 1) {"
    " firm { designations(first: 1) { firm { designations(first: 1) { firm { designations(first: 1)"
    " { firm { brn } } } } } } } } } } } }"
)
TOO_COSTLY = (
    "subscription { technologyChanged { code firms(first: 100) { brn"
    " designations(first: 100) { id firm { brn } } } } }"
)


@pytest.mark.parametrize(
    ("query", "code"),
    [(TOO_DEEP, "QUERY_TOO_DEEP"), (TOO_COSTLY, "QUERY_TOO_COSTLY")],
    ids=["deep", "costly"],
)
async def test_a_subscription_past_a_limit_is_refused_before_it_runs(
    gateway_db: str, query: str, code: str
) -> None:
    async with serving(gateway_db, max_query_cost=5_000) as server:
        key = await new_key(server.conn, "catalog:read", "firms:read")
        ws = await open_socket(server, key.secret)
        try:
            await subscribe(ws, "s", query)
            refused = await receive(ws)
            assert (refused["type"], refused["id"]) == ("error", "s"), refused
            assert refused["payload"][0]["extensions"]["code"] == code
            assert server.hub.subscribers == 0
            # The socket stays open for operations within the limits.
            await subscribe(ws, "ok", "subscription { technologyChanged { code } }")
            await until_subscribed(server, 1)
        finally:
            await ws.close()


async def test_each_subscribe_spends_one_request_of_the_keys_rate(gateway_db: str) -> None:
    async with serving(gateway_db, rate_limit_per_s=0.01, rate_limit_burst=3) as server:
        key = await new_key(server.conn, "catalog:read")
        ws = await open_socket(server, key.secret)
        try:
            answers = []
            for n in range(5):
                await subscribe(ws, f"q{n}", "query { industries { code } }")
                answers.append(await receive(ws))
                if answers[-1]["type"] == "next":
                    assert (await receive(ws))["type"] == "complete"
        finally:
            await ws.close()
    assert [a["type"] for a in answers] == ["next", "next", "next", "error", "error"]
    assert answers[3]["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert "retry in" in answers[3]["payload"][0]["message"]


async def test_a_message_nested_past_the_parsers_depth_closes_the_socket_with_4400(server: Server) -> None:
    # Found by a review: the parser's RecursionError dropped the connection (1006).
    key = await new_key(server.conn, "catalog:read")
    ws = await open_socket(server, key.secret)
    deep = "[" * 1200 + "]" * 1200
    await ws.send(
        '{"id": "x", "type": "subscribe", "payload": {"query": "{ industries { code } }", "variables": '
        + '{"a": '
        + deep
        + "}}}"
    )
    assert await close_code(ws) == 4400


async def test_several_operations_without_a_name_are_refused_on_a_socket_too(server: Server) -> None:
    # Found by a review: the HTTP check did not cover the socket, which ran the first operation.
    key = await new_key(server.conn, "catalog:read")
    ws = await open_socket(server, key.secret)
    try:
        await subscribe(ws, "two", "query B { industries { code } } query A { technologies { totalCount } }")
        refused = await receive(ws)
        assert (refused["type"], refused["id"]) == ("error", "two"), refused
        assert refused["payload"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert "operationName" in refused["payload"][0]["message"]
    finally:
        await ws.close()


async def test_a_document_too_repetitive_to_validate_says_so_on_a_socket_too(server: Server) -> None:
    # Found by a review: over the socket strawberry validates itself, and said "Validation aborted."
    key = await new_key(server.conn, "catalog:read")
    ws = await open_socket(server, key.secret)
    try:
        await subscribe(ws, "many", "{ " + " ".join(["__typename"] * 1000) + " }")
        refused = await receive(ws)
        assert (refused["type"], refused["id"]) == ("error", "many"), refused
        assert "too repetitive or too deeply nested" in refused["payload"][0]["message"]
    finally:
        await ws.close()
