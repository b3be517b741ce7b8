"""The firms service's technology replica against the real catalog: catching up from Kafka after
being down, following a retirement, and reading through to the catalog's HTTP API on a miss."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from pydantic import SecretStr

from catalog.app import all_migrations as catalog_migrations
from catalog.app import create_app as catalog_app
from catalog.settings import CatalogSettings
from firms.app import all_migrations as firms_migrations
from firms.app import create_app as firms_app
from firms.domain import brn_check_digit
from firms.settings import FirmsSettings
from mpe_devstack.kafka import KafkaCluster
from mpe_devstack.ports import free_port
from mpe_devstack.testing import uvicorn_serving
from mpe_kit import db, migrations
from mpe_kit.auth import issue_token

CATALOG_SECRET = "catalog-secret-of-32-bytes-or-more!!"
FIRMS_SECRET = "firms-secret-of-32-bytes-or-more!!!!"
CATALOG_EDITOR = {"Authorization": f"Bearer {issue_token(CATALOG_SECRET, sub='e2e', roles=['editor'])}"}
FIRMS_EDITOR = {"Authorization": f"Bearer {issue_token(FIRMS_SECRET, sub='e2e', roles=['editor'])}"}


def brn(n: int) -> str:
    first = f"{n:09d}"
    return first + str(brn_check_digit(first))


def firm_body(number: str, codes: list[str]) -> dict[str, Any]:
    return {
        "brn": number,
        "name_en": f"Firm {number}",
        "name_ko": f"기업 {number}",
        "size": "sme",
        "size_since": "2020-01-01",
        "region": "Seoul",
        "mpe_sales_ratio": 0.7,
        "technology_codes": codes,
    }


def add(code: str) -> dict[str, Any]:
    return {
        "op": "add",
        "technology": {
            "code": code,
            "industry_code": "SEMI",
            "kind": "material",
            "name_en": f"Technology {code}",
            "name_ko": f"기술 {code}",
        },
    }


async def publish(catalog: httpx.AsyncClient, changes: list[dict[str, Any]], effective_on: str) -> None:
    """Draft and publish a revision through the catalog's REST API."""
    resp = await catalog.post(
        "/v1/revisions",
        json={
            "title": f"Revision {effective_on}",
            "decided_on": effective_on,
            "effective_on": effective_on,
            "changes": changes,
        },
    )
    assert resp.status_code == 201, resp.text
    resp = await catalog.post(f"/v1/revisions/{resp.json()['id']}/publish")
    assert resp.status_code == 200, resp.text


async def start_list(catalog: httpx.AsyncClient) -> None:
    resp = await catalog.post(
        "/v1/industries", json={"code": "SEMI", "name_en": "Semiconductors", "name_ko": "반도체"}
    )
    assert resp.status_code == 201, resp.text
    await publish(catalog, [add("SEMI-001"), add("SEMI-002")], "2020-04-01")


async def poll(check: Callable[[], Any], timeout_s: float = 60, what: str = "condition") -> Any:
    """Await `check()` until it returns something truthy."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                result = await check()
                if result:
                    return result
                await asyncio.sleep(0.1)
    except TimeoutError:
        pytest.fail(f"timed out after {timeout_s}s waiting for {what}")


async def scalar(dsn: str, sql: str, *args: object) -> Any:
    conn = await db.connect(dsn)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def replica(dsn: str) -> dict[str, str]:
    conn = await db.connect(dsn)
    try:
        return {
            r["code"]: r["status"] for r in await conn.fetch("select code, status from technology_replica")
        }
    finally:
        await conn.close()


@asynccontextmanager
async def running(app: FastAPI, base_url: str, headers: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """The app's lifespan (with whatever workers it was built with) and a client of it."""
    async with (
        LifespanManager(app, shutdown_timeout=30) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app, raise_app_exceptions=False),
            base_url=base_url,
            headers=headers,
        ) as client,
    ):
        yield client


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """Serve the app over real HTTP on a free port; yields its base URL."""
    async with uvicorn_serving(app) as url:
        yield url


@pytest.fixture
async def catalog_settings(
    new_database: Callable[[str], str], kafka: KafkaCluster, topic_prefix: str
) -> CatalogSettings:
    s = CatalogSettings(
        database_url=new_database("catalog"),
        jwt_secret=CATALOG_SECRET,  # type: ignore[arg-type]
        kafka_bootstrap=kafka.bootstrap,
        topic_prefix=topic_prefix,
        relay_poll_interval_s=0.5,
        log_json=False,
    )
    await migrations.migrate(s.database_dsn(), catalog_migrations())
    return s


@pytest.fixture
async def firms_dsn(new_database: Callable[[str], str]) -> str:
    """A migrated firms database with an empty technology replica."""
    dsn = new_database("firms")
    await migrations.migrate(dsn, firms_migrations())
    return dsn


def firms_settings(dsn: str, kafka: KafkaCluster, topic_prefix: str, **fields: Any) -> FirmsSettings:
    base: dict[str, Any] = {
        "database_url": SecretStr(dsn),
        "jwt_secret": FIRMS_SECRET,
        "kafka_bootstrap": kafka.bootstrap,
        "topic_prefix": topic_prefix,
        # A group of its own, so that no other test's consumers share its partitions.
        "replica_group": f"firms-replica-{uuid.uuid4().hex[:8]}",
        # Nothing listens here: the replica, not the read-through, must accept the codes.
        "catalog_url": f"http://127.0.0.1:{free_port()}",
        "relay_poll_interval_s": 0.5,
        "log_json": False,
    }
    return FirmsSettings(**{**base, **fields})


async def replica_is(dsn: str, expected: dict[str, str]) -> bool:
    return await replica(dsn) == expected


