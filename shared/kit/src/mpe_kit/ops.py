"""The ops listener: /healthz, /readyz and /metrics on a port of their own, in every process.

Partners and staff reach only the API port; probes and Prometheus reach the ops port. The
worker process, which serves no API, answers there too. Besides the service's own metrics the
registry carries the process (CPU, memory, open files), the garbage collector and the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import uvicorn
from fastapi import APIRouter, FastAPI
from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute

from mpe_kit.db import Pool
from mpe_kit.status import RuntimeStatus


class PoolCollector(Collector):
    """The database pool's connections by state, read at scrape time."""

    def __init__(self, pool_of: Callable[[], Pool]) -> None:
        self._pool_of = pool_of

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Busy and idle connections, and the pool's ceiling."""
        try:
            pool = self._pool_of()
        except AttributeError:  # not built yet, or already gone
            return
        connections = GaugeMetricFamily(
            "mpe_db_pool_connections", "Database pool connections by state", labels=["state"]
        )
        idle = pool.get_idle_size()
        connections.add_metric(["idle"], idle)
        connections.add_metric(["busy"], pool.get_size() - idle)
        yield connections
        yield GaugeMetricFamily("mpe_db_pool_max", "Database pool size limit", value=pool.get_max_size())


class RelayCollector(Collector):
    """1 while this process's relay leads, 0 while it waits or reconnects; absent without a relay.

    Summed over a service's pods, 0 means nobody sends the outbox (the MpeNoActiveRelay alert).
    """

    def __init__(self, status: RuntimeStatus) -> None:
        self._status = status

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The relay's role as a gauge."""
        if self._status.relay_role in ("not running", "stopped"):
            return
        yield GaugeMetricFamily(
            "mpe_relay_leader",
            "1 if this process's relay holds the leader lock",
            value=self._status.relay_role == "leader",
        )


def install_collectors(
    registry: CollectorRegistry, pool_of: Callable[[], Pool], status: RuntimeStatus
) -> None:
    """Process, GC, platform, pool and relay metrics in the service's registry."""
    for collector in (PROCESS_COLLECTOR, GC_COLLECTOR, PLATFORM_COLLECTOR):
        registry.register(collector)
    registry.register(PoolCollector(pool_of))
    registry.register(RelayCollector(status))


def ops_app(routes: list[BaseRoute]) -> FastAPI:
    """An app with only the operations routes, and no docs."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(APIRouter(routes=routes))
    return app


async def scrape(app: FastAPI) -> str:
    """An app's /metrics as its ops listener serves it, read in process (tests, tools)."""
    transport = httpx.ASGITransport(app=app.state.ops_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ops") as client:
        response = await client.get("/metrics")
        response.raise_for_status()
        return response.text


def without_metrics(routes: list[BaseRoute]) -> list[BaseRoute]:
    """The same routes minus /metrics, for an API port that must not expose it."""
    return [r for r in routes if getattr(r, "path", None) != "/metrics"]


class _OpsServer(uvicorn.Server):
    """A uvicorn server that leaves signals to the process's main loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def ops_server(app: FastAPI, *, host: str, port: int) -> uvicorn.Server:
    """A server for the ops app; stop it by setting `should_exit`."""
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off")
    return _OpsServer(config)


@contextlib.asynccontextmanager
async def serving(server: uvicorn.Server | None) -> AsyncIterator[None]:
    """Run the ops server (if any) for the duration of the block."""
    if server is None:
        yield
        return
    task = asyncio.create_task(server.serve())
    try:
        yield
    finally:
        server.should_exit = True
        await task
