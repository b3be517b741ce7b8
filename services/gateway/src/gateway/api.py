"""The HTTP entry of the gateway: `/graphql`, behind a partner API key and its rate limit.

The same path takes WebSockets for subscriptions (graphql-transport-ws): the key comes as
`{"X-API-Key": key}`, the payload of `connection_init`; a missing or bad key closes the socket
with 4403.
"""

from __future__ import annotations

from typing import Any, cast

from fastapi import Request
from starlette.requests import HTTPConnection
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from gateway.access import GRAPHQL_PATH, Gate, request_record
from gateway.feed import ChangeHub
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


async def connection_context(connection: HTTPConnection) -> Context:
    """An HTTP request's context (see `context`), or a WebSocket's before its connection_init."""
    if connection.scope["type"] != "websocket":
        return await context(cast("Request", connection))
    state = connection.app.state
    hub = getattr(state, "changes", None)
    return Context(
        pool=state.pool,
        partner=None,
        max_page=state.settings.max_page_size,
        changes=hub if isinstance(hub, ChangeHub) else None,
    )


class GatewayRouter(GraphQLRouter[Context, None]):
    """Strawberry's router, whose WebSockets admit a partner by the key in connection_init."""

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate the key in the connection_init payload; refuse the socket (4403) without one."""
        params = context.connection_params
        secret = params.get("X-API-Key") if isinstance(params, dict) else None
        if not isinstance(secret, str) or not secret:
            raise ConnectionRejectionError()
        gate: Gate = context.request.app.state.gateway  # type: ignore[union-attr]
        partner = await gate.keys.authenticate(context.pool, secret)
        if partner is None:
            raise ConnectionRejectionError()
        context.partner = partner
        return cast("UnsetType", UNSET)


def graphql_router(settings: GatewaySettings) -> GraphQLRouter[Any, Any]:
    """The strawberry router; GraphiQL only where enabled (dev); subscriptions over graphql-transport-ws."""
    return GatewayRouter(
        schema,
        path=GRAPHQL_PATH,
        context_getter=connection_context,
        graphql_ide="graphiql" if settings.graphiql else None,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
    )
