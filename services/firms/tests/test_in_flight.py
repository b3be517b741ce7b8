"""The in-flight cap of a REST service (mpe_kit.inflight), on the firms API and its database."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import asyncpg
import httpx
from asgi_lifespan import LifespanManager

from firms.app import create_app
from firms.settings import FirmsSettings

from .conftest import TODAY, assert_problem, firm_body, snapshot, token, valid_brn


async def test_past_its_most_requests_at_once_a_service_refuses_503_and_changes_nothing(
    firms_settings: FirmsSettings, db: asyncpg.Connection
) -> None:
    """Two registrations are held in flight, their bodies half sent. A third write is refused at
    once and changes nothing; a probe still answers. Once the two are released, both are written,
    the count is back to 0, and the refused write goes through when sent again."""
    release = asyncio.Event()
    settings = firms_settings.model_copy(update={"max_in_flight": 2})
    app = create_app(settings, with_workers=False)
    app.state.clock = lambda: TODAY

    def held(brn: str) -> AsyncIterator[bytes]:
        body = json.dumps(firm_body(brn)).encode()

        async def parts() -> AsyncIterator[bytes]:
            yield body[:5]
            await release.wait()
            yield body[5:]

        return parts()

    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app),
            base_url="http://firms",
            headers={"Authorization": f"Bearer {token('editor')}", "Content-Type": "application/json"},
        ) as client,
    ):
        in_flight = app.state.in_flight
        first, second, third = (valid_brn(f"80000000{n}") for n in range(3))
        waiting = [asyncio.create_task(client.post("/v1/firms", content=held(b))) for b in (first, second)]
        deadline = time.monotonic() + 5
        while in_flight.count < 2:
            assert time.monotonic() < deadline, "the two held writes never got in"
            await asyncio.sleep(0.01)

        before = await snapshot(db)
        refused = await client.post("/v1/firms", json=firm_body(third))
        body = assert_problem(refused, 503)
        assert refused.headers["retry-after"] == "1"
        assert body["retry_after_s"] == 1
        assert body["detail"] == (
            "This firms instance is already working on 2 requests, its most at once; nothing was"
            " changed. Retry in 1 s."
        )
        assert await snapshot(db) == before, "a refused write changed the database"
        assert (await client.get("/healthz")).status_code == 200

        release.set()
        for answer in await asyncio.gather(*waiting):
            assert answer.status_code == 201, answer.text
        assert in_flight.count == 0
        again = await client.post("/v1/firms", json=firm_body(third))
        assert again.status_code == 201, again.text
        metrics = (await client.get("/metrics")).text

    written = await db.fetchval(
        "select count(*) from firms where brn = any($1::text[])", [first, second, third]
    )
    assert written == 3
    assert "mpe_http_busy_refusals_total 1.0" in metrics
    assert 'mpe_http_requests_total{method="POST",route="unmatched",status="503"} 1.0' in metrics
