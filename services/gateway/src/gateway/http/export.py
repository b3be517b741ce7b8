"""Bulk export for partners: `GET /export/{entity}.ndjson` or `.csv`, one entity of the read model.

Each line is one JSON object with the GraphQL type's field names and value formats (enums by
name, dates ISO, `Won` as a string of digits); what GraphQL reaches through a nested object is
given by its key (`industryCode`, `firmBrn`, `programCode`, `technologyCodes` …). The CSV has the
same lines as records under a header row of those keys (`gateway.http.export_formats`). The
filters `fiscal_year`, `industry` and `program` narrow the entities they apply to; one given to
an entity it does not apply to is refused (400), as is a malformed value (422). The rows are
read through a server-side cursor inside one REPEATABLE READ, READ ONLY transaction, so an
export is one consistent snapshot, and written out as they are read: memory stays the same
whatever the number of rows. The connection is held for the whole transfer and released when
it ends, however it ends (the client may hang up half-way).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import Any

from asyncpg.transaction import Transaction
from fastapi import APIRouter, Request
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from gateway import store
from gateway.http.export_access import Transfer, admit, observe, outcome
from gateway.http.export_entities import ENTITIES, FILTERS, Entity, Row, Scopes
from gateway.http.export_formats import FORMATS, Format, unknown_parameters
from gateway.partners.keys import Partner
from gateway.state import state_of
from gateway.store.exports import ExportFilter
from mpe_kit.db import Conn, statement_timed_out
from mpe_kit.errors import Invalid, Problem
from mpe_kit.logging import get_logger

log = get_logger("gateway.export")

EXPORT_PATH = "/export/{filename}"
# Rows fetched from the cursor at a time, and bytes gathered before a write: together they bound
# what one export holds in memory.
PREFETCH = 500
CHUNK_BYTES = 64 * 1024
# When every export slot is taken: a wait after which one has likely come free.
BUSY_RETRY_S = 5


def _split(filename: str) -> tuple[str, Format | None]:
    """The entity's name and the format a file name asks for (None: no format known)."""
    for f in FORMATS:
        if filename.endswith(f.suffix):
            return filename.removesuffix(f.suffix), f
    return filename, None


def _entity(filename: str) -> tuple[Entity, Format]:
    name, format_ = _split(filename)
    entity = ENTITIES.get(name)
    if entity is None or format_ is None:
        names = sorted(ENTITIES)
        raise Problem(
            f"There is no export {filename!r}; the exports are "
            + ", ".join(f"/export/{n}{f.suffix}" for n in names for f in FORMATS)
            + ".",
            status=404,
            entities=names,
            formats=[f.suffix for f in FORMATS],
            ko=f"내보내기 {filename!r}은(는) 없습니다. 내보내기는 "
            + ", ".join(f"/export/{n}{f.suffix}" for n in names for f in FORMATS)
            + "입니다.",
        )
    return entity, format_


def _filters(request: Request, entity: Entity) -> ExportFilter:
    """The filters of the query string: refused where they are unknown or do not apply (400), or
    are malformed (422). An unknown name is refused rather than passed over: a misspelt filter
    would otherwise answer every row."""
    unknown = unknown_parameters(list(request.query_params), FILTERS)
    if unknown:
        takes = ", ".join(entity.filters) if entity.filters else "no filter"
        takes_ko = ", ".join(entity.filters) if entity.filters else "없음"
        raise Problem(
            f"The {entity.name} export takes {takes}; not {', '.join(e['field'] for e in unknown)}.",
            status=400,
            errors=unknown,
            filters=list(entity.filters),
            ko=f"{entity.name} 내보내기가 받는 필터는 {takes_ko}입니다. {', '.join(e['field'] for e in unknown)}은(는) 받지 않습니다.",
        )
    given = {k: request.query_params.getlist(k) for k in FILTERS if k in request.query_params}
    wrong = sorted(set(given) - set(entity.filters))
    if wrong:
        takes = ", ".join(entity.filters) if entity.filters else "no filter"
        takes_ko = ", ".join(entity.filters) if entity.filters else "없음"
        raise Problem(
            f"The {entity.name} export takes {takes}; not {', '.join(wrong)}.",
            status=400,
            errors=[
                {
                    "field": k,
                    "message": f"does not apply to {entity.name}",
                    "message_ko": f"{entity.name}에는 쓰지 않습니다",
                }
                for k in wrong
            ],
            filters=list(entity.filters),
            ko=f"{entity.name} 내보내기가 받는 필터는 {takes_ko}입니다. {', '.join(wrong)}은(는) 받지 않습니다.",
        )
    values: dict[str, Any] = {}
    for name, found in given.items():
        if len(found) != 1 or not found[0].strip():
            raise Invalid.field(name, "give it once, not empty", ko="비워 두지 말고 한 번만 보내십시오")
        if "\x00" in found[0]:
            # The database refuses NUL in text; once the rows stream, it is too late for a 422.
            raise Invalid.field(name, "must not contain NUL (%00)", ko="NUL(%00)을 담을 수 없습니다")
        values[name] = found[0].strip()
    if "fiscal_year" in values:
        year = values["fiscal_year"]
        if not year.isascii() or not year.isdigit() or not 1 <= int(year) <= 9999:
            raise Invalid.field(
                "fiscal_year",
                f"a year from 1 to 9999, such as 2023; got {year!r}",
                ko=f"2023처럼 1~9999의 연도여야 합니다. 받은 값: {year!r}",
            )
        values["fiscal_year"] = int(year)
    return ExportFilter(**values)


