"""Who called the gateway, how often, and what came of it: rate limits, access log, metrics.

Every request to `/graphql` leaves one log line and is counted. An `AccessRecord` travels in
the request's state: the context getter notes the partner, the schema extensions note the
operation and its outcome, and the `AccessLog` middleware writes the line when the response
is sent, whatever status it has (401 and 429 included).
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from graphql import GraphQLError
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionContext

from gateway.http.languages import said_in_korean, socket_prefers_korean
from gateway.partners.keys import KeyCache, Partner
from gateway.read.common import LocalizedError
from gateway.state import started
from mpe_kit.db import statement_timed_out
from mpe_kit.logging import get_logger

log = get_logger("gateway.access")

GRAPHQL_PATH = "/graphql"
_STATE_KEY = "access"
# Operation names are the client's to choose: only so many distinct ones become label values.
MAX_OPERATION_LABELS = 200
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
NO_AGENCY = "(none)"
MASKED_MESSAGE = "Internal server error."
MASKED_KO = "서버 내부 오류입니다."


@dataclass
class AccessRecord:
    """What one request to /graphql was and how it ended, filled in as it goes."""

    agency: str | None = None
    key_id: uuid.UUID | None = None
    operation: str | None = None
    operation_type: str | None = None
    outcome: str | None = None
    limit: str | None = None
    cost: int | None = None
    answered_by: str = "strawberry"
    """`cache` (a whole cached answer), `compiled` (one SQL statement) or `strawberry`."""
    fallback: str | None = None
    """Why the compiled path left the operation to strawberry, when it did."""
    error_codes: list[str] = field(default_factory=list)
    correlation_ids: list[str] = field(default_factory=list)

    def admit(self, partner: Partner) -> None:
        """Note the partner whose key was accepted."""
        self.agency = partner.agency
        self.key_id = partner.key_id


def record_of(execution_context: ExecutionContext) -> AccessRecord | None:
    """The access record of the HTTP request behind an operation, if it came over HTTP."""
    return request_record(getattr(execution_context.context, "request", None))


def request_record(request: Any) -> AccessRecord | None:
    """The access record a request carries (None outside the AccessLog middleware)."""
    state = getattr(request, "scope", {}).get("state") or {}
    record = state.get(_STATE_KEY)
    return record if isinstance(record, AccessRecord) else None


class RateLimiter:
    """A token bucket per key: `burst` requests at once, refilled at `per_s` a second.

    Buckets live in this process: each instance of the gateway limits on its own.
    """

    def __init__(self, *, per_s: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_s = per_s
        self.burst = burst
        self._clock = clock
        self._buckets: dict[uuid.UUID, tuple[float, float]] = {}

    def take(self, key_id: uuid.UUID) -> int | None:
        """Spend one request of a key: None if allowed, else whole seconds to wait (≥ 1)."""
        if self.per_s <= 0:
            return None
        now = self._clock()
        tokens, at = self._buckets.get(key_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.per_s)
        if tokens >= 1:
            self._buckets[key_id] = (tokens - 1, now)
            return None
        self._buckets[key_id] = (tokens, now)
        return max(1, math.ceil((1 - tokens) / self.per_s))


class GatewayMetrics:
    """The gateway's Prometheus series; labels stay few: agencies, operation types, bounded names."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "mpe_gateway_requests",
            "GraphQL requests by agency, operation and outcome",
            ["agency", "operation_type", "operation", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "mpe_gateway_request_duration_seconds",
            "GraphQL request latency, authentication included",
            ["agency", "operation_type"],
            registry=registry,
        )
        self.cost = Histogram(
            "mpe_gateway_query_cost",
            "Cost of the operations that were measured (see GATEWAY_MAX_QUERY_COST)",
            ["agency"],
            buckets=(1, 10, 50, 100, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 100_000, math.inf),
            registry=registry,
        )
        self.rejections = Counter(
            "mpe_gateway_rejections",
            "Requests refused by a limit, by agency and limit",
            ["agency", "limit"],
            registry=registry,
        )
        self.fallbacks = Counter(
            "mpe_gateway_compile_fallbacks",
            "Operations the compiled path left to strawberry (~20-40x the CPU), by reason",
            ["reason"],
            registry=registry,
        )
        self.answers = Counter(
            "mpe_gateway_answers",
            "GraphQL requests answered, by what answered them: cache, shared (an identical"
            " request's answer, built at the same time), compiled or strawberry",
            ["by"],
            registry=registry,
        )
        self._operations: set[str] = set()

    def operation_label(self, name: str | None) -> str:
        """The operation's name as a label value: the first names seen, then `other`."""
        if name is None:
            return "anonymous"
        if not _NAME.fullmatch(name):
            return "other"
        if name not in self._operations:
            if len(self._operations) >= MAX_OPERATION_LABELS:
                return "other"
            self._operations.add(name)
        return name

    def observe(self, record: AccessRecord, seconds: float) -> None:
        """Count one finished request."""
        agency = record.agency or NO_AGENCY
        op_type = record.operation_type or "none"
        self.requests.labels(
            agency, op_type, self.operation_label(record.operation), record.outcome or "unknown"
        ).inc()
        self.duration.labels(agency, op_type).observe(seconds)
        if record.cost is not None:
            self.cost.labels(agency).observe(record.cost)
        if record.limit is not None:
            self.rejections.labels(agency, record.limit).inc()
        if record.fallback is not None:
            self.fallbacks.labels(record.fallback).inc()
        if record.outcome in ANSWERED:
            self.answers.labels(record.answered_by).inc()


