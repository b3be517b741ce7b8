"""The gateway's composition root: nothing runs at import; `create_app` builds it all."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.middleware import Middleware

from gateway import freshness, repository
from gateway.access import AccessLog, Gate, GatewayMetrics, RateLimiter
from gateway.api import graphql_router
from gateway.export import export_router
from gateway.feed import ChangeHub
from gateway.http import GraphQLEndpoint, GraphQLHTTP
from gateway.keys import KeyCache
from gateway.limits import Limits
from gateway.portal import portal_router
from gateway.projections import HANDLERS
from gateway.settings import GatewaySettings
from mpe_kit import migrations
from mpe_kit.service import Runtime, ServiceSpec, Worker, event_consumer
from mpe_kit.service import create_app as build_app
from mpe_kit.settings import ServiceSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def all_migrations() -> list[migrations.Migration]:
    """The kit's tables, then the read model's."""
    return migrations.kit_migrations() + migrations.load("gateway", MIGRATIONS)


def _workers(rt: Runtime) -> list[Worker]:
    s = rt.settings
    assert isinstance(s, GatewaySettings)
    projector = event_consumer(
        rt,
        group=s.projector_group,
        handlers=HANDLERS,
        on_batch=freshness.on_batch,
        on_caught_up=freshness.CaughtUpRecorder(rt.pool),
    )
    return [projector.run]


def _freshness(rt: Runtime) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def report() -> dict[str, Any]:
        async with rt.pool.acquire() as conn:
            rows = await repository.freshness(conn)
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
    """Per app: the key cache, rate limiter, metrics and limits the GraphQL route uses; the change hub."""
    s = rt.settings
    assert isinstance(s, GatewaySettings)
    if not isinstance(getattr(app.state, "gateway", None), Gate):
        app.state.gateway = Gate(
            keys=KeyCache(ttl_s=s.key_cache_ttl_s),
            rate=RateLimiter(per_s=s.rate_limit_per_s, burst=s.rate_limit_burst),
            metrics=GatewayMetrics(rt.registry),
        )
    app.state.limits = Limits.of(s)
    app.state.graphql_http = GraphQLHTTP(s)
    hub = ChangeHub(dsn=s.database_url, pool=rt.pool, poll_s=s.changes_poll_s)
    await hub.start()
    app.state.changes = hub
    # Strawberry logs every GraphQL error, a client's FORBIDDEN included, with a traceback; the
    # access log notes each error's code and the unexpected ones are logged with a correlation id.
    logging.getLogger("strawberry.execution").setLevel(logging.CRITICAL)


async def _stop(_rt: Runtime, app: FastAPI) -> None:
    """Stop the change hub: its subscriptions end and its connection closes."""
    hub = getattr(app.state, "changes", None)
    if isinstance(hub, ChangeHub):
        await hub.stop()


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
        routers=lambda: [graphql_router(), export_router(), portal_router(settings)],
        workers=_workers,
        has_outbox=False,
        staff_auth=False,
        readyz_extra=_freshness,
        on_start=_start,
        on_stop=_stop,
        fastapi_kwargs=_fastapi_kwargs,
    )


def create_app(settings: GatewaySettings | None = None, *, with_workers: bool = True) -> FastAPI:
    """The gateway's ASGI app."""
    s = settings or GatewaySettings()
    return build_app(spec(s), s, with_workers=with_workers)
