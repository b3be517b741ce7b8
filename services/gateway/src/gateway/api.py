"""The HTTP entry of the gateway: `/graphql`, behind a partner API key and its rate limit."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from strawberry.fastapi import GraphQLRouter

from gateway.access import GRAPHQL_PATH, Gate, request_record
from gateway.graphql import Context, schema
from gateway.settings import GatewaySettings
from mpe_kit.errors import Problem


def _unauthorized(detail: str) -> Problem:
    return Problem(detail, status=401, headers={"WWW-Authenticate": 'ApiKey header="X-API-Key"'})


def _rate_limited(retry_after: int, settings: GatewaySettings) -> Problem:
    return Problem(
        f"This key may make {settings.rate_limit_per_s:g} requests a second, in bursts of up to"
        f" {settings.rate_limit_burst}; retry in {retry_after} s.",
        status=429,
        headers={"Retry-After": str(retry_after)},
        retry_after_s=retry_after,
    )


async def context(request: Request) -> Context:
    """Authenticate the partner, spend one request of its rate, and build the request's context."""
    settings: GatewaySettings = request.app.state.settings
    gate: Gate = request.app.state.gateway
    pool = request.app.state.pool
    # The GraphiQL page itself carries no data; its queries send the key like any client.
    if (
        settings.graphiql
        and request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and "query" not in request.query_params
    ):
        return Context(pool=pool, partner=None, max_page=settings.max_page_size)
    secret = request.headers.get("x-api-key")
    if not secret:
        raise _unauthorized("Send your partner API key in the X-API-Key header.")
    partner = await gate.keys.authenticate(pool, secret)
    if partner is None:
        raise _unauthorized("The API key is not valid or has been revoked.")
    record = request_record(request)
    if record is not None:
        record.admit(partner)
    retry_after = gate.rate.take(partner.key_id)
    if retry_after is not None:
        raise _rate_limited(retry_after, settings)
    return Context(pool=pool, partner=partner, max_page=settings.max_page_size)


def graphql_router(settings: GatewaySettings) -> GraphQLRouter[Any, Any]:
    """The strawberry router; GraphiQL only where enabled (dev)."""
    return GraphQLRouter(
        schema,
        path=GRAPHQL_PATH,
        context_getter=context,
        graphql_ide="graphiql" if settings.graphiql else None,
    )
