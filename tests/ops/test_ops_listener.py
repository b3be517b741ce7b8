"""Every process answers health, readiness and metrics on its ops port, the worker too; the
gateway's partner port does not serve /metrics."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager

from catalog.app import all_migrations as catalog_migrations
from gateway.app import all_migrations as gateway_migrations
from gateway.app import create_app as gateway_app
from gateway.settings import GatewaySettings
from mpe_devstack.kafka import KafkaCluster
from mpe_devstack.ports import free_port
from mpe_kit import migrations, ops


async def _until_up(url: str, proc: asyncio.subprocess.Process) -> httpx.Response:
    async with httpx.AsyncClient(timeout=2) as client, asyncio.timeout(60):
        while True:
            assert proc.returncode is None, "the worker exited"
            try:
                return await client.get(url)
            except httpx.TransportError:
                await asyncio.sleep(0.2)


async def test_the_worker_serves_health_readiness_and_metrics(
    migrated_database: Callable[[str, list[migrations.Migration]], Awaitable[str]],
    kafka: KafkaCluster,
    topic_prefix: str,
    tmp_path: Path,
) -> None:
    dsn = await migrated_database("catalog", catalog_migrations())
    port = free_port()
    env = {
        **os.environ,
        "CATALOG_DATABASE_URL": dsn,
        "CATALOG_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "CATALOG_TOPIC_PREFIX": topic_prefix,
        "CATALOG_OPS_PORT": str(port),
        "CATALOG_LOG_JSON": "true",
    }
    worker = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "catalog"),
        "worker",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert (await _until_up(f"{base}/healthz", worker)).status_code == 200
        async with httpx.AsyncClient(timeout=5) as client:
            ready = await client.get(f"{base}/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["database"]["pending_migrations"] == 0
            async with asyncio.timeout(30):
                while True:
                    role = (await client.get(f"{base}/readyz")).json()["relay"]["role"]
                    if role == "leader":
                        break
                    await asyncio.sleep(0.2)
            metrics = (await client.get(f"{base}/metrics")).text
        for name in (
            "process_resident_memory_bytes",
            "process_cpu_seconds_total",
            "python_gc_collections_total",
            'mpe_db_pool_connections{state="idle"}',
            "mpe_db_pool_max",
            "mpe_relay_events_sent_total",
            "mpe_outbox_oldest_age_seconds",
            "mpe_relay_leader 1.0",
        ):
            assert name in metrics, name
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(worker.communicate(), 30)
        assert worker.returncode == 0, output.decode(errors="replace")[-2000:]


async def test_the_gateway_keeps_metrics_off_the_partner_port(
    migrated_database: Callable[[str, list[migrations.Migration]], Awaitable[str]],
) -> None:
    dsn = await migrated_database("gateway", gateway_migrations())
    app = gateway_app(GatewaySettings(database_url=dsn, log_json=False, kafka_bootstrap="127.0.0.1:1"))  # type: ignore[arg-type]
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway"
        ) as partner,
    ):
        assert (await partner.get("/metrics")).status_code == 404
        assert (await partner.get("/healthz")).status_code == 200
        metrics = await ops.scrape(app)
    assert "mpe_db_pool_connections" in metrics
    assert "python_gc_objects_collected_total" in metrics
