"""The budget service's use cases; each owns one transaction, and events leave through the outbox."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import asyncpg

from budget import domain, repository, schemas
from mpe_events import budget as ev
from mpe_events import registry
from mpe_kit import brn
from mpe_kit.db import Conn, Pool
from mpe_kit.errors import Conflict, Invalid, NotFound, Problem
from mpe_kit.outbox import PendingEvent, enqueue
from mpe_kit.pagination import decode_text_cursor, decode_time_id_cursor, encode_cursor, encode_time_id_cursor
from mpe_kit.readthrough import OwnerReader
from mpe_kit.technology_replica import CatalogReader, require_listed

SOURCE = registry.source("budget")


# reads and views


def program_read(row: asyncpg.Record) -> schemas.ProgramRead:
    """The API view of a program row."""
    return schemas.ProgramRead.model_validate(dict(row))


def project_read(row: asyncpg.Record) -> schemas.ProjectRead:
    """The API view of a project row."""
    return schemas.ProjectRead.model_validate(dict(row))


def _program_event(row: asyncpg.Record, created: bool) -> PendingEvent:
    data = ev.ProgramV1.model_validate({k: row[k] for k in ev.ProgramV1.model_fields})
    return PendingEvent(registry.PROGRAM_CREATED if created else registry.PROGRAM_UPDATED, row["code"], data)


def _project_event(row: asyncpg.Record, event_type: registry.EventType) -> PendingEvent:
    data = ev.ProjectV1.model_validate({k: row[k] for k in ev.ProjectV1.model_fields})
    return PendingEvent(event_type, row["code"], data)


async def _year_read(conn: Conn, row: asyncpg.Record) -> schemas.FiscalYearRead:
    programmed, committed, disbursed = await repository.year_sums(conn, row["year"])
    return schemas.FiscalYearRead(
        year=row["year"],
        envelope_krw=row["envelope_krw"],
        programmed_krw=programmed,
        committed_krw=committed,
        disbursed_krw=disbursed,
        version=row["version"],
    )


# fiscal years


async def put_fiscal_year(pool: Pool, *, year: int, data: schemas.FiscalYearPut) -> schemas.FiscalYearRead:
    """Set a year's envelope; it may not drop below what the year's programs already hold."""
    async with pool.acquire() as conn, conn.transaction():
        await repository.fiscal_year(conn, year, for_update=True)
        programmed, _, _ = await repository.year_sums(conn, year)
        if data.envelope_krw < programmed:
            raise Conflict(
                f"The {year} programs already hold {programmed:,} won; the envelope cannot be {data.envelope_krw:,}."
            )
        row = await repository.upsert_fiscal_year(conn, year, data.envelope_krw)
        await enqueue(
            conn,
            [PendingEvent(registry.FISCAL_YEAR_SET, str(year), ev.FiscalYearV1(**dict(row)))],
            source=SOURCE,
        )
        return await _year_read(conn, row)


async def get_fiscal_year(pool: Pool, *, year: int) -> schemas.FiscalYearRead:
    """A year with its programmed, committed and disbursed sums."""
    async with pool.acquire() as conn:
        row = await repository.fiscal_year(conn, year)
        if row is None:
            raise NotFound(f"Fiscal year {year} has no envelope yet.")
        return await _year_read(conn, row)


# programs


async def create_program(pool: Pool, *, data: schemas.ProgramCreate) -> schemas.ProgramRead:
    """Add a program; the year's programs must fit its envelope."""
    async with pool.acquire() as conn, conn.transaction():
        # The year's row lock serializes program budgets against its envelope.
        year = await repository.fiscal_year(conn, data.fiscal_year, for_update=True)
        if year is None:
            raise Invalid.field(
                "fiscal_year", f"{data.fiscal_year} has no envelope yet; PUT /v1/fiscal-years first"
            )
        programmed, _, _ = await repository.year_sums(conn, data.fiscal_year)
        domain.check_fits(
            what=f"The {data.fiscal_year} programs",
            used=programmed,
            adding=data.budget_krw,
            limit=year["envelope_krw"],
        )
        if not await repository.insert_program(conn, data.model_dump()):
            raise Conflict(f"Program {data.code} already exists.")
        row = await repository.program(conn, data.code)
        assert row is not None
        await enqueue(conn, [_program_event(row, created=True)], source=SOURCE)
    return program_read(row)


async def get_program(pool: Pool, *, code: str) -> schemas.ProgramRead:
    """One program; 404 if unknown."""
    async with pool.acquire() as conn:
        row = await repository.program(conn, code)
    if row is None:
        raise NotFound(f"Program {code} does not exist.")
    return program_read(row)