def _freshness_headers(rows: list[Row]) -> dict[str, str]:
    """X-Data-As-Of: the newest change the read model holds, at its source; X-Data-Lag: changes not yet applied."""
    headers = {"X-Data-Lag": str(sum(int(r["lag"]) for r in rows))}
    times = [r["last_event_time"] for r in rows if r["last_event_time"] is not None]
    if times:
        headers["X-Data-As-Of"] = max(times).isoformat()
    return headers


class _Stalled(Exception):
    """The client read nothing for the export's stall timeout."""


class ExportResponse(StreamingResponse):
    """Streams the lines of an open snapshot, then ends the transaction and releases the connection.

    Starlette stops iterating when the client disconnects but leaves the iterator suspended, and
    would leave the connection with it; the clean-up here runs however the transfer ended.
    """

    def __init__(
        self,
        *,
        lines: AsyncGenerator[bytes, None],
        conn: Conn,
        snapshot: Transaction,
        request: Request,
        transfer: Transfer,
        headers: dict[str, str],
        media_type: str,
    ) -> None:
        super().__init__(lines, media_type=media_type, headers=headers)
        self._lines = lines
        self._conn = conn
        self._snapshot = snapshot
        self._request = request
        self._transfer = transfer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transfer = self._transfer
        transfer.outcome = "client_disconnected"
        stall_s = self._request.app.state.settings.export_stall_timeout_s

        async def unstalled(message: Message) -> None:
            # A client that reads nothing blocks the send once the socket's buffers are full; it
            # would hold its slot and an open transaction for as long as it likes.
            try:
                await asyncio.wait_for(send(message), stall_s)
            except TimeoutError:
                raise _Stalled from None

        try:
            await super().__call__(scope, receive, unstalled)
        except ClientDisconnect:
            pass
        except _Stalled:
            transfer.outcome = "client_stalled"
            log.warning("export broken off: the client read nothing", entity=transfer.entity, seconds=stall_s)
        except Exception:
            # The status line is sent: all that is left is to break the transfer off, which the
            # client sees as a truncated body (no final chunk), never as a complete export.
            transfer.outcome = "server_error"
            log.exception("export failed while streaming", entity=transfer.entity, rows=transfer.rows)
        finally:
            # Shielded: a cancelled request task must still give its connection back.
            await asyncio.shield(self.close())

    async def close(self) -> None:
        """Stop the cursor, end the transaction, give the connection and the slot back, log the request."""
        try:
            await self._lines.aclose()
            await self._snapshot.rollback()
        except Exception:
            # The pool resets (or replaces) a connection it gets back in a bad state.
            log.warning("export transaction did not end cleanly", entity=self._transfer.entity, exc_info=True)
        finally:
            await self._request.app.state.pool.release(self._conn)
            if self._transfer.partner is not None:
                _give_back(self._request, self._transfer.partner)
            observe(self._request, self._transfer)


def _take(request: Request, partner: Partner) -> None:
    """Count an export against its key (the slot itself is already taken)."""
    state_of(request.app).exports_by_key[partner.key_id] += 1


def _give_back(request: Request, partner: Partner) -> None:
    """Give an export's slot back, and its count against its key."""
    state = state_of(request.app)
    state.export_slots.release()
    state.exports_by_key[partner.key_id] -= 1
    if state.exports_by_key[partner.key_id] <= 0:
        del state.exports_by_key[partner.key_id]


async def _abandon(
    request: Request, partner: Partner, lines: AsyncGenerator[bytes, None], conn: Conn
) -> None:
    """Give back what an export that never started holds: its cursor, connection, slot and count."""
    try:
        await lines.aclose()
    finally:
        try:
            await request.app.state.pool.release(conn)
        finally:
            _give_back(request, partner)


async def _after(
    first: bytes, rest: AsyncGenerator[bytes, None], transfer: Transfer
) -> AsyncGenerator[bytes, None]:
    """`first`, then what `rest` yields, then the transfer is whole; closing this closes `rest`."""
    try:
        if first:
            yield first
        async for chunk in rest:
            yield chunk
        transfer.outcome = "ok"
    finally:
        await rest.aclose()


