"""`/graphql` over HTTP: admission, persisted queries, read-your-writes, caches, then execution.

One request goes through, in order:
1. the partner's key and its rate limit (401, 429);
2. the body (`query`, `variables`, `operationName`, `extensions`; 400 when malformed);
3. automatic persisted queries: `extensions.persistedQuery.sha256Hash` names a document the
   gateway has seen (the APQ protocol); an unknown hash asks the client to send the text once;
4. read-your-writes: `MPE-Wait-For` carries write tokens from the services' REST answers; the
   request waits (bounded) until the projector has applied every event of those writes;
5. the response cache, keyed by (document, operation, variables, scopes, projection watermark,
   day in Korea); a projected change moves the watermark, so no entry outlives the data it
   was built from;
6. execution: a compiled SQL statement for the selections it covers, else strawberry.
Every answer carries `extensions.dataAsOf`: the read model holds every event the sources had
published by then (see `freshness.DataAsOf`).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_operation_ast,
    specified_rules,
    validate,
)
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType as StrawberryOperationType

from gateway import freshness, limits, repository
from gateway.access import GRAPHQL_PATH, Gate, request_record
from gateway.compiled import compile_operation
from gateway.graphql import SEOUL, Context, schema
from gateway.keys import Partner
from gateway.portal import EXPLORER_PATH
from gateway.settings import GatewaySettings
from mpe_kit.errors import Problem
from mpe_kit.logging import get_logger
from mpe_kit.problems import problem_response
from mpe_kit.writes import InvalidWriteToken, Written, decode

log = get_logger("gateway.http")

WAIT_HEADER = "mpe-wait-for"
JSON = "application/json"
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Error codes of answers that depend on nothing but the request and the data: those may be cached.
_DETERMINISTIC = frozenset({"FORBIDDEN", "BAD_USER_INPUT", "NOT_FOUND"})
# Root fields whose answer changes without a projected change (how current the read model is).
_VOLATILE_ROOTS = frozenset({"dataAsOf"})


def _unauthorized(detail: str) -> Problem:
    return Problem(detail, status=401, headers={"WWW-Authenticate": 'ApiKey header="X-API-Key"'})


def rate_limited(retry_after: int, settings: GatewaySettings) -> Problem:
    """The 429 of a key past its rate."""
    return Problem(
        f"This key may make {settings.rate_limit_per_s:g} requests a second, in bursts of up to"
        f" {settings.rate_limit_burst}; retry in {retry_after} s.",
        status=429,
        headers={"Retry-After": str(retry_after)},
        retry_after_s=retry_after,
    )


async def authenticate(request: Request, secret: str | None) -> Partner:
    """The partner behind a key; 401 without a valid one."""
    gate: Gate = request.app.state.gateway
    if not secret:
        raise _unauthorized("Send your partner API key in the X-API-Key header.")
    partner = await gate.keys.authenticate(request.app.state.pool, secret)
    if partner is None:
        raise _unauthorized("The API key is not valid or has been revoked.")
    return partner


def spend(request: Request, partner: Partner) -> None:
    """Spend one request of the partner's rate; 429 past it."""
    gate: Gate = request.app.state.gateway
    retry_after = gate.rate.take(partner.key_id)
    if retry_after is not None:
        raise rate_limited(retry_after, request.app.state.settings)


async def admit(request: Request, secret: str | None) -> Partner:
    """The partner behind a key, noted in the access record, one request of its rate spent."""
    partner = await authenticate(request, secret)
    record = request_record(request)
    if record is not None:
        record.admit(partner)
    spend(request, partner)
    return partner


