"""`/graphql` over HTTP: admission, persisted queries, read-your-writes, caches, then execution.

One request goes through, in order:
0. the instance's in-flight cap (`GATEWAY_MAX_IN_FLIGHT`): past it, 503 before anything is read;
1. the partner's key and its rate limit (401, 429);
2. the body (`query`, `variables`, `operationName`, `extensions`; 400 when malformed);
3. automatic persisted queries: `extensions.persistedQuery.sha256Hash` names a document the
   gateway has seen (the APQ protocol); an unknown hash asks the client to send the text once;
4. read-your-writes: `MPE-Wait-For` carries write tokens from the services' REST answers; the
   request waits (bounded) until the projector has applied every event of those writes;
5. the response cache, keyed by (document, operation, variables, scopes, projection watermark,
   day in Korea); a projected change moves the watermark, so no entry outlives the data it
   was built from. A miss while an identical request at the same watermark is executing
   waits for that request's answer instead of executing again (answered by `shared`);
6. execution: a compiled SQL statement for the selections it covers, else strawberry.
Every answer carries `extensions.dataAsOf`: the read model holds every event the sources had
published by then (see `freshness.DataAsOf`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg
from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway import store
from gateway.http.access import (
    BUSY,
    CLIENT_CLOSED_REQUEST,
    GRAPHQL_PATH,
    QUERY_TIMEOUT,
    request_record,
)
from gateway.http.admission import (
    JSON,
    RequestError,
    admit,
    persisted,
    read_request,
)
from gateway.http.execute import body_of, compiled, execute, measure_operation
from gateway.http.languages import content_headers
from gateway.http.prepared import LRU, PreparedOperations, unnamed_choice
from gateway.http.response_cache import Building, Cached, ResponseCache, cacheable
from gateway.portal import EXPLORER_PATH
from gateway.projector import freshness
from gateway.projector.handlers import HANDLERS
from gateway.read.common import SEOUL
from gateway.settings import GatewaySettings
from gateway.state import started, state_of
from mpe_events.registry import source
from mpe_kit import inflight, transient
from mpe_kit.errors import Problem
from mpe_kit.problems import answer_to, problem_response, unexpected, wants_korean
from mpe_kit.writes import InvalidWriteToken, Written, decode

WAIT_HEADER = "mpe-wait-for"
# Seconds a client is asked to wait when the instance is at GATEWAY_MAX_IN_FLIGHT: the same as
# the REST services' cap asks for (/graphql counts its requests itself, see GraphQLHTTP).
BUSY_RETRY_S = inflight.RETRY_AFTER_S


class GraphQLHTTP:
    """The per-app state of the /graphql route: its caches and settings."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.operations = PreparedOperations(settings)
        self.persisted = LRU(settings.persisted_query_cache_size)
        self.responses = ResponseCache(settings.response_cache_size, settings.response_cache_max_entry_bytes)
        self.data_as_of = freshness.DataAsOf()
        # Requests between the endpoint's first look and their answer sent (GATEWAY_MAX_IN_FLIGHT).
        self.in_flight = 0


# The services whose events the projector applies (event types read `kr.mpe.<service>.…`): a
# write token naming another source could never be waited for to the end.
PROJECTED_SOURCES = frozenset(source(t.split(".")[2]) for t in HANDLERS)


def _wait_tokens(request: Request) -> list[Written]:
    written: list[Written] = []
    for header in request.headers.getlist(WAIT_HEADER):
        for token in header.split(","):
            if token.strip():
                try:
                    written.extend(decode(token))
                except InvalidWriteToken as exc:
                    raise RequestError(
                        f"{WAIT_HEADER} holds something that is not a write token; send the"
                        " MPE-Write-Token header of a write as it came.",
                        "BAD_REQUEST",
                        ko=f"{WAIT_HEADER}에 쓰기 토큰이 아닌 값이 있습니다. 쓰기 응답의 MPE-Write-Token 헤더를 받은"
                        " 그대로 보내십시오.",
                    ) from exc
    foreign = sorted({w.source for w in written} - PROJECTED_SOURCES)
    if foreign:
        raise RequestError(
            f"{WAIT_HEADER} names writes of {', '.join(foreign)}, which this gateway does not show;"
            f" it waits for writes of {', '.join(sorted(PROJECTED_SOURCES))}.",
            "BAD_REQUEST",
            ko=f"{WAIT_HEADER}에 이 게이트웨이가 보여 주지 않는 {', '.join(foreign)}의 쓰기가 있습니다."
            f" 기다릴 수 있는 것은 {', '.join(sorted(PROJECTED_SOURCES))}의 쓰기입니다.",
        )
    return written


def _with_extensions(body: bytes, as_of: datetime | None) -> bytes:
    stamp = json.dumps(as_of.isoformat() if as_of else None)
    return body[:-1] + b',"extensions":{"dataAsOf":' + stamp.encode() + b"}}"


