"""The HTTP side every service shares: health, metrics, tracing and error handling."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mpe_kit import migrations, problems
from mpe_kit.db import Pool
from mpe_kit.logging import get_logger
from mpe_kit.relay import outbox_lag
from mpe_kit.status import RuntimeStatus
from mpe_kit.tracing import set_traceparent
from mpe_kit.uow import PostgresUnitOfWork, UnitOfWork
from mpe_kit.writes import recorder_of

log = get_logger("mpe.http")
# Probes and scrapes every few seconds would bury the requests that matter.
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


class RequestMetrics:
    """ASGI middleware: count and time requests by route template, adopt traceparent, and write
    one access log line per request (where the app has no access log of its own)."""

    def __init__(self, app: ASGIApp, *, registry: CollectorRegistry, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log
        self.requests = Counter(
            "mpe_http_requests", "HTTP requests", ["method", "route", "status"], registry=registry
        )
        self.latency = Histogram(
            "mpe_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw_tp = headers.get(b"traceparent")
        set_traceparent(raw_tp.decode("latin-1") if raw_tp else None)
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            seconds = time.perf_counter() - start
            self.requests.labels(scope["method"], template, str(status)).inc()
            self.latency.labels(scope["method"], template).observe(seconds)
            if self.access_log and template not in QUIET_ROUTES:
                log.info(
                    "http request",
                    method=scope["method"],
                    route=template,
                    path=scope["path"],
                    status=status,
                    duration_ms=round(seconds * 1000, 2),
                )


def health_router(
    *,
    pool_of: Callable[[], Pool],
    all_migrations: list[migrations.Migration],
    status: RuntimeStatus,
    registry: CollectorRegistry,
    has_outbox: bool = True,
    extra: Callable[[], Awaitable[dict[str, Any]]] | None = None,
) -> APIRouter:
    """/healthz (liveness), /readyz (DB and migrations; reports Kafka without failing) and /metrics."""
    router = APIRouter(tags=["operations"])
    outbox_pending = Gauge(
        "mpe_outbox_pending", "Outbox rows not yet acknowledged by Kafka", registry=registry
    )
    outbox_age = Gauge(
        "mpe_outbox_oldest_age_seconds", "Age of the oldest unsent outbox row", registry=registry
    )

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz", responses={503: {"description": "Not ready: the same body, with status not ready."}}
    )
    async def readyz() -> JSONResponse:
        body: dict[str, Any] = {"status": "ready", "database": {"reachable": False}}
        ready = False
        try:
            async with pool_of().acquire(timeout=2) as conn:
                todo = await migrations.pending(conn, all_migrations)
                body["database"] = {"reachable": True, "pending_migrations": len(todo)}
                ready = not todo
                if has_outbox:
                    n, age = await outbox_lag(conn)
                    body["outbox"] = {"pending": n, "oldest_age_s": round(age, 3)}
        except Exception as exc:
            body["database"]["error"] = f"{type(exc).__name__}: {exc}"
        body.update(status.report())
        if extra is not None:
            body.update(await extra())
        if not ready:
            body["status"] = "not ready"
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get(
        "/metrics",
        responses={200: {"description": "Prometheus text format.", "content": {CONTENT_TYPE_LATEST: {}}}},
    )
    async def metrics() -> Response:
        if has_outbox:
            try:
                async with pool_of().acquire(timeout=2) as conn:
                    n, age = await outbox_lag(conn)
                outbox_pending.set(n)
                outbox_age.set(age)
            except Exception as exc:
                log.warning("metrics could not read the outbox", error=str(exc))
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


def install(app: FastAPI, *, registry: CollectorRegistry, access_log: bool = True) -> None:
    """Problem+json errors, request metrics and the access log for an app."""
    problems.install(app)
    app.add_middleware(RequestMetrics, registry=registry, access_log=access_log)


async def request_pool(request: Request) -> Pool:
    """The app's database pool (a FastAPI dependency)."""
    pool: Pool = request.app.state.pool
    return pool


async def request_uow(request: Request) -> UnitOfWork:
    """A unit of work on the app's pool that notes its writes in the request's write token (a FastAPI dependency)."""
    source: str = request.app.state.event_source
    return PostgresUnitOfWork(request.app.state.pool, source=source, writes=recorder_of(request.scope))
