"""The gateway's composition root: nothing runs at import; `create_app` builds it all."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.middleware import Middleware

from gateway import store
from gateway.http.access import AccessLog, Gate, GatewayMetrics, RateLimiter
from gateway.http.endpoint import GraphQLEndpoint, GraphQLHTTP
from gateway.http.export import export_router
from gateway.http.limits import Limits
from gateway.http.spending_export import spending_export_router
from gateway.http.websocket import graphql_router
from gateway.partners.keys import KeyCache
from gateway.portal import portal_router
from gateway.projector import freshness
from gateway.projector.parts import projector_parts
from gateway.read.hub import ChangeHub
from gateway.settings import GatewaySettings
from gateway.state import GatewayState, started
from mpe_kit import migrations
from mpe_kit.service import Runtime, ServiceSpec, Worker, event_consumer
from mpe_kit.service import create_app as build_app
from mpe_kit.settings import ServiceSettings

# Package data: shipped inside the wheel, found wherever the package is installed.
MIGRATIONS = Path(str(resources.files("gateway") / "migrations"))


def all_migrations() -> list[migrations.Migration]:
    """The kit's tables, then the read model's."""
    return migrations.kit_migrations() + migrations.load("gateway", MIGRATIONS)


def _workers(rt: Runtime) -> list[Worker]:
    s = rt.settings
    assert isinstance(s, GatewaySettings)
    projector = event_consumer(
        rt,
        group=s.projector_group,
        on_caught_up=freshness.CaughtUpRecorder(rt.pool),
        **projector_parts(),
    )
    return [projector.run]


def _freshness(rt: Runtime) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def report() -> dict[str, Any]:
        async with rt.pool.acquire() as conn:
            rows = await store.changes.freshness(conn)
        return {
            "projection": {
                r["topic"]: {
                    "last_event_time": r["last_event_time"].isoformat() if r["last_event_time"] else None,
                    "lag": r["lag"],
                    "caught_up_at": r["caught_up_at"].isoformat() if r["caught_up_at"] else None,
                }
                for r in rows
            }
        }

    return report


async def _start(rt: Runtime, app: FastAPI) -> None:
    """Per app, as one typed state: admission (keys, rate, metrics), the limits, the /graphql
    route's caches, the change hub and the export slots."""
    s = rt.settings
    assert isinstance(s, GatewaySettings)
    before = started(app)
    # The metrics are registered once per registry: an app started again keeps its gate.
    gate = (
        before.gate
        if before is not None
        else Gate(
            keys=KeyCache(ttl_s=s.key_cache_ttl_s),
            rate=RateLimiter(per_s=s.rate_limit_per_s, burst=s.rate_limit_burst),
            metrics=GatewayMetrics(rt.registry),
        )
    )
    hub = ChangeHub(dsn=s.database_dsn(), pool=rt.pool, poll_s=s.changes_poll_s)
    await hub.start()
    app.state.gateway = GatewayState(
        gate=gate,
        limits=Limits.of(s),
        graphql=GraphQLHTTP(s),
        changes=hub,
        export_slots=asyncio.Semaphore(max(1, s.db_pool_max // 2)),
    )
    # Strawberry logs every GraphQL error, a client's FORBIDDEN included, with a traceback; the
    # access log notes each error's code and the unexpected ones are logged with a correlation id.
    logging.getLogger("strawberry.execution").setLevel(logging.CRITICAL)


async def _stop(_rt: Runtime, app: FastAPI) -> None:
    """Stop the change hub: its subscriptions end and its connection closes."""
    gateway = started(app)
    if gateway is not None:
        await gateway.changes.stop()


def _fastapi_kwargs(_settings: ServiceSettings) -> dict[str, Any]:
    # The access log wraps the /graphql endpoint, which answers before the app's routing.
    # /docs is the partner documentation (gateway.portal), not FastAPI's Swagger UI.
    return {
        "middleware": [Middleware(AccessLog), Middleware(GraphQLEndpoint)],
        "docs_url": None,
        "redoc_url": None,
    }


def spec(settings: GatewaySettings) -> ServiceSpec:
    """The gateway's parts, for the kit to assemble."""
    return ServiceSpec(
        name="gateway",
        title="mpehub gateway",
        migrations=all_migrations,
        # GET and POST /graphql are answered by the GraphQLEndpoint middleware; strawberry's
        # router serves the websocket protocol on the same path.
        routers=lambda: [
            graphql_router(),
            spending_export_router(),
            export_router(),
            portal_router(settings),
        ],
        workers=_workers,
        consumer_groups=lambda _s: [settings.projector_group],
        has_outbox=False,
        staff_auth=False,
        readyz_extra=_freshness,
        on_start=_start,
        on_stop=_stop,
        fastapi_kwargs=_fastapi_kwargs,
        metrics_on_api_port=False,
        access_log=False,
        # /graphql counts its own requests in flight (GATEWAY_MAX_IN_FLIGHT): a read that waits
        # for its writes leaves that count, which the kit's cap could not know.
        in_flight_cap=False,
    )


def create_app(settings: GatewaySettings | None = None, *, with_workers: bool = True) -> FastAPI:
    """The gateway's ASGI app."""
    s = settings or GatewaySettings()
    return build_app(spec(s), s, with_workers=with_workers)
