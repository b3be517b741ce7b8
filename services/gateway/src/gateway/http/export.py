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
from collections.abc import AsyncGenerator, AsyncIterable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import asyncpg
from asyncpg.transaction import Transaction
from fastapi import APIRouter, Request
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from gateway import store
from gateway.http.access import AccessRecord
from gateway.http.admission import authenticate, spend
from gateway.http.export_formats import FORMATS, Format, unknown_parameters
from gateway.partners.keys import Partner
from gateway.read.budget.model import PROGRAM, PROJECT, SUMS, AlchemistStage
from gateway.read.catalog.model import TECHNOLOGY
from gateway.read.describe import Encoding
from gateway.read.describe import Entity as Described
from gateway.read.firms.model import DESIGNATION, FIRM, FIRMS_READ, DesignationStatus
from gateway.state import started, state_of
from gateway.store.exports import ExportFilter
from mpe_kit.db import Conn
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

Row = asyncpg.Record
Scopes = frozenset[str]


# The lines come from the descriptions; what is written here is what they leave to the types:
# a designation's history and a program's themes (JSON lists), and a program's sums.


def technology_line(r: Row, scopes: Scopes) -> dict[str, Any]:
    """A technology as the Technology type gives it, its industry by code."""
    return TECHNOLOGY.line(r, scopes)


def firm_line(r: Row, scopes: Scopes) -> dict[str, Any]:
    """A firm as the Firm type gives it; `mpeSalesRatio` is null without firms:financials."""
    return FIRM.line(r, scopes)


def _transition(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "fromStatus": DesignationStatus(item["from_status"]).name if item["from_status"] else None,
        "toStatus": DesignationStatus(item["to_status"]).name,
        "at": datetime.fromisoformat(item["at"]).isoformat(),
        "effectiveOn": date.fromisoformat(item["effective_on"]).isoformat(),
        "actor": item["actor"],
        "reason": item["reason"],
    }


def designation_line(r: Row, scopes: Scopes) -> dict[str, Any]:
    """A designation as the Designation type gives it, with its history; its firm by BRN."""
    return {**DESIGNATION.line(r, scopes), "history": [_transition(t) for t in r["history"]]}


def _theme(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": item["code"],
        "title": item["title"],
        "stages": [
            {
                "stage": AlchemistStage(s["stage"]).name,
                "teams": s["teams"],
                "fiscalYear": s.get("fiscal_year"),
                "projectCodes": s.get("project_codes") or [],
            }
            for s in item["stages"]
        ],
    }


def program_line(r: Row, scopes: Scopes) -> dict[str, Any]:
    """A program as the Program type gives it, with the sums over its projects and its themes."""
    sums = {c.field: c.exported(r[c.stored]) for c in SUMS}
    return {**PROGRAM.line(r, scopes), **sums, "themes": [_theme(t) for t in r["themes"]]}


def project_line(r: Row, scopes: Scopes) -> dict[str, Any]:
    """A project as the Project type gives it; `leadFirmBrn` is null without firms:read, as `leadFirm` is."""
    return PROJECT.line(r, scopes)


class Rows(Protocol):
    """A store function that reads every row of an entity (narrowed by the filter) in key order."""

    def __call__(self, conn: Conn, f: ExportFilter, *, prefetch: int) -> AsyncIterable[Row]: ...


def keys(described: Described, *more: str) -> tuple[str, ...]:
    """The keys of an entity's lines, in order: its described columns' (as `Entity.line`), then `more`."""
    return (*(c.key for c in described.columns if c.encoding is not Encoding.JSON), *more)


# The filters an export may take, each with the ExportFilter attribute it sets.
FILTERS = ("fiscal_year", "industry", "program")


@dataclass(frozen=True)
class Entity:
    """What can be exported: its scope, rows in key order, how a row becomes a line, its keys and filters."""

    name: str
    scope: str
    rows: Rows
    line: Callable[[Row, Scopes], dict[str, Any]]
    columns: tuple[str, ...]
    filters: tuple[str, ...] = ()


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity(
            "technologies",
            "catalog:read",
            store.exports.export_technologies,
            technology_line,
            keys(TECHNOLOGY),
            ("industry",),
        ),
        Entity("firms", FIRMS_READ, store.exports.export_firms, firm_line, keys(FIRM)),
        Entity(
            "designations",
            FIRMS_READ,
            store.exports.export_designations,
            designation_line,
            keys(DESIGNATION, "history"),
        ),
        Entity(
            "projects",
            "budget:read",
            store.exports.export_projects,
            project_line,
            keys(PROJECT),
            ("fiscal_year", "industry", "program"),
        ),
        Entity(
            "programs",
            "budget:read",
            store.exports.export_programs,
            program_line,
            keys(PROGRAM, *(c.field for c in SUMS), "themes"),
            ("fiscal_year",),
        ),
    )
}


@dataclass
class Transfer:
    """One export under way: who asked, for what, and how far it got."""

    entity: str
    started: float
    partner: Partner | None = None
    rows: int = 0
    status: int = 200
    outcome: str = "ok"


def _outcome(status: int) -> str:
    return {401: "unauthorized", 403: "forbidden", 404: "not_found", 429: "rate_limited", 503: "busy"}.get(
        status, "server_error" if status >= 500 else "bad_request" if status >= 400 else "ok"
    )


def _observe(request: Request, transfer: Transfer) -> None:
    """Count the request in the gateway's metrics and write its access log line, as /graphql does."""
    seconds = time.perf_counter() - transfer.started
    record = AccessRecord(
        agency=transfer.partner.agency if transfer.partner else None,
        key_id=transfer.partner.key_id if transfer.partner else None,
        operation=transfer.entity if transfer.entity in ENTITIES else "unknown",
        operation_type="export",
        outcome=transfer.outcome,
        limit="RATE_LIMITED" if transfer.status == 429 else None,
    )
    gateway = started(request.app)
    if gateway is not None:
        gateway.gate.metrics.observe(record, seconds)
    log.info(
        "export request",
        agency=record.agency,
        key_id=str(record.key_id) if record.key_id else None,
        entity=transfer.entity,
        outcome=transfer.outcome,
        status=transfer.status,
        rows=transfer.rows,
        duration_ms=round(seconds * 1000, 2),
    )


async def _admit(request: Request, transfer: Transfer) -> Partner:
    """The partner behind the request's key, one request of its rate spent; else 401 or 429."""
    partner = await authenticate(request, request.headers.get("x-api-key"))
    transfer.partner = partner
    spend(request, partner)
    return partner


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
            _observe(self._request, self._transfer)


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
    transfer.outcome = "ok"


async def export(request: Request, filename: str) -> Response:
    """Stream one entity of the read model as NDJSON or CSV, after the key, its rate, its scope and the filters are checked."""
    transfer = Transfer(entity=_split(filename)[0], started=time.perf_counter())
    slots = state_of(request.app).export_slots
    try:
        partner = await _admit(request, transfer)
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
        transfer.status, transfer.outcome = problem.status, _outcome(problem.status)
        _observe(request, transfer)
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
    headers = {
        "Content-Disposition": f'attachment; filename="{entity.name}{format_.suffix}"',
        "Cache-Control": "no-store",
        **_freshness_headers(freshness),
    }
    return ExportResponse(
        lines=_lines(conn, entity, format_, filters, partner.scopes, transfer),
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
