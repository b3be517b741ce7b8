"""The HTTP entry of the gateway: `/graphql`, behind a partner API key and its rate limit.

The same path takes WebSockets for subscriptions (graphql-transport-ws): the key comes as
`{"X-API-Key": key}`, the payload of `connection_init`; a missing or bad key closes the socket
with 4403. Each `subscribe` message then spends one request of the key's rate and is measured
against the same limits as a request over HTTP (tokens, depth, aliases, cost), before anything
runs: a refused one gets an `error` message naming the limit, as HTTP would answer it.
"""

from __future__ import annotations

import json
from typing import Any, cast

from fastapi import Request
from graphql import GraphQLError, parse
from starlette.requests import HTTPConnection
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types.unset import UNSET, UnsetType

from gateway.http.access import GRAPHQL_PATH
from gateway.http.admission import admit, rate_message, rate_message_ko
from gateway.http.languages import said_in_korean, socket_prefers_korean
from gateway.http.limits import check, measure, tokens_error
from gateway.http.prepared import unnamed_choice
from gateway.read.common import LocalizedError
from gateway.read.schema import Context, schema
from gateway.state import started, state_of


async def context(request: Request) -> Context:
    """An HTTP request's context. The gateway's own route (gateway.http) answers GET and POST
    before strawberry's router sees them; this admits the key the same way should one arrive."""
    partner = await admit(request, request.headers.get("x-api-key"))
    return Context(
        pool=request.app.state.pool, partner=partner, max_page=request.app.state.settings.max_page_size
    )


async def connection_context(connection: HTTPConnection) -> Context:
    """An HTTP request's context (see `context`), or a WebSocket's before its connection_init."""
    if connection.scope["type"] != "websocket":
        return await context(cast("Request", connection))
    state = connection.app.state
    gateway = started(connection.app)
    return Context(
        pool=state.pool,
        partner=None,
        max_page=state.settings.max_page_size,
        changes=gateway.changes if gateway is not None else None,
    )


class GatewayTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with the key's rate and the operation limits applied to each subscribe."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged and message["id"] not in self.operations:
            if not await self._key_still_valid():
                # Revoked or rotated out since connection_init: the socket serves nothing more.
                await self.websocket.close(
                    code=4403, reason="Forbidden: the API key is not valid or has been revoked"
                )
                return
            refusal = self._refusal(message["payload"])
            if refusal is not None:
                if socket_prefers_korean(self.context):
                    refusal = said_in_korean(refusal)
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [refusal.formatted]}
                )
                return
        await super().handle_subscribe(message)

    async def _key_still_valid(self) -> bool:
        """Whether the socket's key still authenticates, through the same key cache as HTTP (so a
        revoked key is refused within the cache's second)."""
        context = self.context
        if context.api_key is None or context.request is None:
            return True
        gate = state_of(context.request.app).gate
        return await gate.keys.authenticate(context.pool, context.api_key) is not None

    def _refusal(self, payload: Any) -> GraphQLError | None:
        context = self.context
        gateway = started(context.request.app) if context.request is not None else None
        if gateway is None or context.partner is None:
            return None
        settings = context.request.app.state.settings  # type: ignore[union-attr]
        if len(self.operations) >= settings.max_operations_per_socket:
            # Each subscription holds a follower of the change hub for as long as it runs.
            limit = settings.max_operations_per_socket
            return LocalizedError(
                f"This socket already runs {limit} operations; complete one, or open another socket.",
                f"이 소켓은 이미 연산 {limit}개를 실행하고 있습니다. 하나를 끝내거나 소켓을 하나 더 여십시오.",
                extensions={"code": "TOO_MANY_OPERATIONS", "limit": limit},
            )
        retry_after = gateway.gate.rate.take(context.partner.key_id)
        if retry_after is not None:
            return LocalizedError(
                rate_message(retry_after, settings),
                rate_message_ko(retry_after, settings),
                extensions={"code": "RATE_LIMITED", "retryAfterS": retry_after},
            )
        query, variables = payload.get("query"), payload.get("variables")
        if not isinstance(query, str):
            return None  # strawberry answers a malformed message itself
        limits = gateway.limits
        too_many = tokens_error(query, limits.max_tokens)
        if too_many is not None:
            return too_many
        try:
            document = parse(query, max_tokens=limits.max_tokens)
        except GraphQLError:
            return None  # strawberry reports the syntax error
        name = payload.get("operationName")
        choice = unnamed_choice(document, name if isinstance(name, str) else None)
        if choice is not None:
            return LocalizedError(choice[0], choice[1], extensions={"code": "BAD_REQUEST"})
        found = measure(
            schema._schema,
            document,
            name if isinstance(name, str) else None,
            variables if isinstance(variables, dict) else None,
            max_page=limits.max_page,
        )
        return check(found, limits) if found is not None else None


class GatewayRouter(GraphQLRouter[Context, None]):
    """Strawberry's router, whose WebSockets admit a partner by the key in connection_init."""

    graphql_transport_ws_handler_class = GatewayTransportWS

    def decode_json(self, data: str | bytes) -> object:
        """A message as JSON; one nested past Python's recursion limit is not JSON to us (4400)."""
        try:
            return json.loads(data)
        except RecursionError as exc:
            raise json.JSONDecodeError("nested too deeply", data if isinstance(data, str) else "", 0) from exc

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate the key in the connection_init payload; refuse the socket (4403) without one."""
        params = context.connection_params
        secret = params.get("X-API-Key") if isinstance(params, dict) else None
        if not isinstance(secret, str) or not secret:
            raise ConnectionRejectionError()
        assert context.request is not None
        gate = state_of(context.request.app).gate
        partner = await gate.keys.authenticate(context.pool, secret)
        if partner is None:
            raise ConnectionRejectionError()
        context.partner = partner
        context.api_key = secret
        return cast("UnsetType", UNSET)


def graphql_router() -> GraphQLRouter[Any, Any]:
    """The strawberry router for subscriptions over graphql-transport-ws; the explorer is gateway.portal's."""
    return GatewayRouter(
        schema,
        path=GRAPHQL_PATH,
        context_getter=connection_context,
        graphql_ide=None,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
    )
