"""Health, readiness and metrics: Kafka being down never makes the catalog unready."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import SecretStr

from catalog.app import all_migrations, create_app
from catalog.settings import CatalogSettings
from mpe_devstack.ports import free_port

from .conftest import token


@pytest.fixture
async def catalog_without_kafka(catalog_settings: CatalogSettings) -> AsyncIterator[httpx.AsyncClient]:
    """The catalog with its relay running, pointed at a port where no broker listens."""
    settings = catalog_settings.model_copy(
        update={"kafka_bootstrap": f"127.0.0.1:{free_port()}", "relay_poll_interval_s": 0.2}
    )
    app = create_app(settings, with_workers=True)
    async with (
        LifespanManager(app, shutdown_timeout=30) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app),
            base_url="http://catalog",
            headers={"Authorization": f"Bearer {token('editor')}"},
        ) as client,
    ):
        yield client


async def test_kafka_down_writes_succeed_and_readyz_stays_green(
    catalog_without_kafka: httpx.AsyncClient,
) -> None:
    client = catalog_without_kafka
    r = await client.post(
        "/v1/industries", json={"code": "SEMI", "name_en": "Semiconductors", "name_ko": "반도체"}
    )
    assert r.status_code == 201
    async with asyncio.timeout(30):
        while True:
            ready = await client.get("/readyz", headers={"Authorization": ""})
            body = ready.json()
            # The relay retries while Kafka is away, passing through standby between tries:
            # wait for a reading that shows it leading with Kafka down.
            if body["kafka"]["reachable"] is False and body["relay"]["role"] == "leader":
                break
            await asyncio.sleep(0.2)
    assert ready.status_code == 200
    assert body["status"] == "ready"
    assert body["database"] == {"reachable": True, "pending_migrations": 0}
    assert body["outbox"]["pending"] == 1  # kept safe until Kafka is back
    assert body["relay"]["role"] == "leader"
    assert body["kafka"]["last_error"]


async def test_healthz_and_metrics_need_no_token(catalog: httpx.AsyncClient) -> None:
    await catalog.get("/v1/industries")
    anonymous = {"Authorization": ""}
    assert (await catalog.get("/healthz", headers=anonymous)).json() == {"status": "ok"}
    metrics = await catalog.get("/metrics", headers=anonymous)
    assert metrics.status_code == 200
    text = metrics.text
    assert 'mpe_http_requests_total{method="GET",route="/v1/industries",status="200"} 1.0' in text
    assert "mpe_http_request_duration_seconds_bucket" in text
    assert "mpe_outbox_pending 0.0" in text
    assert "mpe_outbox_oldest_age_seconds" in text


async def test_readyz_is_red_while_migrations_are_pending(
    catalog_settings: CatalogSettings, new_database: Callable[[str], str]
) -> None:
    unmigrated = catalog_settings.model_copy(update={"database_url": SecretStr(new_database("catalog_bare"))})
    app = create_app(unmigrated, with_workers=False)
    async with (
        LifespanManager(app, shutdown_timeout=30) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://c") as client,
    ):
        r = await client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["database"]["pending_migrations"] == len(all_migrations())
