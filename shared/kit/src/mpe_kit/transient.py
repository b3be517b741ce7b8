"""A lost database connection, or a deadlock, is a transient fault, not a 500.

When Postgres restarts (or a backend is terminated), every pooled connection is dead, and the
request that meets one fails. This middleware, once for every route:

- retries an idempotent request (GET, HEAD, OPTIONS) once, after expiring the pool's
  connections so that the retry runs on a fresh one;
- answers anything else (a write, whose outcome the client must decide on), and a read whose
  retry failed too, with 503 problem+json and `Retry-After`.

Only a failure before the response started can be turned into either; a lost connection can
roll back a write but never half-commit it, so the client may repeat the request. A connection
lost during the write's COMMIT is settled by the unit of work first (`mpe_kit.uow`): committed,
and the write is answered as usual; rolled back, and it is answered 503 as above; not learned in
time, and the 503 says that the write may have been saved, so that the client looks before it
repeats it.

A request that Postgres rolled back for a concurrent one's sake (a deadlock, SQLSTATE 40P01, or a
serialization failure, 40001) is answered 503 with `Retry-After` too, whatever its method: its
transaction wrote nothing, and the other one has gone on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mpe_kit.bodylimit import send_problem
from mpe_kit.db import ROLLED_BACK_FOR_ANOTHER, is_connection_lost, statement_timed_out
from mpe_kit.logging import get_logger
from mpe_kit.uow import CommitOutcomeUnknown

log = get_logger("mpe.http")

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
# Seconds a client should wait: about what a Postgres restart or failover takes.
RETRY_AFTER_S = 2

# Seconds a client should wait after a conflict: the other transaction is already under way.
CONFLICT_RETRY_AFTER_S = 1


class DatabaseFailover:
    """ASGI middleware: retry an idempotent request once on a lost connection; 503 otherwise."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        started = False
        seen: list[Message] = []

        async def recording_receive() -> Message:
            message = await receive()
            seen.append(message)
            return message

        async def replaying_receive() -> Message:
            return seen.pop(0) if seen else await receive()

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, recording_receive, tracking_send)
            return
        except Exception as exc:
            fault = unavailable(exc)
            if started or fault is None:
                raise
            await noted(scope, exc, fault, retrying=fault is LOST and method in IDEMPOTENT)
            if fault is not LOST or method not in IDEMPOTENT:
                await _unavailable(send, scope, fault)
                return
        try:
            # What the first attempt read of the request is read again.
            await self.app(scope, replaying_receive, tracking_send)
            return
        except Exception as exc:
            if started or unavailable(exc) is not LOST:
                raise
            await noted(scope, exc, LOST, retrying=False)
        await _unavailable(send, scope, LOST)


@dataclass(frozen=True)
class Unavailable:
    """A database fault a request met before it was answered: a 503, in English and Korean."""

    english: str
    korean: str
    retry_after_s: int
    logged: str  # the log line's event
    level: int = logging.WARNING


LOST = Unavailable(
    "The database connection was lost before the request completed; retry it shortly.",
    "요청을 마치기 전에 데이터베이스 연결이 끊겼습니다. 잠시 뒤에 다시 보내십시오.",
    RETRY_AFTER_S,
    "database connection lost",
)
CONFLICT = Unavailable(
    "The database rolled this request back because it conflicted with another one (a deadlock);"
    " nothing of it was written. Repeat it.",
    "이 요청이 다른 요청과 충돌(교착 상태)하여 데이터베이스가 되돌렸습니다. 아무것도 기록되지 않았으니"
    " 다시 보내십시오.",
    CONFLICT_RETRY_AFTER_S,
    "rolled back by a conflict with another transaction",
)
TIMED_OUT = Unavailable(
    "The database did not answer within its time limit; nothing of this request was written. Retry it later.",
    "데이터베이스가 제한 시간 안에 응답하지 않았습니다. 이 요청은 아무것도 기록하지 않았으니 나중에 다시"
    " 보내십시오.",
    RETRY_AFTER_S,
    "stopped by the statement timeout",
)
UNKNOWN = Unavailable(
    "The database connection was lost while this write was being committed, and whether it was"
    " saved could not be learned. Look for it (read it, or list its collection) before you repeat"
    " the request; a request with an Idempotency-Key may be repeated with the same key.",
    "이 요청의 변경 내용을 확정(commit)하는 중에 데이터베이스 연결이 끊겨, 저장되었는지 확인하지 못했습니다."
    " 다시 보내기 전에 저장되었는지 조회(목록 조회 포함)해 확인하십시오. Idempotency-Key를 붙인 요청은 같은"
    " 키로 다시 보내도 됩니다.",
    RETRY_AFTER_S,
    "write's outcome unknown: connection lost during commit",
    logging.ERROR,
)


def unavailable(exc: BaseException) -> Unavailable | None:
    """The 503 a database fault deserves (for the middleware, and for a route that answers itself); None for any other error."""
    if isinstance(exc, CommitOutcomeUnknown):
        return UNKNOWN
    if isinstance(exc, ROLLED_BACK_FOR_ANOTHER):
        return CONFLICT
    if statement_timed_out(exc):
        return TIMED_OUT
    if is_connection_lost(exc):
        return LOST
    return None


async def noted(scope: Scope, exc: BaseException, fault: Unavailable, *, retrying: bool = False) -> None:
    """Log the fault in its own words; after a lost connection, have the pool reconnect every
    connection on next use (after a commit of unknown outcome the unit of work has done that)."""
    fields: dict[str, object] = {"method": scope["method"], "path": scope["path"]}
    if fault is LOST:
        fields["retrying"] = retrying
    fields["error"] = f"{type(exc).__name__}: {exc}"
    log.log(fault.level, fault.logged, **fields)
    if fault is LOST:
        app = scope.get("app")
        pool = getattr(getattr(app, "state", None), "pool", None)
        if isinstance(pool, asyncpg.Pool):
            # Every connection of the pool died with the server: reconnect them all on next use.
            await pool.expire_connections()


async def _unavailable(send: Send, scope: Scope, fault: Unavailable) -> None:
    """503 problem+json with Retry-After: the request did nothing, and may be sent again."""
    await send_problem(
        send,
        503,
        fault.english,
        scope["path"],
        scope=scope,
        ko=fault.korean,
        headers=[(b"retry-after", str(fault.retry_after_s).encode())],
    )


def install(app: FastAPI) -> None:
    """Add the lost-connection handling to a FastAPI app."""
    app.add_middleware(DatabaseFailover)
