"""Workers start once the database holds every migration their code expects."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from mpe_kit import db, migrations, service
from mpe_kit.settings import ServiceSettings


async def test_a_worker_waits_for_the_migrations_then_runs(
    new_database: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by a review: a new release's worker started beside its migrations Job, failed each
    # event on tables not made yet, and dead-lettered them.
    monkeypatch.setattr(service, "MIGRATIONS_POLL_S", 0.05)
    dsn = new_database("wait")
    wanted = migrations.kit_migrations()
    pool = await db.create_pool(dsn, min_size=1, max_size=2)
    started = asyncio.Event()

    async def worker(stop: asyncio.Event) -> None:
        started.set()
        await stop.wait()

    stop = asyncio.Event()
    rt = service.Runtime(settings=ServiceSettings(), pool=pool)
    task = asyncio.create_task(service.after_migrations(worker, rt, wanted)(stop))
    try:
        # Nothing applied (not even schema_migrations), then all but the last file: it waits.
        await asyncio.sleep(0.3)
        assert not started.is_set()
        await migrations.migrate(dsn, wanted[:-1])
        await asyncio.sleep(0.3)
        assert not started.is_set()
        await migrations.migrate(dsn, wanted)
        async with asyncio.timeout(5):
            await started.wait()
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await pool.close()


async def test_a_waiting_worker_stops_when_asked(new_database: Callable[[str], str]) -> None:
    pool = await db.create_pool(new_database("wait"), min_size=1, max_size=1)

    async def worker(stop: asyncio.Event) -> None:
        raise AssertionError("must not start")

    stop = asyncio.Event()
    rt = service.Runtime(settings=ServiceSettings(), pool=pool)
    task = asyncio.create_task(service.after_migrations(worker, rt, migrations.kit_migrations())(stop))
    await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 5)
    await pool.close()