class _LRU:
    """A bounded mapping that forgets the least recently used entry first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        if self.size <= 0:
            return
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class Prepared:
    """A document parsed and validated once, with what the fast paths need to know of it."""

    document: DocumentNode | None
    valid: bool
    volatile: bool


@dataclass(frozen=True)
class Cached:
    """A whole answer: its body without `extensions`, and what the access log notes of it."""

    body: bytes
    operation: str | None
    operation_type: str | None
    cost: int | None
    error_codes: tuple[str, ...]


class ResponseCache:
    """Whole answers by (document, operation, variables, scopes, watermark, day).

    Entries are only ever read at the watermark they were built at; when the watermark moves
    (a projected change), every older entry is dropped at once.
    """

    def __init__(self, size: int, max_entry_bytes: int) -> None:
        self._lru = _LRU(size)
        self.max_entry_bytes = max_entry_bytes
        self.watermark = -1
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self._lru.size > 0

    def _at(self, watermark: int) -> None:
        if watermark != self.watermark:
            self._lru.clear()
            self.watermark = watermark

    def get(self, watermark: int, key: Hashable) -> Cached | None:
        self._at(watermark)
        found: Cached | None = self._lru.get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, watermark: int, key: Hashable, value: Cached) -> None:
        # An answer built before the watermark moved may mix states: never keep it.
        if watermark == self.watermark and len(value.body) <= self.max_entry_bytes:
            self._lru.put(key, value)

    def __len__(self) -> int:
        return len(self._lru)


class GraphQLHTTP:
    """The per-app state of the /graphql route: its caches and settings."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.documents = _LRU(settings.document_cache_size)
        self.persisted = _LRU(settings.persisted_query_cache_size)
        self.responses = ResponseCache(settings.response_cache_size, settings.response_cache_max_entry_bytes)
        self.data_as_of = freshness.DataAsOf()
        self.rules = (
            tuple(specified_rules)
            if settings.answers_introspection
            else (*specified_rules, limits.NoIntrospection)
        )

    def prepare(self, query: str) -> Prepared:
        """The document of a query text, parsed and validated, from the cache when seen before."""
        found: Prepared | None = self.documents.get(query)
        if found is not None:
            return found
        try:
            document = limits.parse_cached(
                query, max_lexical_tokens=self.settings.max_tokens, max_comments=self.settings.max_tokens
            )
        except GraphQLError:
            # Strawberry's path reports the syntax error or the token limit; nothing to keep.
            return Prepared(None, False, True)
        errors = validate(schema._schema, document, self.rules)
        prepared = Prepared(document, not errors, _selects_volatile(document))
        self.documents.put(query, prepared)
        return prepared


def _selects_volatile(document: DocumentNode) -> bool:
    """Whether an operation's root selects a field that changes without a projected change."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def walk(selection_set: SelectionSetNode, seen: frozenset[str]) -> bool:
        for s in selection_set.selections:
            if isinstance(s, FieldNode) and s.name.value in _VOLATILE_ROOTS:
                return True
            if isinstance(s, InlineFragmentNode) and walk(s.selection_set, seen):
                return True
            if isinstance(s, FragmentSpreadNode) and s.name.value not in seen:
                f = fragments.get(s.name.value)
                if f is not None and walk(f.selection_set, seen | {s.name.value}):
                    return True
        return False

    return any(
        walk(d.selection_set, frozenset())
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )


class RequestError(Exception):
    """A request the gateway cannot run: HTTP 400 with a GraphQL error body."""

    def __init__(self, message: str, code: str, status: int = 400, **extensions: Any) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.extensions = extensions


@dataclass(frozen=True)
class GraphQLRequest:
    """The parts of a GraphQL-over-HTTP request."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


def _from_mapping(data: Any) -> GraphQLRequest:
    if not isinstance(data, dict):
        raise RequestError("The body must be a JSON object with `query`.", "BAD_REQUEST")
    query = data.get("query")
    variables = data.get("variables")
    operation_name = data.get("operationName")
    extensions = data.get("extensions")
    if query is not None and not isinstance(query, str):
        raise RequestError("`query` must be a string.", "BAD_REQUEST")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError("`variables` must be an object.", "BAD_REQUEST")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError("`operationName` must be a string.", "BAD_REQUEST")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError("`extensions` must be an object.", "BAD_REQUEST")
    return GraphQLRequest(query, variables or None, operation_name, extensions)


async def _read(request: Request) -> GraphQLRequest:
    if request.method == "GET":
        params = request.query_params
        parsed: dict[str, Any] = {"query": params.get("query"), "operationName": params.get("operationName")}
        for name in ("variables", "extensions"):
            if name in params:
                try:
                    parsed[name] = json.loads(params[name])
                except ValueError as exc:
                    raise RequestError(f"`{name}` is not JSON.", "BAD_REQUEST") from exc
        return _from_mapping(parsed)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise RequestError("Send the request as application/json.", "BAD_REQUEST", status=415)
    try:
        data = json.loads(await request.body())
    except ValueError as exc:
        raise RequestError("The body is not valid JSON.", "BAD_REQUEST") from exc
    return _from_mapping(data)


