"""A lost database connection (Postgres restarted, backends terminated): reads retry, writes get 503.

A connection lost at the write's COMMIT is answered by what became of the transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import asyncpg
import httpx
import pytest
import structlog
from asgi_lifespan import LifespanManager
from pydantic import SecretStr

from catalog.app import create_app
from catalog.settings import CatalogSettings
from mpe_devstack.pgproxy import CommitProxy, Fault, commit_proxy
from mpe_kit.db import connect
from mpe_kit.uow import PostgresUnitOfWork

from .conftest import token

SEMI = {"code": "SEMI", "name_en": "Semiconductors", "name_ko": "반도체"}
AUTO = {"code": "AUTO", "name_en": "Automotive", "name_ko": "자동차"}


async def lock_waiter(admin: asyncpg.Connection, database: str) -> int:
    """The backend of `database`, other than admin's, that waits for a lock (within 10 s)."""
    async with asyncio.timeout(10):
        while True:
            pid: int | None = await admin.fetchval(
                "select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()"
                " and wait_event_type = 'Lock'",
                database,
            )
            if pid is not None:
                return pid
            await asyncio.sleep(0.01)


async def killed_midway(
    admin: asyncpg.Connection, database: str, request: Coroutine[Any, Any, httpx.Response]
) -> httpx.Response:
    """Send a request and terminate its backend while it is at the database, as a restart would.

    The request is held at the industries table by a lock, and its backend is ended there: it
    meets the fault every time. (Killing the backends before sending is a race: the client may
    already have seen its connection close and quietly opened a new one.)
    """
    async with admin.transaction():
        await admin.execute("lock table industries in access exclusive mode")
        answer = asyncio.create_task(request)
        pid = await lock_waiter(admin, database)
        assert await admin.fetchval("select pg_terminate_backend($1)", pid)
    return await answer


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
        with structlog.testing.capture_logs() as logs:
            read = await killed_midway(admin, database, catalog.get("/v1/industries/SEMI"))
        assert read.status_code == 200, read.text
        assert read.json()["code"] == "SEMI"
        assert [e["retrying"] for e in logs if e["event"] == "database connection lost"] == [True]

        write = await killed_midway(admin, database, catalog.post("/v1/industries", json=AUTO))
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


async def test_a_write_that_loses_a_deadlock_answers_503_and_writes_nothing(
    catalog: httpx.AsyncClient, catalog_settings: CatalogSettings
) -> None:
    # A deadlock with another writer was a 500, with nothing to tell the
    # client that the write was rolled back and may be repeated.
    admin = await connect(catalog_settings.database_dsn())
    database = admin._params.database  # type: ignore[attr-defined]
    try:
        async with admin.transaction():
            # The other side waits 30 s before it looks for a deadlock, so the request's backend
            # (1 s) finds it and is the one rolled back.
            await admin.execute("set local deadlock_timeout = '30s'")
            await admin.execute("lock table outbox in exclusive mode")
            write = asyncio.create_task(catalog.post("/v1/industries", json=AUTO))
            await lock_waiter(admin, database)  # it has inserted its industry and waits to write its event
            await admin.execute("lock table industries in share mode")
            answer = await write
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == "1"
        assert "deadlock" in answer.json()["detail"]
        assert await admin.fetchval("select count(*) from industries where code = 'AUTO'") == 0
        assert await admin.fetchval("select count(*) from outbox") == 0
        again = await catalog.post("/v1/industries", json=AUTO)
        assert again.status_code == 201, again.text
    finally:
        await admin.close()


@pytest.fixture
async def through_proxy(
    catalog_settings: CatalogSettings,
) -> AsyncIterator[tuple[httpx.AsyncClient, CommitProxy]]:
    """The catalog API on a pool that reaches Postgres through a proxy able to lose a COMMIT."""
    async with commit_proxy(catalog_settings.database_dsn()) as proxy:
        settings = catalog_settings.model_copy(update={"database_url": SecretStr(proxy.dsn)})
        app = create_app(settings, with_workers=False)
        async with (
            LifespanManager(app) as manager,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app),
                base_url="http://catalog",
                headers={"Authorization": f"Bearer {token('editor')}"},
            ) as client,
        ):
            yield client, proxy


async def test_a_write_whose_commit_answer_was_lost_is_answered_as_written(
    through_proxy: tuple[httpx.AsyncClient, CommitProxy], catalog_settings: CatalogSettings
) -> None:
    # The server committed; only its answer to COMMIT was lost. This was a 503 telling the client
    # to repeat a write that had been saved.
    catalog, proxy = through_proxy
    proxy.arm(Fault.DELIVER)
    answer = await catalog.post("/v1/industries", json=AUTO)
    assert proxy.struck.is_set()
    assert answer.status_code == 201, answer.text
    assert answer.headers["mpe-write-token"]
    again = await catalog.post("/v1/industries", json=AUTO)
    assert again.status_code == 409, again.text
    admin = await connect(catalog_settings.database_dsn())
    try:
        assert await admin.fetchval("select count(*) from industries where code = 'AUTO'") == 1
        assert await admin.fetchval("select count(*) from outbox") == 1
    finally:
        await admin.close()


async def test_a_write_whose_outcome_is_unknown_says_so_in_both_languages(
    through_proxy: tuple[httpx.AsyncClient, CommitProxy],
    catalog_settings: CatalogSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    catalog, proxy = through_proxy
    monkeypatch.setattr(PostgresUnitOfWork, "settle_s", 0.3)
    answers = []
    for language in ("en", "ko-KR,ko;q=0.9"):
        proxy.arm(Fault.HOLD)
        answers.append(await catalog.post("/v1/industries", json=AUTO, headers={"Accept-Language": language}))
        proxy.release()
    english, korean = answers
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == "2"
    assert "whether it was saved could not be learned" in english.json()["detail"]
    assert "저장되었는지 확인하지 못했습니다" in korean.json()["detail"]
    # Neither was saved (the server rolled both back once it saw its client gone), so the client
    # that looks finds nothing, and its write then succeeds.
    assert (await catalog.get("/v1/industries/AUTO")).status_code == 404
    assert (await catalog.post("/v1/industries", json=AUTO)).status_code == 201
