"""The HTTP entry of the gateway: `/graphql`, behind a partner API key."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from strawberry.fastapi import GraphQLRouter

from gateway import keys
from gateway.graphql import Context, schema
from gateway.settings import GatewaySettings
from mpe_kit.errors import Problem


def _unauthorized(detail: str) -> Problem:
    return Problem(detail, status=401, headers={"WWW-Authenticate": 'ApiKey header="X-API-Key"'})


async def context(request: Request) -> Context:
    """Authenticate the partner and build the request's context."""
    settings: GatewaySettings = request.app.state.settings
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
    async with pool.acquire() as conn:
        partner = await keys.authenticate(conn, secret)
    if partner is None:
        raise _unauthorized("The API key is not valid or has been revoked.")
    return Context(pool=pool, partner=partner, max_page=settings.max_page_size)


def graphql_router(settings: GatewaySettings) -> GraphQLRouter[Any, Any]:
    """The strawberry router; GraphiQL only where enabled (dev)."""
    return GraphQLRouter(
        schema,
        path="/graphql",
        context_getter=context,
        graphql_ide="graphiql" if settings.graphiql else None,
    )