# An answer depends on the key that asked (its scopes); no cache between the partner and the
# gateway may keep it for someone else. The gateway's own cache knows the scopes. Its errors are
# in the language the request's Accept-Language prefers (`gateway.http.languages`).
NOT_STORED = {"Cache-Control": "no-store", "Vary": "Accept-Language"}


def _error_response(request: Request, error: RequestError, as_of: datetime | None) -> Response:
    korean = error.ko is not None and wants_korean(request)
    message = error.ko if korean else str(error)
    body = body_of({"errors": [{"message": message, "extensions": {"code": error.code, **error.extensions}}]})
    return Response(
        _with_extensions(body, as_of),
        status_code=error.status,
        media_type=JSON,
        headers=content_headers(NOT_STORED, korean),
    )


def _answered(request: Request, answer: Cached, as_of: datetime | None) -> Response:
    """The answer, its errors in Korean for a request that prefers Korean."""
    if answer.body_ko is not None and wants_korean(request):
        return Response(
            _with_extensions(answer.body_ko, as_of),
            media_type=JSON,
            headers=content_headers(NOT_STORED, answer.korean_whole),
        )
    return Response(_with_extensions(answer.body, as_of), media_type=JSON, headers=NOT_STORED)


def _busy(request: Request, cap: int) -> Response:
    """The 503 of an instance already working on its most requests at once (nothing was read)."""
    record = request_record(request)
    if record is not None:
        record.limit = BUSY
    return problem_response(
        503,
        f"This gateway instance is already working on {cap} requests, its most at once;"
        f" retry in {BUSY_RETRY_S} s.",
        instance=GRAPHQL_PATH,
        korean=wants_korean(request),
        detail_ko=f"이 게이트웨이 인스턴스는 이미 한 번에 처리할 수 있는 최대치인 요청 {cap}건을 처리하고"
        f" 있습니다. {BUSY_RETRY_S}초 뒤에 다시 시도하십시오.",
        headers={"Retry-After": str(BUSY_RETRY_S)},
        retry_after_s=BUSY_RETRY_S,
    )


def _note(request: Request, answer: Cached, answered_by: str, fallback: str | None = None) -> None:
    """The access record, written from what the stage that answered returned.

    Strawberry's extensions note its operation, outcome and errors as it runs (they also serve
    the WebSocket); for it only who answered, and why the compiled path did not, are added here.
    """
    record = request_record(request)
    if record is None:
        return
    record.answered_by = answered_by
    record.fallback = fallback
    if answered_by != "strawberry":
        record.operation = answer.operation
        record.operation_type = answer.operation_type
        record.cost = answer.cost
        record.error_codes = list(answer.error_codes)
        record.outcome = "error" if answer.error_codes else "ok"


