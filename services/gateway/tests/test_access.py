"""Partner access: key lookups and revocation, the rate limit, the access log and metrics,
and unexpected errors masked behind a correlation id."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import structlog
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from gateway import store
from gateway.app import create_app
from gateway.cli import build
from gateway.http.access import MAX_OPERATION_LABELS, GatewayMetrics, RateLimiter
from gateway.partners import keys
from gateway.read.describe import INDUSTRIES as INDUSTRIES_ASSUMED
from gateway.settings import GatewaySettings
from mpe_kit import db, ops

from .conftest import new_key

pytestmark = pytest.mark.usefixtures("seeded")

INDUSTRIES = "query Industries { industries { code } }"


@dataclass
class Served:
    """A gateway app (no projector) while its lifespan runs, and a client without a key."""

    app: FastAPI
    client: httpx.AsyncClient

    async def query(self, secret: str | None, query: str, **variables: Any) -> httpx.Response:
        headers = {"X-API-Key": secret} if secret is not None else {}
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )


@contextlib.asynccontextmanager
async def serving(dsn: str, **settings: Any) -> AsyncIterator[Served]:
    """Run a gateway app with some settings changed from their defaults."""
    s = GatewaySettings(database_url=dsn, log_json=False, kafka_bootstrap="127.0.0.1:1", **settings)
    app = create_app(s, with_workers=False)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app),  # type: ignore[arg-type]
            base_url="http://gateway",
        ) as client,
    ):
        yield Served(app, client)


async def until_refused(served: Served, secret: str, *, within_s: float) -> tuple[float, int]:
    """Seconds until the key gets 401 (polling), and how many requests were still served."""
    start = time.monotonic()
    served_count = 0
    while True:
        r = await served.query(secret, INDUSTRIES)
        elapsed = time.monotonic() - start
        if r.status_code == 401:
            assert r.json()["detail"] == "The API key is not valid or has been revoked."
            return elapsed, served_count
        assert r.status_code == 200, r.text
        served_count += 1
        assert elapsed < within_s, f"still served {elapsed:.2f} s after"
        await asyncio.sleep(0.02)


def cli(*args: str) -> dict[str, Any]:
    """Run `gateway …` (GATEWAY_DATABASE_URL set by the test) and parse its JSON."""
    result = CliRunner().invoke(build(), list(args))
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    return body


async def test_the_key_cache_forgets_a_lookup_after_its_ttl(conn: db.Conn, gateway_db: str) -> None:
    now = [100.0]
    cache = keys.KeyCache(ttl_s=1.0, clock=lambda: now[0])
    key = await new_key(conn, "catalog:read")
    pool = await db.create_pool(gateway_db, min_size=1, max_size=2)
    try:
        partner = await cache.authenticate(pool, key.secret)
        assert partner == keys.Partner(key.id, "KIAT", frozenset({"catalog:read"}))
        assert await cache.authenticate(pool, "mpe_unknown") is None
        await keys.revoke(conn, key.id)
        now[0] = 100.999
        assert await cache.authenticate(pool, key.secret) == partner
        now[0] = 101.0
        assert await cache.authenticate(pool, key.secret) is None
    finally:
        await pool.close()


async def test_a_revoked_key_gets_401_within_a_second_despite_the_cache(
    conn: db.Conn, gateway_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gateway_db)
    key = await new_key(conn, "catalog:read")
    # Half the 1 s bound: the margin absorbs a loaded machine's scheduling, not the cache's TTL.
    async with serving(gateway_db, key_cache_ttl_s=0.5) as served:
        assert (await served.query(key.secret, INDUSTRIES)).status_code == 200
        await asyncio.to_thread(cli, "keys", "revoke", str(key.id), "--json")
        elapsed, stale = await until_refused(served, key.secret, within_s=1.0)
    assert elapsed < 1.0
    assert stale >= 1  # the cache answered for a moment: the bound above is what it honours


async def test_a_rotated_out_secret_gets_401_within_a_second_and_the_new_one_works_at_once(
    conn: db.Conn, gateway_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gateway_db)
    key = await new_key(conn, "catalog:read")
    # Half the 1 s bound: the margin absorbs a loaded machine's scheduling, not the cache's TTL.
    async with serving(gateway_db, key_cache_ttl_s=0.5) as served:
        assert (await served.query(key.secret, INDUSTRIES)).status_code == 200
        rotated = await asyncio.to_thread(cli, "keys", "rotate", str(key.id), "--json")
        assert rotated["id"] == str(key.id)
        assert (await served.query(rotated["key"], INDUSTRIES)).status_code == 200
        elapsed, _ = await until_refused(served, key.secret, within_s=1.0)
        assert (await served.query(rotated["key"], INDUSTRIES)).status_code == 200
    assert elapsed < 1.0


async def test_without_the_cache_a_revoked_key_is_refused_at_once(conn: db.Conn, gateway_db: str) -> None:
    key = await new_key(conn, "catalog:read")
    async with serving(gateway_db, key_cache_ttl_s=0) as served:
        assert (await served.query(key.secret, INDUSTRIES)).status_code == 200
        await keys.revoke(conn, key.id)
        assert (await served.query(key.secret, INDUSTRIES)).status_code == 401


def test_a_bucket_passes_its_burst_then_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(per_s=4, burst=3, clock=lambda: now[0])
    a, b = uuid.uuid4(), uuid.uuid4()
    assert [limiter.take(a) for _ in range(4)] == [None, None, None, 1]
    assert limiter.take(b) is None  # buckets are per key
    now[0] = 0.25  # one request's worth
    assert limiter.take(a) is None
    assert limiter.take(a) == 1
    now[0] = 100.0  # a long idle refills up to the burst, no more
    assert [limiter.take(a) for _ in range(4)] == [None, None, None, 1]
    slow = RateLimiter(per_s=0.1, burst=1, clock=lambda: now[0])
    assert (slow.take(a), slow.take(a)) == (None, 10)
    assert RateLimiter(per_s=0, burst=1).take(a) is None


async def test_past_its_burst_a_key_gets_429_with_retry_after(conn: db.Conn, gateway_db: str) -> None:
    key = await new_key(conn, "catalog:read")
    other = await new_key(conn, "catalog:read")
    async with serving(gateway_db, rate_limit_per_s=0.1, rate_limit_burst=3) as served:
        for _ in range(3):
            assert (await served.query(key.secret, INDUSTRIES)).status_code == 200
        r = await served.query(key.secret, INDUSTRIES)
        assert (await served.query(other.secret, INDUSTRIES)).status_code == 200
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    assert 1 <= int(r.headers["retry-after"]) <= 10
    body = r.json()
    assert (body["status"], body["title"]) == (429, "Too Many Requests")
    assert body["retry_after_s"] == int(r.headers["retry-after"])
    assert "0.1 requests a second, in bursts of up to 3" in body["detail"]


def metric(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


async def test_every_request_is_logged_once_and_counted(conn: db.Conn, gateway_db: str) -> None:
    key = await new_key(conn, "catalog:read")
    async with serving(gateway_db, rate_limit_per_s=0.1, rate_limit_burst=3) as served:
        with structlog.testing.capture_logs() as logs:
            await served.query(key.secret, INDUSTRIES)
            await served.query(key.secret, "query Firms { firms(first: 1) { totalCount } }")
            await served.query(key.secret, "{ nope }")
            await served.query(key.secret, INDUSTRIES)
            await served.query(None, INDUSTRIES)
        metrics = await ops.scrape(served.app)

    lines = [e for e in logs if e["event"] == "graphql request"]
    assert [(e["operation"], e["outcome"], e["status"], e["error_codes"]) for e in lines] == [
        ("Industries", "ok", 200, None),
        ("Firms", "error", 200, ["FORBIDDEN"]),
        (None, "rejected", 200, ["GRAPHQL_VALIDATION_FAILED"]),
        (None, "rate_limited", 429, None),
        (None, "unauthorized", 401, None),
    ]
    assert [(e["agency"], e["key_id"]) for e in lines] == [("KIAT", str(key.id))] * 4 + [(None, None)]
    assert all(e["duration_ms"] > 0 and e["log_level"] == "info" for e in lines)
    assert lines[0]["operation_type"] == "query"
    assert lines[0]["cost"] == INDUSTRIES_ASSUMED  # `industries` counts what it may hold

    requests = "mpe_gateway_requests_total"
    assert metric(metrics, requests, agency="KIAT", operation="Industries", outcome="ok") == 1
    assert metric(metrics, requests, agency="KIAT", operation="Firms", outcome="error") == 1
    assert metric(metrics, requests, agency="KIAT", operation="anonymous", outcome="rejected") == 1
    assert metric(metrics, requests, agency="KIAT", outcome="rate_limited") == 1
    assert metric(metrics, requests, agency="(none)", outcome="unauthorized") == 1
    assert metric(metrics, "mpe_gateway_rejections_total", agency="KIAT", limit="RATE_LIMITED") == 1
    assert metric(metrics, "mpe_gateway_request_duration_seconds_count", agency="KIAT") == 3
    assert metric(metrics, "mpe_gateway_query_cost_count", agency="KIAT") == 2
    # Answered by compiled SQL and by strawberry; the three others by no stage.
    answers = "mpe_gateway_answers_total"
    assert (metric(metrics, answers, by="compiled"), metric(metrics, answers, by="strawberry")) == (1, 1)
    assert metric(metrics, answers, by="cache") is None


async def test_a_client_that_leaves_before_its_request_is_read_is_no_server_error(
    conn: db.Conn, gateway_db: str
) -> None:
    key = await new_key(conn, "catalog:read")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"gateway"),
            (b"content-type", b"application/json"),
            (b"x-api-key", key.secret.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("gateway", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}  # the client is gone before the body arrived

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async with serving(gateway_db) as served:
        with structlog.testing.capture_logs() as logs:
            await served.app(scope, receive, send)
        metrics = await ops.scrape(served.app)

    assert sent[0]["status"] == 499
    assert not [e for e in logs if e["log_level"] == "error"]
    [line] = [e for e in logs if e["event"] == "graphql request"]
    assert (line["outcome"], line["status"], line["agency"]) == ("client_disconnected", 499, "KIAT")
    requests = "mpe_gateway_requests_total"
    assert metric(metrics, requests, agency="KIAT", outcome="client_disconnected") == 1
    assert metric(metrics, requests, outcome="server_error") is None


def test_operation_names_as_labels_are_bounded() -> None:
    m = GatewayMetrics(CollectorRegistry())
    names = [m.operation_label(f"Op{i}") for i in range(MAX_OPERATION_LABELS + 5)]
    assert names[:MAX_OPERATION_LABELS] == [f"Op{i}" for i in range(MAX_OPERATION_LABELS)]
    assert set(names[MAX_OPERATION_LABELS:]) == {"other"}
    assert m.operation_label("Op0") == "Op0"
    assert (m.operation_label(None), m.operation_label("not a name {")) == ("anonymous", "other")


async def raising(_conn: db.Conn) -> list[Any]:
    raise RuntimeError("password=hunter2 in a driver message")


async def nameless(_conn: db.Conn) -> list[Any]:
    return [{"code": "SEMI", "name_en": None, "name_ko": "반도체"}]


@pytest.mark.parametrize(
    ("broken", "path", "cause"),
    [
        (raising, ["industries"], "RuntimeError: password=hunter2 in a driver message"),
        (nameless, ["industries", 0, "nameEn"], "Cannot return null for non-nullable field Industry.nameEn."),
    ],
    ids=["exception", "null-in-non-null"],
)
async def test_an_unexpected_error_is_masked_with_a_correlation_id_that_is_in_the_log(
    conn: db.Conn, gateway_db: str, monkeypatch: pytest.MonkeyPatch, broken: Any, path: list[Any], cause: str
) -> None:
    monkeypatch.setattr(store.catalog, "industries", broken)
    key = await new_key(conn, "catalog:read")
    # The resolvers are what breaks here; the compiled statement does not call them.
    async with serving(gateway_db, compiled_queries=False) as served:
        with structlog.testing.capture_logs() as logs:
            r = await served.query(
                key.secret, '{ industries { code nameEn } technology(code: "SEMI-004") { code } }'
            )

    assert r.status_code == 200
    assert "hunter2" not in r.text
    body = r.json()
    # industries is nullable: its error nulls it alone, and the rest of the answer stands.
    assert body["data"] == {"industries": None, "technology": {"code": "SEMI-004"}}
    [error] = body["errors"]
    correlation_id = error["extensions"]["correlationId"]
    assert error["message"] == "Internal server error."
    assert error["path"] == path
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "correlationId": correlation_id}
    [logged] = [e for e in logs if e["event"] == "unexpected error while resolving a field"]
    assert logged["correlation_id"] == correlation_id
    assert (logged["log_level"], logged["path"], logged["agency"]) == (
        "error",
        ".".join(map(str, path)),
        "KIAT",
    )
    rendered = structlog.processors.format_exc_info(None, "error", dict(logged))
    assert "Traceback (most recent call last)" in rendered["exception"]
    assert cause in rendered["exception"]
    [line] = [e for e in logs if e["event"] == "graphql request"]
    assert (line["outcome"], line["correlation_ids"]) == ("internal_error", [correlation_id])


@pytest.mark.parametrize(
    ("query", "variables", "code", "message"),
    [
        (
            "{ technologies(first: 0) { totalCount } }",
            {},
            "BAD_USER_INPUT",
            "`first` must be between 1 and 100",
        ),
        ('{ firm(brn: "1") { brn } }', {}, "FORBIDDEN", "This key lacks the firms:read scope."),
        ("{ technologies { nope } }", {}, "GRAPHQL_VALIDATION_FAILED", "Cannot query field 'nope'"),
        ("{ technologies { ", {}, "GRAPHQL_PARSE_FAILED", "Syntax Error"),
        ("query($n: Int!) { technologies(first: $n) { totalCount } }", {"n": "x"}, "BAD_USER_INPUT", "$n"),
        (
            '{ technologies(filter: {search: "a\\u0000b"}) { totalCount } }',
            {},
            "BAD_USER_INPUT",
            "cannot search for, such as NUL",
        ),
        (
            '{ technologies(filter: {search: "a\\ud800b"}) { totalCount } }',
            {},
            "GRAPHQL_PARSE_FAILED",
            "Invalid Unicode escape sequence",
        ),
    ],
    ids=["bad-input", "forbidden", "validation", "syntax", "variables", "nul", "lone-surrogate"],
)
async def test_errors_a_client_can_act_on_stay_clear(
    conn: db.Conn, gateway_db: str, query: str, variables: dict[str, Any], code: str, message: str
) -> None:
    key = await new_key(conn, "catalog:read")
    async with serving(gateway_db) as served:
        r = await served.query(key.secret, query, **variables)
    assert r.status_code == 200
    [error] = r.json()["errors"]
    assert error["extensions"]["code"] == code
    assert message in error["message"]
    assert "correlationId" not in error["extensions"]


@pytest.mark.parametrize("search", ["a\ud800b", "\udfff"])
async def test_a_lone_surrogate_in_a_variable_is_bad_input(
    conn: db.Conn, gateway_db: str, search: str
) -> None:
    """JSON may escape half of a UTF-16 pair; no UTF-8 text holds it, so the gateway cannot search for it."""
    key = await new_key(conn, "catalog:read")
    body = json.dumps(  # ASCII JSON, as a client's encoder writes the escape
        {
            "query": "query($s: String) { technologies(filter: {search: $s}) { totalCount } }",
            "variables": {"s": search},
        }
    )
    async with serving(gateway_db) as served:
        r = await served.client.post(
            "/graphql",
            content=body.encode(),
            headers={"X-API-Key": key.secret, "Content-Type": "application/json"},
        )
    assert r.status_code == 200
    [error] = r.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "correlationId" not in error["extensions"]


async def test_every_fallback_to_strawberry_is_counted_with_its_reason(
    conn: db.Conn, gateway_db: str
) -> None:
    key = await new_key(conn, "catalog:read", "firms:read")
    async with serving(gateway_db, response_cache_size=0) as served:
        with structlog.testing.capture_logs() as logs:
            await served.query(key.secret, INDUSTRIES)  # compiled
            await served.query(key.secret, "{ designationProgress { designated } }")  # declined field
            await served.query(key.secret, "{ programs(first: 1) { totalCount } }")  # lacks budget:read
            await served.query(key.secret, "{ technologies(first: 1000) { totalCount } }")  # page too large
            await served.query(key.secret, "{ nope }")  # invalid
            await served.query(key.secret, "{ designationProgress { designated } }")
        metrics = await ops.scrape(served.app)

    lines = [e for e in logs if e["event"] == "graphql request"]
    assert [(e["answered_by"], e["fallback"]) for e in lines] == [
        ("compiled", None),
        ("strawberry", "field"),
        ("strawberry", "scope"),
        ("strawberry", "arguments"),
        ("strawberry", "invalid"),
        ("strawberry", "field"),
    ]
    fallbacks = "mpe_gateway_compile_fallbacks_total"
    assert metric(metrics, fallbacks, reason="field") == 2
    assert metric(metrics, fallbacks, reason="scope") == 1
    assert metric(metrics, fallbacks, reason="arguments") == 1
    assert metric(metrics, fallbacks, reason="invalid") == 1
