"""/readyz tells the truth about Kafka: reachable false while the broker is silent, last_ok moving while it answers."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.settings import GatewaySettings
from mpe_devstack.kafka import KafkaCluster


async def readyz(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/readyz")
    # Readiness is about the database: Kafka never turns it red.
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()["kafka"]
    return body


async def until(client: httpx.AsyncClient, reachable: bool, timeout_s: float = 20) -> dict[str, Any]:
    async with asyncio.timeout(timeout_s):
        while (body := await readyz(client))["reachable"] is not reachable:  # noqa: ASYNC110 - polling HTTP
            await asyncio.sleep(0.2)
    return body


async def test_readyz_follows_a_paused_broker(
    gateway_db: str, kafka: KafkaCluster, topic_prefix: str
) -> None:
    settings = GatewaySettings(
        database_url=gateway_db,
        kafka_bootstrap=kafka.bootstrap,
        topic_prefix=topic_prefix,
        log_json=False,
        kafka_probe_interval_s=0.5,
    )
    app = create_app(settings, with_workers=True)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway"
        ) as client,
    ):
        first = await until(client, True)
        # last_ok moves while the broker answers, not only when the process started.
        async with asyncio.timeout(10):
            while (later := await readyz(client))["last_ok"] == first["last_ok"]:  # noqa: ASYNC110 - polling HTTP
                await asyncio.sleep(0.2)
        assert later["last_ok"] > first["last_ok"]
        assert later["reachable"] is True
        kafka.pause_node(1)
        try:
            silent = await until(client, False)
            assert silent["last_error"]
            stale = silent["last_ok"]
            await asyncio.sleep(1)
            assert (await readyz(client))["last_ok"] == stale
        finally:
            kafka.resume_node(1)
        back = await until(client, True, timeout_s=30)
        assert back["last_ok"] > stale
        assert back["last_error"] is None
