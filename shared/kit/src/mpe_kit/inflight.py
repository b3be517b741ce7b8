"""At most so many requests at once on one instance of a service; past that, 503 at once.

An overloaded instance that queues every request answers each one later and later: clients give
up (a write may then have committed without anyone hearing of it), and Python keeps the memory a
burst took. Past `max_in_flight` requests in flight, this middleware answers 503 problem+json
with `Retry-After` before anything reads the request, so a refused write has changed nothing
and the client knows to retry. The health, readiness and metrics routes are never refused: a
busy instance is alive, and its probes must say so.

The gateway's /graphql keeps a count of its own (`gateway.http.endpoint`), which lets a read that
waits for its writes out of the count, so the gateway does not install this one.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter
from starlette.types import ASGIApp, Receive, Scope, Send

from mpe_kit.bodylimit import send_problem
from mpe_kit.http import QUIET_ROUTES

RETRY_AFTER_S = 1


@dataclass
class InFlight:
    """Requests an instance is working on now, and its most at once (0: no cap)."""

    cap: int
    count: int = 0


class InFlightCap:
    """ASGI middleware: 503 past `in_flight.cap` requests at once (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, in_flight: InFlight, service: str, refused: Counter) -> None:
        self.app = app
        self.in_flight = in_flight
        self.service = service
        self.refused = refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.in_flight
        if scope["type"] != "http" or state.cap <= 0 or scope["path"] in QUIET_ROUTES:
            await self.app(scope, receive, send)
            return
        if state.count >= state.cap:
            self.refused.inc()
            await send_problem(
                send,
                503,
                f"This {self.service} instance is already working on {state.cap} requests, its most"
                f" at once; nothing was changed. Retry in {RETRY_AFTER_S} s.",
                scope["path"],
                scope=scope,
                ko=f"이 {self.service} 인스턴스는 이미 한 번에 처리할 수 있는 최대치인 요청 {state.cap}건을"
                f" 처리하고 있습니다. 아무것도 바뀌지 않았습니다. {RETRY_AFTER_S}초 뒤에 다시 보내십시오.",
                headers=[(b"retry-after", str(RETRY_AFTER_S).encode())],
                retry_after_s=RETRY_AFTER_S,
            )
            return
        state.count += 1
        try:
            await self.app(scope, receive, send)
        finally:
            state.count -= 1


def install(app: FastAPI, *, cap: int, service: str, registry: CollectorRegistry) -> InFlight:
    """Add the cap to a FastAPI app; the count is also `app.state.in_flight`.

    `mpe_http_busy_refusals_total` counts the refusals. The request metrics count them too, as
    503s of the route "unmatched", since they never reach the routing.
    """
    in_flight = InFlight(cap)
    app.state.in_flight = in_flight
    refused = Counter(
        "mpe_http_busy_refusals",
        "Requests refused with 503 because the instance was already working on MAX_IN_FLIGHT",
        registry=registry,
    )
    app.add_middleware(InFlightCap, in_flight=in_flight, service=service, refused=refused)
    return in_flight