def _persisted(state: GraphQLHTTP, req: GraphQLRequest) -> str:
    """The query text, resolved and remembered through the APQ protocol."""
    apq = (req.extensions or {}).get("persistedQuery")
    if apq is None:
        if req.query is None:
            raise RequestError("No GraphQL query found in the request.", "BAD_REQUEST")
        return req.query
    if not isinstance(apq, dict) or apq.get("version") != 1:
        raise RequestError(
            "Only version 1 of persisted queries is supported.", "PERSISTED_QUERY_NOT_SUPPORTED"
        )
    digest = apq.get("sha256Hash")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise RequestError("`sha256Hash` must be 64 lowercase hex digits.", "BAD_REQUEST")
    if req.query is None:
        known: str | None = state.persisted.get(digest)
        if known is None:
            # As the APQ protocol has it: 200, and the client sends the text with the hash once.
            raise RequestError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND", status=200)
        return known
    if hashlib.sha256(req.query.encode()).hexdigest() != digest:
        raise RequestError("The query's SHA-256 is not `sha256Hash`.", "PERSISTED_QUERY_HASH_MISMATCH")
    state.persisted.put(digest, req.query)
    return req.query


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
                    ) from exc
    return written


def _body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _with_extensions(body: bytes, as_of: datetime | None) -> bytes:
    stamp = json.dumps(as_of.isoformat() if as_of else None)
    return body[:-1] + b',"extensions":{"dataAsOf":' + stamp.encode() + b"}}"


def _cacheable(prepared: Prepared, error_codes: tuple[str, ...]) -> bool:
    return not prepared.volatile and all(c in _DETERMINISTIC for c in error_codes)


def _error_response(error: RequestError, as_of: datetime | None) -> Response:
    body = _body(
        {"errors": [{"message": str(error), "extensions": {"code": error.code, **error.extensions}}]}
    )
    return Response(_with_extensions(body, as_of), status_code=error.status, media_type=JSON)


async def _execute(
    request: Request, state: GraphQLHTTP, partner: Partner, query: str, req: GraphQLRequest
) -> Cached:
    context = Context(pool=request.app.state.pool, partner=partner, max_page=state.settings.max_page_size)
    context.request = request
    try:
        result = await schema.execute(
            query,
            variable_values=req.variables,
            context_value=context,
            operation_name=req.operation_name,
            allowed_operation_types={StrawberryOperationType.QUERY},
        )
    except CannotGetOperationTypeError as exc:
        raise RequestError(exc.as_http_error_reason(), "BAD_REQUEST") from exc
    except InvalidOperationTypeError as exc:
        raise RequestError(
            "Only queries are answered over HTTP; subscriptions use the graphql-transport-ws"
            " protocol on this path.",
            "BAD_REQUEST",
        ) from exc
    payload: dict[str, Any] = {"data": result.data}
    codes: tuple[str, ...] = ()
    if result.errors:
        payload["errors"] = [e.formatted for e in result.errors]
        codes = tuple(str((e.extensions or {}).get("code")) for e in result.errors)
    record = request_record(request)
    return Cached(
        _body(payload),
        record.operation if record else req.operation_name,
        record.operation_type if record else None,
        record.cost if record else None,
        codes,
    )


async def _compiled(
    request: Request, state: GraphQLHTTP, partner: Partner, prepared: Prepared, req: GraphQLRequest
) -> Cached | None:
    """The answer of the one SQL statement the operation compiles to; None to let strawberry answer.

    Only a valid document within every limit is compiled: refusals and errors stay strawberry's.
    """
    if not state.settings.compiled_queries or prepared.document is None or not prepared.valid:
        return None
    found = limits.measure(
        schema._schema,
        prepared.document,
        req.operation_name,
        req.variables,
        max_page=state.settings.max_page_size,
    )
    if found is None or limits.check(found, request.app.state.limits) is not None:
        return None
    plan = compile_operation(
        prepared.document,
        req.operation_name,
        req.variables,
        scopes=partner.scopes,
        max_page=state.settings.max_page_size,
    )
    if plan is None:
        return None
    operation = get_operation_ast(prepared.document, req.operation_name)
    name = operation.name.value if operation is not None and operation.name else None
    try:
        async with request.app.state.pool.acquire() as conn:
            data = await plan.run(conn)
    except asyncpg.PostgresError as exc:
        # What the statement refuses (a NUL in a search, say), strawberry reports as it always
        # does; logged, since a refusal strawberry then answers would be a compiler bug.
        log.warning("compiled statement refused; strawberry answers", operation=name, error=repr(exc))
        return None
    record = request_record(request)
    if record is not None:
        record.operation = name
        record.operation_type = "query"
        record.cost = found.cost
        record.outcome = "ok"
        record.answered_by = "compiled"
    return Cached(b'{"data":' + data + b"}", name, "query", found.cost, ())


