"""Cross-service fixtures: catalog and gateway running in this process on the real stack."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from catalog.app import all_migrations as catalog_migrations
from catalog.app import create_app as catalog_app
from catalog.settings import CatalogSettings
from gateway.app import all_migrations as gateway_migrations
from gateway.app import create_app as gateway_app
from gateway.partners import keys
from gateway.settings import GatewaySettings
from mpe_devstack.kafka import KafkaCluster
from mpe_kit import db, migrations
from mpe_kit.auth import issue_token

SECRET = "end-to-end-secret-of-32-bytes-or-more"


@dataclass
class Stack:
    """HTTP clients of a running catalog (editor token) and gateway (partner key)."""

    catalog: httpx.AsyncClient
    gateway: httpx.AsyncClient
    gateway_settings: GatewaySettings
    gateway_app: FastAPI

    async def graphql(self, query: str, **variables: object) -> dict[str, object]:
        """POST a GraphQL query; return the whole JSON body."""
        r = await self.gateway.post("/graphql", json={"query": query, "variables": variables})
        assert r.status_code == 200, r.text
        body: dict[str, object] = r.json()
        return body


@pytest.fixture
async def stack(
    migrated_database: Callable[[str, list[migrations.Migration]], Awaitable[str]],
    kafka: KafkaCluster,
    topic_prefix: str,
) -> AsyncIterator[Stack]:
    """Catalog (API + relay) and gateway (API + projector), sharing a fresh topic prefix."""
    common = {
        "kafka_bootstrap": kafka.bootstrap,
        "topic_prefix": topic_prefix,
        "log_json": False,
        "relay_poll_interval_s": 0.5,
    }
    catalog_db = await migrated_database("catalog", catalog_migrations())
    gateway_db = await migrated_database("gateway", gateway_migrations())
    cs = CatalogSettings(database_url=catalog_db, jwt_secret=SECRET, **common)  # type: ignore[arg-type]
    gs = GatewaySettings(database_url=gateway_db, **common)  # type: ignore[arg-type]
    conn = await db.connect(gs.database_dsn())
    try:
        key = await keys.create(conn, agency="KEIT", scopes=["catalog:read"])
    finally:
        await conn.close()
    token = issue_token(SECRET, sub="e2e", roles=["editor"])
    ga = gateway_app(gs)
    async with (
        LifespanManager(catalog_app(cs), shutdown_timeout=30) as c,
        LifespanManager(ga, shutdown_timeout=30) as g,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=c.app),
            base_url="http://catalog",
            headers={"Authorization": f"Bearer {token}"},
        ) as catalog,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=g.app),
            base_url="http://gateway",
            headers={"X-API-Key": key.secret},
        ) as gateway,
    ):
        yield Stack(catalog=catalog, gateway=gateway, gateway_settings=gs, gateway_app=ga)