@dataclass
class Gate:
    """What admits a request: the key cache, the rate limiter; and the metrics that count it."""

    keys: KeyCache
    rate: RateLimiter
    metrics: GatewayMetrics


def _outcome(status: int) -> str:
    if status == CLIENT_CLOSED_REQUEST:
        return "client_disconnected"
    if status == 401:
        return "unauthorized"
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "bad_request"
    return "ok"


# Outcomes of requests that a stage answered (the cache, a shared answer, compiled SQL, strawberry);
# the others were refused before any: rejected, busy, rate_limited, unauthorized, bad_request.
ANSWERED = frozenset({"ok", "error", "internal_error"})

# The limit of a request refused because the instance was at GATEWAY_MAX_IN_FLIGHT (its outcome: busy).
BUSY = "GATEWAY_BUSY"


# The status proxies log for a client that went away before its answer: nothing was sent to it.
CLIENT_CLOSED_REQUEST = 499


def note(app: Any, record: AccessRecord, seconds: float, logger: Any, event: str, **fields: Any) -> None:
    """Count a request in the gateway's metrics and write its access log line (/graphql, exports)."""
    gateway = started(app)
    if gateway is not None:
        gateway.gate.metrics.observe(record, seconds)
    logger.info(
        event,
        agency=record.agency,
        key_id=str(record.key_id) if record.key_id else None,
        outcome=record.outcome,
        duration_ms=round(seconds * 1000, 2),
        **fields,
    )


