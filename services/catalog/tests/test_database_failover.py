"""A lost database connection (Postgres restarted, backends terminated): reads retry, writes get 503."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from catalog.settings import CatalogSettings
from mpe_kit.db import connect

SEMI = {"code": "SEMI", "name_en": "Semiconductors", "name_ko": "반도체"}
AUTO = {"code": "AUTO", "name_en": "Automotive", "name_ko": "자동차"}


async def kill_connections(admin: asyncpg.Connection, database: str) -> int:
    """Terminate every backend of the database but ours, as a Postgres restart would."""
    killed: int = await admin.fetchval(
        "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity"
        " where datname = $1 and pid <> pg_backend_pid()) t",
        database,
    )
    return killed


@pytest.fixture
def catalog_settings(catalog_settings: CatalogSettings) -> CatalogSettings:
    """One pooled connection: each request meets the connection the kill ended, deterministically.

    With more, the write could draw a connection the pool had already replaced after the read's
    retry (it expires every connection when one is lost), and pass without meeting the fault.
    """
    return catalog_settings.model_copy(update={"db_pool_min": 1, "db_pool_max": 1})


async def test_reads_are_retried_on_a_fresh_connection_and_writes_answer_503(
    catalog: httpx.AsyncClient, catalog_settings: CatalogSettings
) -> None:
    assert (await catalog.post("/v1/industries", json=SEMI)).status_code == 201
    admin = await connect(catalog_settings.database_dsn())
    database = admin._params.database  # type: ignore[attr-defined]
    try:
        for _ in range(3):
            assert (await catalog.get("/v1/industries")).status_code == 200
        assert await kill_connections(admin, database) >= 1
        read = await catalog.get("/v1/industries/SEMI")
        assert read.status_code == 200, read.text
        assert read.json()["code"] == "SEMI"

        assert await kill_connections(admin, database) >= 1
        write = await catalog.post("/v1/industries", json=AUTO)
        assert write.status_code == 503, write.text
        assert write.headers["content-type"] == "application/problem+json"
        assert write.headers["retry-after"] == "2"
        assert write.json()["status"] == 503
        # Nothing half-done: the refused write left nothing, and repeating it succeeds.
        assert await admin.fetchval("select count(*) from industries where code = 'AUTO'") == 0
        assert await admin.fetchval("select count(*) from outbox") == 1
        again = await catalog.post("/v1/industries", json=AUTO)
        assert again.status_code == 201, again.text
        assert await admin.fetchval("select count(*) from outbox") == 2
    finally:
        await admin.close()