async def list_programs(
    pool: Pool, *, year: int | None, cursor: str | None, limit: int
) -> schemas.Page[schemas.ProgramRead]:
    """A page of programs by code."""
    after = decode_text_cursor(cursor)
    async with pool.acquire() as conn:
        rows = await repository.list_programs(conn, year=year, after=after, limit=limit + 1)
    items = [program_read(r) for r in rows[:limit]]
    return schemas.Page(
        items=items, next_cursor=encode_cursor([items[-1].code]) if len(rows) > limit else None
    )


async def put_theme(pool: Pool, *, code: str, theme_code: str, data: schemas.ThemePut) -> schemas.ProgramRead:
    """Create or replace an alchemist theme of a program."""
    domain.check_theme([(s.stage, s.teams) for s in data.stages])
    async with pool.acquire() as conn, conn.transaction():
        row = await repository.program(conn, code, for_update=True)
        if row is None:
            raise NotFound(f"Program {code} does not exist.")
        if row["kind"] != "alchemist":
            raise Conflict(f"Program {code} is of kind {row['kind']}; themes belong to alchemist programs.")
        theme = {"code": theme_code, "title": data.title, "stages": [s.model_dump() for s in data.stages]}
        themes = [t for t in row["themes"] if t["code"] != theme_code] + [theme]
        await repository.set_themes(conn, code, sorted(themes, key=lambda t: str(t["code"])))
        row = await repository.program(conn, code)
        assert row is not None
        await enqueue(conn, [_program_event(row, created=False)], source=SOURCE)
    return program_read(row)


# projects


async def _lead_firm_size(conn: Conn, brn: str, firms: OwnerReader) -> str:
    size = await repository.firm_size(conn, brn)
    if size is None:
        body = await firms.get(f"/v1/firms/{brn}")
        if body is None:
            raise Invalid.field("lead_firm_brn", f"firm {brn} is not registered with the firms service")
        await repository.upsert_firm(
            conn,
            brn=brn,
            size=body["size"],
            size_since=datetime.fromisoformat(body["size_since"]).date(),
            version=int(body["version"]),
        )
        size = str(body["size"])
    return size


async def propose_project(
    pool: Pool, catalog: CatalogReader, firms: OwnerReader, *, data: schemas.ProjectCreate
) -> schemas.ProjectRead:
    """Propose a project; it commits nothing until it is selected."""
    domain.check_project_shape(
        kind=data.kind, continues=data.continues, start_on=data.start_on, end_on=data.end_on
    )
    fields = data.model_dump()
    # The first code stays first: it is the project's primary technology.
    fields["technology_codes"] = list(dict.fromkeys(data.technology_codes))
    fields["lead_firm_brn"] = (
        brn.normalize(data.lead_firm_brn, field="lead_firm_brn") if data.lead_firm_brn else None
    )
    async with pool.acquire() as conn:
        await require_listed(conn, fields["technology_codes"], reader=catalog, field="technology_codes")
        size = (
            await _lead_firm_size(conn, fields["lead_firm_brn"], firms) if fields["lead_firm_brn"] else None
        )
        domain.check_cost_share(
            size, government=data.government_krw, cash=data.private_cash_krw, in_kind=data.private_in_kind_krw
        )
        async with conn.transaction():
            program = await repository.program(conn, data.program_code)
            if program is None:
                raise Invalid.field("program_code", f"program {data.program_code} does not exist")
            fields["fiscal_year"] = program["fiscal_year"]
            if data.continues:
                previous = await repository.project(conn, data.continues)
                if previous is None or previous["fiscal_year"] != program["fiscal_year"] - 1:
                    raise Invalid.field(
                        "continues",
                        f"{data.continues} is not a project of fiscal year {program['fiscal_year'] - 1}",
                    )
            if not await repository.insert_project(conn, fields):
                raise Conflict(f"Project {data.code} already exists.")
            row = await repository.project(conn, data.code)
            assert row is not None
            await enqueue(conn, [_project_event(row, registry.PROJECT_EVENTS["proposed"])], source=SOURCE)
    return project_read(row)


def _domain_project(row: asyncpg.Record) -> domain.Project:
    return domain.Project(
        code=row["code"],
        status=row["status"],
        government_krw=row["government_krw"],
        committed_krw=row["committed_krw"],
        disbursed_krw=row["disbursed_krw"],
        version=row["version"],
    )