class AccessLog:
    """ASGI middleware: one log line and the metrics of every request to /graphql."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != GRAPHQL_PATH:
            await self.app(scope, receive, send)
            return
        record = AccessRecord()
        # A copy of the request's state: a server may hand every request the same dict
        # (asgi-lifespan does; uvicorn copies it), and concurrent requests must not share a record.
        scope["state"] = {**scope.get("state", {}), _STATE_KEY: record}
        status = 500
        start = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - start
            if record.outcome is None or status >= 400:
                record.outcome = "busy" if record.limit == BUSY else _outcome(status)
            if status == 429:
                record.limit = "RATE_LIMITED"
            note(
                scope["app"],
                record,
                seconds,
                log,
                "graphql request",
                operation=record.operation,
                operation_type=record.operation_type,
                status=status,
                cost=record.cost,
                answered_by=record.answered_by,
                fallback=record.fallback,
                error_codes=record.error_codes or None,
                correlation_ids=record.correlation_ids or None,
            )


_UNSTORABLE = (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError)

QUERY_TIMEOUT = "QUERY_TIMEOUT"


def query_timeout(nodes: Any = None, path: Any = None) -> GraphQLError:
    """A read Postgres stopped at `statement_timeout` (`GATEWAY_DB_STATEMENT_TIMEOUT_S`)."""
    return LocalizedError(
        "The query ran past the gateway's time limit and was stopped. Ask for less at once (a"
        " smaller `first`, a narrower filter), or retry later.",
        "쿼리가 게이트웨이의 제한 시간을 넘겨 중단되었습니다. 한 번에 적게 요청하거나(더 작은 `first`,"
        " 더 좁은 필터) 나중에 다시 시도하십시오.",
        nodes,
        path=path,
        extensions={"code": QUERY_TIMEOUT},
    )


def _lone_surrogate(error: BaseException | None) -> bool:
    """An argument no UTF-8 holds: JSON's `\\ud800` escapes half of a UTF-16 pair, which asyncpg
    cannot encode (its `DataError` has the `UnicodeEncodeError` as its cause)."""
    while error is not None:
        if isinstance(error, UnicodeEncodeError) and error.reason == "surrogates not allowed":
            return True
        error = error.__cause__
    return False


# Refusals strawberry words itself before anything runs, and which its socket handler reads.
_STRAWBERRY_REFUSALS = (CannotGetOperationTypeError, InvalidOperationTypeError)


def _raised_unlocated(error: GraphQLError) -> bool:
    """An exception strawberry caught outside any field: a subscription's source stream raising
    mid-stream, or a hook; it comes without path or location, wrapped as it was."""
    original = error.original_error
    return (
        error.nodes is None
        and original is not None
        and not isinstance(original, (GraphQLError, *_STRAWBERRY_REFUSALS))
    )


class ObserveOperations(SchemaExtension):
    """Masks unexpected errors behind a correlation id, and notes each operation's outcome.

    An unexpected error while resolving a field (an exception, or any error without a `code`:
    those raised on purpose all have one) reaches the client as "Internal server error." with
    `extensions.correlationId`; the same id is on the log line that carries the traceback.
    Errors the client can act on (syntax, validation, limits, BAD_USER_INPUT, FORBIDDEN) pass
    unchanged, with a `code` added where they had none.
    """

    def __init__(self, *, execution_context: ExecutionContext | None = None) -> None:
        self.executed = False

    def on_execute(self) -> Iterator[None]:
        self.executed = True
        yield

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """Each result a subscription's socket is sent, shaped as an HTTP answer is, before it goes.

        A stream's results leave one by one, long before `on_operation` ends; unshaped, an
        unexpected error would reach the socket with its own words.
        """
        errors: list[GraphQLError] = list(getattr(result, "errors", None) or [])
        if errors:
            record = record_of(self.execution_context)
            errors = [self._shape(e, record) for e in errors]
            if socket_prefers_korean(self.execution_context.context):
                errors = [said_in_korean(e) for e in errors]
            result.errors = errors
        yield

    def on_operation(self) -> Iterator[None]:
        yield
        ec = self.execution_context
        record = record_of(ec)
        result = ec.result
        errors: list[GraphQLError] = list(getattr(result, "errors", None) or [])
        if errors:
            errors = [self._shape(e, record) for e in errors]
            result.errors = errors  # type: ignore[union-attr]
        if record is None:
            return
        record.operation = ec.operation_name
        try:
            record.operation_type = ec.operation_type.value
        except RuntimeError:
            record.operation_type = None
        record.error_codes = [str(e.extensions.get("code")) for e in errors if e.extensions]
        if record.correlation_ids:
            record.outcome = "internal_error"
        elif not self.executed or record.limit is not None:
            record.outcome = "rejected"
        else:
            record.outcome = "error" if errors else "ok"

    def _shape(self, error: GraphQLError, record: AccessRecord | None) -> GraphQLError:
        extensions = error.extensions or {}
        if error.path is None and not _raised_unlocated(error):
            if not extensions.get("code"):
                error.extensions = {**extensions, "code": self._pre_execution_code()}
            return error
        cause: BaseException = error
        while isinstance(cause, GraphQLError) and cause.original_error is not None:
            cause = cause.original_error
        if isinstance(cause, _UNSTORABLE) or _lone_surrogate(cause):
            return LocalizedError(
                "An argument contains a character the database cannot search for, such as NUL"
                " or half of a UTF-16 surrogate pair.",
                "인자에 데이터베이스가 검색할 수 없는 문자(NUL, 짝 없는 UTF-16 서로게이트 등)가 있습니다.",
                error.nodes,
                path=error.path,
                extensions={"code": "BAD_USER_INPUT"},
            )
        if statement_timed_out(cause):
            return query_timeout(error.nodes, error.path)
        # Every error raised on purpose while resolving carries a code; one without is a bug.
        if extensions.get("code"):
            return error
        correlation_id = uuid.uuid4().hex
        log.error(
            "unexpected error while resolving a field",
            correlation_id=correlation_id,
            path=".".join(str(p) for p in error.path or ()),
            operation=self.execution_context.operation_name,
            agency=record.agency if record else None,
            key_id=str(record.key_id) if record and record.key_id else None,
            exc_info=cause,
        )
        if record is not None:
            record.correlation_ids.append(correlation_id)
        return LocalizedError(
            MASKED_MESSAGE,
            MASKED_KO,
            error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "correlationId": correlation_id},
        )

    def _pre_execution_code(self) -> str:
        if self.execution_context.graphql_document is None:
            return "GRAPHQL_PARSE_FAILED"
        if self.executed:
            # Errors before any field resolves, once validated: variables that do not fit.
            return "BAD_USER_INPUT"
        return "GRAPHQL_VALIDATION_FAILED"