async def all_sent(dsn: str) -> bool:
    return bool(await scalar(dsn, "select count(*) = 0 from outbox where published_at is null"))


async def test_replica_catches_up_after_the_firms_service_was_down(
    catalog_settings: CatalogSettings, firms_dsn: str, kafka: KafkaCluster, topic_prefix: str
) -> None:
    async with running(catalog_app(catalog_settings), "http://catalog", CATALOG_EDITOR) as catalog:
        await start_list(catalog)
        # The firms service is down while the catalog publishes a revision adding technologies.
        await publish(catalog, [add("SEMI-003"), add("SEMI-004")], "2022-10-18")
        await poll(
            lambda: all_sent(catalog_settings.database_dsn()), what="the catalog relay to send everything"
        )

        # Its API alone (no consumer) knows none of them, and cannot reach the catalog: 503.
        settings = firms_settings(firms_dsn, kafka, topic_prefix)
        async with running(firms_app(settings, with_workers=False), "http://firms", FIRMS_EDITOR) as firms:
            resp = await firms.post("/v1/firms", json=firm_body(brn(1), ["SEMI-003"]))
            assert resp.status_code == 503, resp.text

        # Back up with its workers, the replica consumer reads what it missed.
        async with running(firms_app(settings), "http://firms", FIRMS_EDITOR) as firms:
            expected = {f"SEMI-00{i}": "listed" for i in range(1, 5)}
            await poll(lambda: replica_is(firms_dsn, expected), what="the replica to catch up")
            resp = await firms.post("/v1/firms", json=firm_body(brn(1), ["SEMI-003", "SEMI-004"]))
            assert resp.status_code == 201, resp.text

            # The catalog retires SEMI-003; once the replica has it, the firms API refuses the code.
            await publish(catalog, [{"op": "retire", "code": "SEMI-003"}], "2024-04-03")
            await poll(
                lambda: replica_is(firms_dsn, {**expected, "SEMI-003": "retired"}),
                what="the retirement to reach the replica",
            )
            resp = await firms.post("/v1/firms", json=firm_body(brn(2), ["SEMI-003"]))
            assert resp.status_code == 422, resp.text
            assert "SEMI-003 is retired" in resp.json()["detail"]
            resp = await firms.post(
                f"/v1/firms/{brn(1)}/designations",
                json={"kind": "specialized", "technology_codes": ["SEMI-003"], "effective_on": "2024-05-01"},
            )
            assert resp.status_code == 422, resp.text
            assert "SEMI-003" in resp.json()["detail"]
            # The firm that holds it keeps it, and can still be changed without re-checking it.
            resp = await firms.patch(
                f"/v1/firms/{brn(1)}",
                json={"technology_codes": ["SEMI-001", "SEMI-003", "SEMI-004"]},
                headers={"If-Match": '"1"'},
            )
            assert resp.status_code == 200, resp.text
            assert resp.json()["technology_codes"] == ["SEMI-001", "SEMI-003", "SEMI-004"]
            assert await scalar(firms_dsn, "select count(*) from firms") == 1


async def test_read_through_to_the_catalog_over_http(
    catalog_settings: CatalogSettings, firms_dsn: str, kafka: KafkaCluster, topic_prefix: str
) -> None:
    async with served(catalog_app(catalog_settings, with_workers=False)) as url:
        async with httpx.AsyncClient(base_url=url, headers=CATALOG_EDITOR) as catalog:
            await start_list(catalog)
            await publish(catalog, [{"op": "retire", "code": "SEMI-002"}], "2022-10-18")
        service_token = issue_token(CATALOG_SECRET, sub="firms", roles=["viewer"])
        settings = firms_settings(
            firms_dsn, kafka, topic_prefix, catalog_url=url, service_token=service_token
        )
        assert await replica(firms_dsn) == {}
        async with running(firms_app(settings, with_workers=False), "http://firms", FIRMS_EDITOR) as firms:
            resp = await firms.post("/v1/firms", json=firm_body(brn(1), ["SEMI-001"]))
            assert resp.status_code == 201, resp.text
            assert await replica(firms_dsn) == {"SEMI-001": "listed"}
            assert (
                await scalar(firms_dsn, "select version from technology_replica where code = 'SEMI-001'") == 1
            )

            resp = await firms.post("/v1/firms", json=firm_body(brn(2), ["SEMI-001", "NOPE-001"]))
            assert resp.status_code == 422, resp.text
            assert resp.json()["errors"] == [
                {"field": "technology_codes", "message": "technology NOPE-001 is not in the catalog"}
            ]
            # A code the catalog has retired is refused, and the replica learns of it on the way.
            resp = await firms.post("/v1/firms", json=firm_body(brn(2), ["SEMI-002"]))
            assert resp.status_code == 422, resp.text
            assert "SEMI-002 is retired" in resp.json()["detail"]
            assert await replica(firms_dsn) == {"SEMI-001": "listed", "SEMI-002": "retired"}
            assert await scalar(firms_dsn, "select count(*) from firms") == 1

        # A service token the catalog does not accept makes the check unavailable, not a 500.
        bad = firms_settings(
            firms_dsn,
            kafka,
            topic_prefix,
            catalog_url=url,
            service_token=issue_token(FIRMS_SECRET, sub="firms", roles=["viewer"]),
        )
        async with running(firms_app(bad, with_workers=False), "http://firms", FIRMS_EDITOR) as firms:
            resp = await firms.post("/v1/firms", json=firm_body(brn(3), ["NOPE-002"]))
            assert resp.status_code == 503, resp.text
            assert resp.headers["content-type"].startswith("application/problem+json")