async def transition_project(
    pool: Pool, *, code: str, data: schemas.ProjectTransition, actor: str
) -> schemas.ProjectRead:
    """Move a project; selecting commits its government money within the program's budget."""
    async with pool.acquire() as conn, conn.transaction():
        found = await repository.project(conn, code)
        if found is None:
            raise NotFound(f"Project {code} does not exist.")
        # The program's row lock serializes every commitment against its budget.
        program = await repository.program(conn, found["program_code"], for_update=True)
        assert program is not None
        row = await repository.project(conn, code, for_update=True)
        assert row is not None
        current = _domain_project(row)
        moved = domain.move(current, to=data.to, reason=data.reason)
        if moved.committed_krw > current.committed_krw:
            domain.check_fits(
                what=f"Commitments of program {program['code']}",
                used=await repository.program_committed(conn, program["code"]),
                adding=moved.committed_krw - current.committed_krw,
                limit=program["budget_krw"],
            )
        step = {
            "from_status": current.status,
            "to_status": moved.status,
            "at": datetime.now(UTC).isoformat(),
            "actor": actor,
            "reason": data.reason,
        }
        row = await repository.update_project_state(
            conn,
            code,
            status=moved.status,
            committed=moved.committed_krw,
            disbursed=moved.disbursed_krw,
            step=step,
        )
        await enqueue(conn, [_project_event(row, registry.PROJECT_EVENTS[moved.status])], source=SOURCE)
    return project_read(row)


async def get_project(pool: Pool, *, code: str) -> schemas.ProjectRead:
    """One project; 404 if unknown."""
    async with pool.acquire() as conn:
        row = await repository.project(conn, code)
    if row is None:
        raise NotFound(f"Project {code} does not exist.")
    return project_read(row)


async def list_projects(
    pool: Pool, *, filters: repository.ProjectFilter, cursor: str | None, limit: int
) -> schemas.Page[schemas.ProjectRead]:
    """A page of projects by code."""
    after = decode_text_cursor(cursor)
    async with pool.acquire() as conn:
        rows = await repository.list_projects(conn, filters, after=after, limit=limit + 1)
    items = [project_read(r) for r in rows[:limit]]
    return schemas.Page(
        items=items, next_cursor=encode_cursor([items[-1].code]) if len(rows) > limit else None
    )


# disbursements


def _request_hash(code: str, data: schemas.DisbursementCreate) -> str:
    canonical = json.dumps({"project": code, **data.model_dump(mode="json")}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def disburse(
    pool: Pool, *, code: str, data: schemas.DisbursementCreate, key: str, actor: str
) -> tuple[int, dict[str, Any]]:
    """Pay a project once per idempotency key; return the (status, body) of the key's first answer.

    The key is held by a transaction-level advisory lock for the whole request, and its answer is
    stored in the same transaction as the payment: a crash rolls both back, so a retry pays once,
    and a request that arrives while the first is running is told so (409) instead of waiting.
    """
    request_hash = _request_hash(code, data)
    async with pool.acquire() as conn, conn.transaction():
        if not await repository.try_lock_key(conn, key):
            raise Conflict("A request with this Idempotency-Key is still being processed; retry shortly.")
        first = await repository.stored_answer(conn, key)
        if first is not None:
            if first["request_hash"] != request_hash:
                raise Invalid.field("Idempotency-Key", "this key was used for a different request")
            return int(first["status_code"]), dict(first["response"])
        try:
            async with conn.transaction():
                row = await repository.project(conn, code, for_update=True)
                if row is None:
                    raise NotFound(f"Project {code} does not exist.")
                project = _domain_project(row)
                domain.check_payment_day(data.paid_on, start_on=row["start_on"], end_on=row["end_on"])
                domain.check_payable(project, data.amount_krw)
                paid = await repository.insert_disbursement(
                    conn, project_code=code, amount=data.amount_krw, paid_on=data.paid_on, by=actor
                )
                row = await repository.update_project_state(
                    conn,
                    code,
                    status=project.status,
                    committed=project.committed_krw,
                    disbursed=project.disbursed_krw + data.amount_krw,
                    step=None,
                )
                await enqueue(conn, [_project_event(row, registry.PROJECT_DISBURSED)], source=SOURCE)
            status = 201
            body = schemas.DisbursementRead.model_validate(dict(paid)).model_dump(mode="json")
        except Problem as problem:
            # A refusal is an answer too: the same request with the same key gets it again.
            status = problem.status
            body = {"detail": problem.detail, "errors": problem.errors, **problem.extra}
        await repository.store_answer(conn, key, request_hash=request_hash, status_code=status, response=body)
    return status, body


async def list_disbursements(
    pool: Pool, *, code: str, cursor: str | None, limit: int
) -> schemas.Page[schemas.DisbursementRead]:
    """A page of a project's payments, in the order they were recorded."""
    after = decode_time_id_cursor(cursor)
    async with pool.acquire() as conn:
        if await repository.project(conn, code) is None:
            raise NotFound(f"Project {code} does not exist.")
        rows = await repository.disbursements(conn, code, after=after, limit=limit + 1)
    items = [schemas.DisbursementRead.model_validate(dict(r)) for r in rows[:limit]]
    nxt = encode_time_id_cursor(items[-1].created_at, items[-1].id) if len(rows) > limit else None
    return schemas.Page(items=items, next_cursor=nxt)