async def graphql_http(request: Request) -> Response:
    """Answer one GraphQL request over HTTP (see the module's docstring)."""
    settings: GatewaySettings = request.app.state.settings
    gateway = state_of(request.app)
    state = gateway.graphql
    pool: asyncpg.Pool = request.app.state.pool
    if (
        request.method == "GET"
        and "query" not in request.query_params
        and "extensions" not in request.query_params
    ):
        if settings.graphiql and "text/html" in request.headers.get("accept", ""):
            # A browser opening /graphql finds the self-contained explorer (gateway.portal).
            return RedirectResponse(EXPLORER_PATH)
        raise Problem("Not Found", status=404, ko="그런 경로는 없습니다.")
    partner = await admit(request, request.headers.get("x-api-key"))
    as_of = await state.data_as_of.get(pool)
    try:
        req = await read_request(request)
        query, remember_as = persisted(state.persisted, req)
        written = _wait_tokens(request)
        if written:
            # Waiting for the projector is no work here: the request leaves the in-flight count
            # meanwhile, so that reads waiting on a lagging projector cannot fill the cap.
            state.in_flight -= 1
            try:
                pending = await freshness.wait_for_writes(
                    pool, written, timeout_s=settings.read_your_writes_timeout_s
                )
            finally:
                state.in_flight += 1
            if pending:
                raise RequestError(
                    f"The gateway has not yet applied {len(pending)} of the writes in"
                    f" {WAIT_HEADER} after {settings.read_your_writes_timeout_s:g} s; retry, or read"
                    " without waiting.",
                    "WRITE_NOT_YET_VISIBLE",
                    status=200,
                    ko=f"게이트웨이가 {settings.read_your_writes_timeout_s:g}초가 지나도록 {WAIT_HEADER}의 쓰기"
                    f" 가운데 {len(pending)}건을 아직 반영하지 못했습니다. 다시 시도하거나, 기다리지 않고 읽으십시오.",
                    timeoutSeconds=settings.read_your_writes_timeout_s,
                    pending=len(pending),
                )
            as_of = await state.data_as_of.get(pool, fresh=True)
        prepared = state.operations.prepare(query)
        if remember_as is not None and prepared.document is not None and not prepared.errors:
            state.persisted.put(remember_as, query)
        choice = unnamed_choice(prepared.document, req.operation_name)
        if choice is not None:
            raise RequestError(choice[0], "BAD_REQUEST", ko=choice[1])
        hub = gateway.changes
        key: tuple[Any, ...] | None = None
        building: Building | None = None
        watermark = 0
        if state.responses.enabled and hub is not None and hub.live and not prepared.volatile:
            watermark = hub.watermark
            if written:
                # What this request reads must include its writes: take the watermark from the
                # database too, not only from a notification that may still be on its way.
                async with pool.acquire() as conn:
                    watermark = max(watermark, await store.changes.changes_watermark(conn))
            key = (
                query,
                req.operation_name,
                json.dumps(req.variables, sort_keys=True) if req.variables else None,
                partner.scopes,
                datetime.now(SEOUL).date(),
            )
            found = state.responses.get(watermark, key)
            if found is not None:
                _note(request, found, "cache")
                return _answered(request, found, as_of)
            # An identical request at this watermark executing: its answer is this one's. If that
            # answer may not be shared (an error, or its task cancelled), one of those waiting
            # executes and the others wait for it, once more; then each executes on its own.
            for _ in range(2):
                building, first = state.responses.building(watermark, key)
                if first:
                    break
                found = await building.wait()
                if found is not None:
                    _note(request, found, "shared")
                    return _answered(request, found, as_of)
            else:
                building = None
        shared: Cached | None = None
        try:
            measured = measure_operation(state.settings, prepared, req)
            outcome = await compiled(request, state.settings, partner, prepared, req, measured)
            if isinstance(outcome, Cached):
                answer = outcome
                _note(request, answer, "compiled")
            else:
                answer = await execute(request, state.settings, partner, query, req, prepared, measured)
                _note(request, answer, "strawberry", outcome.reason)
            if key is not None and cacheable(prepared, answer.error_codes):
                state.responses.put(watermark, key, answer)
                shared = answer
            elif answer.error_codes and set(answer.error_codes) == {QUERY_TIMEOUT}:
                # Identical requests waiting for this one would meet the same limit, one after
                # the other: they get its answer now. Not cached: the next one may get through.
                shared = answer
        finally:
            if building is not None:
                building.done(shared)
        return _answered(request, answer, as_of)
    except RequestError as error:
        record = request_record(request)
        if record is not None:
            record.outcome = "rejected"
            record.error_codes = [error.code]
        return _error_response(request, error, as_of)


class GraphQLEndpoint:
    """ASGI middleware that answers GET and POST /graphql itself, right inside the access log.

    The gateway's hottest path skips what the app's own layers would add to it (exception
    middleware, route matching, the endpoint wrapper): some 80 µs a request, a sixth of a
    cached answer's cost. It renders errors as the app does: a Problem as problem+json, anything
    unexpected as a 500 with a correlation id in the log. Other methods and the WebSocket go on
    to strawberry's router.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"].rstrip("/") != GRAPHQL_PATH
            or scope["method"] not in ("GET", "POST")
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        gateway = started(scope["app"])
        if gateway is None:
            await self._answer(request, scope, receive, send)
            return
        http = gateway.graphql
        if 0 < http.settings.max_in_flight <= http.in_flight:
            await _busy(request, http.settings.max_in_flight)(scope, receive, send)
            return
        http.in_flight += 1
        try:
            await self._answer(request, scope, receive, send)
        finally:
            http.in_flight -= 1

    async def _answer(self, request: Request, scope: Scope, receive: Receive, send: Send) -> None:
        response: Response
        try:
            response = await graphql_http(request)
        except Problem as exc:
            response = answer_to(exc, request, instance=GRAPHQL_PATH)
        except ClientDisconnect:
            # The client gave up before it had sent its whole request (a timeout, under load):
            # nothing went wrong here and nobody is left to answer. Logged and counted as such,
            # not as an unexpected error.
            response = Response(status_code=CLIENT_CLOSED_REQUEST)
        except Exception as exc:
            fault = transient.unavailable(exc)
            if fault is None:
                response = unexpected(request, instance=GRAPHQL_PATH)
            else:
                # A database fault before the answer (a lost connection, a deadlock, the statement
                # timeout outside execution, whose own is a GraphQL error): the 503 the kit's
                # DatabaseFailover gives the REST routes, which this endpoint answers before.
                await transient.noted(scope, exc, fault)
                response = problem_response(
                    503,
                    fault.english,
                    instance=GRAPHQL_PATH,
                    korean=wants_korean(request),
                    detail_ko=fault.korean,
                    headers={"Retry-After": str(fault.retry_after_s)},
                    retry_after_s=fault.retry_after_s,
                )
        await response(scope, receive, send)