def _note_cached(request: Request, req: GraphQLRequest, found: Cached) -> None:
    record = request_record(request)
    if record is not None:
        record.operation = found.operation
        record.operation_type = found.operation_type
        record.cost = found.cost
        record.error_codes = list(found.error_codes)
        record.outcome = "error" if found.error_codes else "ok"
        record.answered_by = "cache"


async def graphql_http(request: Request) -> Response:
    """Answer one GraphQL request over HTTP (see the module's docstring)."""
    settings: GatewaySettings = request.app.state.settings
    state: GraphQLHTTP = request.app.state.graphql_http
    pool: asyncpg.Pool = request.app.state.pool
    if (
        request.method == "GET"
        and "query" not in request.query_params
        and "extensions" not in request.query_params
    ):
        if settings.graphiql and "text/html" in request.headers.get("accept", ""):
            # A browser opening /graphql finds the self-contained explorer (gateway.portal).
            return RedirectResponse(EXPLORER_PATH)
        raise Problem("Not Found", status=404)
    partner = await admit(request, request.headers.get("x-api-key"))
    as_of = await state.data_as_of.get(pool)
    try:
        req = await _read(request)
        query = _persisted(state, req)
        written = _wait_tokens(request)
        if written:
            pending = await freshness.wait_for_writes(
                pool, written, timeout_s=settings.read_your_writes_timeout_s
            )
            if pending:
                raise RequestError(
                    f"The gateway has not yet applied {len(pending)} of the writes in"
                    f" {WAIT_HEADER} after {settings.read_your_writes_timeout_s:g} s; retry, or read"
                    " without waiting.",
                    "WRITE_NOT_YET_VISIBLE",
                    status=200,
                    timeoutSeconds=settings.read_your_writes_timeout_s,
                    pending=len(pending),
                )
            as_of = await state.data_as_of.get(pool, fresh=True)
        prepared = state.prepare(query)
        hub = getattr(request.app.state, "changes", None)
        key: tuple[Any, ...] | None = None
        watermark = 0
        if state.responses.enabled and hub is not None and hub.live and not prepared.volatile:
            watermark = hub.watermark
            if written:
                # What this request reads must include its writes: take the watermark from the
                # database too, not only from a notification that may still be on its way.
                async with pool.acquire() as conn:
                    watermark = max(watermark, await repository.changes_watermark(conn))
            key = (
                query,
                req.operation_name,
                json.dumps(req.variables, sort_keys=True) if req.variables else None,
                partner.scopes,
                datetime.now(SEOUL).date(),
            )
            found = state.responses.get(watermark, key)
            if found is not None:
                _note_cached(request, req, found)
                return Response(_with_extensions(found.body, as_of), media_type=JSON)
        answer = await _compiled(request, state, partner, prepared, req) or await _execute(
            request, state, partner, query, req
        )
        if key is not None and _cacheable(prepared, answer.error_codes):
            state.responses.put(watermark, key, answer)
        return Response(_with_extensions(answer.body, as_of), media_type=JSON)
    except RequestError as error:
        record = request_record(request)
        if record is not None:
            record.outcome = "rejected"
            record.error_codes = [error.code]
        return _error_response(error, as_of)


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
        response: Response
        try:
            response = await graphql_http(request)
        except Problem as exc:
            response = problem_response(
                exc.status,
                exc.detail,
                instance=GRAPHQL_PATH,
                headers=exc.headers,
                errors=exc.errors,
                **exc.extra,
            )
        except Exception:
            correlation_id = str(uuid.uuid4())
            log.exception("unhandled error", path=GRAPHQL_PATH, correlation_id=correlation_id)
            response = problem_response(
                500,
                "An unexpected error occurred; quote the correlation id when reporting it.",
                instance=GRAPHQL_PATH,
                correlation_id=correlation_id,
            )
        await response(scope, receive, send)