async def _lines(
    conn: Conn, entity: Entity, format_: Format, f: ExportFilter, scopes: Scopes, transfer: Transfer
) -> AsyncGenerator[bytes, None]:
    """The file's head, then the entity's lines, gathered into chunks of about CHUNK_BYTES."""
    head = format_.head(entity.columns)
    chunk: list[bytes] = [head] if head else []
    size = len(head)
    encode_line = format_.line(entity.columns)
    async for row in entity.rows(conn, f, prefetch=PREFETCH):
        line = encode_line(entity.line(row, scopes))
        chunk.append(line)
        size += len(line)
        transfer.rows += 1
        if size >= CHUNK_BYTES:
            yield b"".join(chunk)
            chunk, size = [], 0
    if chunk:
        yield b"".join(chunk)


async def export(request: Request, filename: str) -> Response:
    """Stream one entity of the read model as NDJSON or CSV, after the key, its rate, its scope and the filters are checked."""
    transfer = Transfer(entity=_split(filename)[0], started=time.perf_counter())
    slots = state_of(request.app).export_slots
    try:
        partner = await admit(request, transfer)
        entity, format_ = _entity(filename)
        if entity.scope not in partner.scopes:
            raise Problem(
                f"This key lacks the {entity.scope} scope.",
                status=403,
                scope=entity.scope,
                ko=f"이 키에는 {entity.scope} 범위(scope)가 없습니다.",
            )
        filters = _filters(request, entity)
        per_key = request.app.state.settings.exports_per_key
        if state_of(request.app).exports_by_key[partner.key_id] >= per_key:
            raise Problem(
                f"This key already runs {per_key} exports on this gateway instance; retry when one"
                f" ends (in {BUSY_RETRY_S} s).",
                status=429,
                headers={"Retry-After": str(BUSY_RETRY_S)},
                ko=f"이 키는 이 게이트웨이 인스턴스에서 이미 내보내기 {per_key}건을 하고 있습니다. 하나가 끝나면({BUSY_RETRY_S}초 뒤) 다시 시도하십시오.",
            )
        if slots.locked():
            raise Problem(
                f"Every export slot of this gateway instance is in use; retry in {BUSY_RETRY_S} s.",
                status=503,
                headers={"Retry-After": str(BUSY_RETRY_S)},
                ko=f"이 게이트웨이 인스턴스의 내보내기 슬롯이 모두 사용 중입니다. {BUSY_RETRY_S}초 뒤에 다시 시도하십시오.",
            )
    except Problem as problem:
        transfer.status, transfer.outcome = problem.status, outcome(problem.status)
        observe(request, transfer)
        raise
    await slots.acquire()
    _take(request, partner)
    pool = request.app.state.pool
    try:
        conn = await pool.acquire()
    except BaseException:
        _give_back(request, partner)
        raise
    snapshot = conn.transaction(isolation="repeatable_read", readonly=True)
    try:
        await snapshot.start()
        # The snapshot is taken at the first statement: the freshness and the rows agree.
        freshness = await store.changes.freshness(conn)
    except BaseException:
        await pool.release(conn)
        _give_back(request, partner)
        raise
    lines = _lines(conn, entity, format_, filters, partner.scopes, transfer)
    try:
        # The first chunk is read before the status line: a database that cannot answer (the
        # statement timeout, a refused filter) is an error answer, not a truncated file.
        first = await anext(lines, b"")
    except BaseException as exc:
        # Shielded, as `ExportResponse.close`: a cancelled request still gives all of it back.
        await asyncio.shield(_abandon(request, partner, lines, conn))
        if statement_timed_out(exc):
            # Answered 503 by the kit's DatabaseFailover; counted and logged here, as every export.
            transfer.status, transfer.outcome = 503, "timed_out"
            observe(request, transfer)
        raise
    headers = {
        "Content-Disposition": f'attachment; filename="{entity.name}{format_.suffix}"',
        "Cache-Control": "no-store",
        **_freshness_headers(freshness),
    }
    return ExportResponse(
        lines=_after(first, lines, transfer),
        conn=conn,
        snapshot=snapshot,
        request=request,
        transfer=transfer,
        headers=headers,
        media_type=format_.media_type,
    )


def export_router() -> APIRouter:
    """The export route, for the app's router list."""
    router = APIRouter()
    router.add_api_route(
        EXPORT_PATH,
        export,
        methods=["GET"],
        response_class=StreamingResponse,
        summary="Bulk export of one entity as NDJSON or CSV (UTF-8 with a BOM, a header row)",
        description=(
            "Entities: "
            + ", ".join(f"`{n}{f.suffix}`" for n in ENTITIES for f in FORMATS)
            + ". Filters: "
            + "; ".join(f"{n}: {', '.join(e.filters) or 'none'}" for n, e in ENTITIES.items())
            + "."
        ),
    )
    return router
