"""The budget service's use cases for projects and their payments; each owns one transaction.

Events leave through the outbox, as in `budget.service` (fiscal years and programs).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pycountry

from budget import domain, repository, schemas
from mpe_events import brn, registry
from mpe_events import budget as ev
from mpe_kit.db import Conn, Pool
from mpe_kit.errors import Conflict, Invalid, NotFound, Problem
from mpe_kit.outbox import PendingEvent
from mpe_kit.pagination import decode_text_cursor, decode_time_id_cursor, encode_cursor, encode_time_id_cursor
from mpe_kit.readthrough import OwnerReader
from mpe_kit.uow import UnitOfWork
from mpe_replicas.technology import CatalogReader, require_listed

SEOUL = ZoneInfo("Asia/Seoul")


def seoul_today() -> date:
    """Today's date in Korea, where the program's dates are kept."""
    return datetime.now(SEOUL).date()


# views and events


def project_read(row: asyncpg.Record) -> schemas.ProjectRead:
    """The API view of a project row."""
    return schemas.ProjectRead.model_validate(dict(row))


def _project_event(row: asyncpg.Record, event_type: registry.EventType) -> PendingEvent:
    data = ev.ProjectV1.model_validate({k: row[k] for k in ev.ProjectV1.model_fields})
    return PendingEvent(event_type, row["code"], data)


def _disbursement_event(paid: asyncpg.Record, project: asyncpg.Record) -> PendingEvent:
    data = ev.DisbursementV1(
        id=paid["id"],
        project_code=project["code"],
        program_code=project["program_code"],
        fiscal_year=project["fiscal_year"],
        paid_on=paid["paid_on"],
        amount_krw=paid["amount_krw"],
        recorded_at=paid["created_at"],
        project_disbursed_krw=project["disbursed_krw"],
        project_version=project["version"],
        version=1,
    )
    return PendingEvent(registry.DISBURSEMENT_PAID, str(paid["id"]), data)


# projects


def _brn(value: str | None, field: str) -> str | None:
    if not value:
        return None
    try:
        return brn.normalize(value)
    except brn.InvalidBrn as exc:
        raise Invalid.field(field, str(exc), ko=exc.ko) from exc


async def _firm(uow: UnitOfWork, brn: str, firms: OwnerReader, *, field: str) -> tuple[str, str | None]:
    """A firm's (size class, region) from the replica, read through to the firms service on a miss and kept.

    Its own short units of work, before the use case's: no transaction waits on HTTP, and a firm
    read through is kept even if the cost-share caps then refuse the project.
    """
    async with uow:
        row = await repository.firm(uow.conn, brn)
    if row is not None:
        return str(row["size"]), row["region"]
    body = await firms.get(f"/v1/firms/{brn}")
    if body is None:
        raise Invalid.field(
            field,
            f"firm {brn} is not registered with the firms service",
            ko=f"기업 {brn}은(는) 기업 서비스에 등록되어 있지 않습니다",
        )
    async with uow:
        await repository.upsert_firm(
            uow.conn,
            brn=brn,
            size=body["size"],
            size_since=datetime.fromisoformat(body["size_since"]).date(),
            region=body.get("region"),
            version=int(body["version"]),
        )
    return str(body["size"]), body.get("region")


def _participants(data: schemas.ProjectCreate) -> list[domain.Participant]:
    """The consortium as asked, BRNs normalized and countries checked against ISO 3166-1."""
    out: list[domain.Participant] = []
    for i, p in enumerate(data.participants or []):
        if pycountry.countries.get(alpha_2=p.country) is None:
            raise Invalid.field(
                f"participants[{i}].country",
                f"{p.country} is not an ISO 3166-1 alpha-2 country code",
                ko=f"{p.country}은(는) ISO 3166-1 alpha-2 국가 코드가 아닙니다",
            )
        out.append(
            domain.Participant(
                role=p.role,
                kind=p.kind,
                name=p.name,
                brn=_brn(p.brn, f"participants[{i}].brn"),
                country=p.country,
                government_krw=p.government_krw,
                private_cash_krw=p.private_cash_krw,
                private_in_kind_krw=p.private_in_kind_krw,
            )
        )
    return out


async def propose_project(
    uow: UnitOfWork, catalog: CatalogReader, firms: OwnerReader, *, data: schemas.ProjectCreate
) -> schemas.ProjectRead:
    """Propose a project; it commits nothing until it is selected."""
    domain.check_project_shape(
        kind=data.kind, continues=data.continues, start_on=data.start_on, end_on=data.end_on
    )
    fields = data.model_dump(exclude={"participants"})
    # The first code stays first: it is the project's primary technology.
    fields["technology_codes"] = list(dict.fromkeys(data.technology_codes))
    lead_brn = fields["lead_firm_brn"] = _brn(data.lead_firm_brn, "lead_firm_brn")
    totals = domain.Shares(
        government=data.government_krw, cash=data.private_cash_krw, in_kind=data.private_in_kind_krw
    )
    if data.participants is None:
        participants = [domain.sole_lead(lead_brn, totals)] if lead_brn else []
        korean = totals
    else:
        participants = _participants(data)
        korean = domain.check_participants(participants, lead_firm_brn=lead_brn, totals=totals)
    # On the list when the project starts (a past year's project may name a technology retired since).
    await require_listed(
        uow, fields["technology_codes"], reader=catalog, field="technology_codes", on=data.start_on
    )
    size, region = await _firm(uow, lead_brn, firms, field="lead_firm_brn") if lead_brn else (None, None)
    for i, p in enumerate(participants):
        if p.kind == "firm" and p.korean and p.brn != lead_brn:
            assert p.brn is not None
            await _firm(uow, p.brn, firms, field=f"participants[{i}].brn")
    # The caps stay on the Korean side: a foreign partner's money is its own country's business.
    domain.check_cost_share(size, government=korean.government, cash=korean.cash, in_kind=korean.in_kind)
    fields["participants"] = [dataclasses.asdict(p) for p in participants]
    fields["lead_firm_size"], fields["lead_firm_region"] = size, region
    async with uow:
        conn = uow.conn
        program = await repository.program_head(conn, data.program_code)
        if program is None:
            raise Invalid.field(
                "program_code",
                f"program {data.program_code} does not exist",
                ko=f"사업 {data.program_code}은(는) 없습니다",
            )
        fields["fiscal_year"] = program["fiscal_year"]
        fields["program_kind"], fields["track"] = program["kind"], program["track"]
        await _check_year_plans(
            conn, program["fiscal_year"], totals.government + totals.cash + totals.in_kind
        )
        fields["chain_root"] = data.code
        if data.continues:
            # Locked, so two proposals continuing one project take turns: the second sees the
            # first's row below and is refused with its code (the unique index stays the backstop).
            previous = await repository.project(conn, data.continues, for_update=True)
            if previous is None or previous["fiscal_year"] != program["fiscal_year"] - 1:
                raise Invalid.field(
                    "continues",
                    f"{data.continues} is not a project of fiscal year {program['fiscal_year'] - 1}",
                    ko=f"{data.continues}은(는) {program['fiscal_year'] - 1}년도 과제가 아닙니다",
                )
            taken = await repository.continued_by(conn, data.continues)
            if taken is not None:
                raise Conflict(
                    f"{data.continues} is already continued by {taken}.",
                    ko=f"{data.continues}은(는) 이미 {taken}이(가) 이어받았습니다.",
                )
            fields["chain_root"] = previous["chain_root"]
        if not await repository.insert_project(conn, fields):
            raise Conflict(
                f"Project {data.code} already exists.", ko=f"과제 {data.code}은(는) 이미 있습니다."
            )
        row = await repository.project(conn, data.code)
        assert row is not None
        uow.add(_project_event(row, registry.PROJECT_EVENTS["proposed"]))
    return project_read(row)


async def _check_year_plans(conn: Conn, year: int, cost: int) -> None:
    """422 if the year's projects would plan more than MAX_YEAR_PLANNED_WON with this one.

    The year's row is locked, so two proposals cannot each pass alone and together exceed it.
    """
    await repository.fiscal_year(conn, year, for_update=True)
    planned = await repository.year_planned(conn, year)
    if planned + cost > schemas.MAX_YEAR_PLANNED_WON:
        message = (
            f"fiscal year {year}'s projects already plan ₩{planned:,}; with this one's ₩{cost:,} they"
            f" would pass the ₩{schemas.MAX_YEAR_PLANNED_WON:,} a year's projects may plan together"
        )
        message_ko = (
            f"{year}년도 과제들의 계획 금액이 이미 {planned:,}원이며, 이 과제의 {cost:,}원을 더하면 한 해"
            f" 과제들이 함께 계획할 수 있는 {schemas.MAX_YEAR_PLANNED_WON:,}원을 넘습니다"
        )
        raise Invalid(
            message,
            errors=[
                {"field": f, "message": message, "message_ko": message_ko}
                for f in ("government_krw", "private_cash_krw", "private_in_kind_krw")
            ],
            ko=message_ko,
        )


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
    uow: UnitOfWork, *, code: str, data: schemas.ProjectTransition, actor: str
) -> schemas.ProjectRead:
    """Move a project; selecting commits its government money within the program's budget.

    Selecting also keeps the day and the lead firm's size class and region as they stand then:
    the rollups attribute a project by its lead firm as it was when the project was chosen.
    """
    today = seoul_today()
    effective_on = data.effective_on or today
    if effective_on > today:
        raise Invalid.field(
            "effective_on",
            f"a move is recorded once it has happened; today is {today}",
            ko=f"상태 변경은 일어난 뒤에 기록합니다. 오늘은 {today}입니다",
        )
    async with uow:
        conn = uow.conn
        found = await repository.project(conn, code)
        if found is None:
            raise NotFound(f"Project {code} does not exist.", ko=f"과제 {code}은(는) 없습니다.")
        # The program's row lock serializes every commitment against its budget.
        program = await repository.program_head(conn, found["program_code"], for_update=True)
        assert program is not None
        row = await repository.project(conn, code, for_update=True)
        assert row is not None
        current = _domain_project(row)
        moved = domain.move(current, to=data.to, reason=data.reason)
        if moved.committed_krw > current.committed_krw:
            domain.check_fits(
                what=f"Commitments of program {program['code']}",
                what_ko=f"사업 {program['code']}의 약정액",
                used=program["committed_krw"],
                adding=moved.committed_krw - current.committed_krw,
                limit=program["budget_krw"],
            )
        if row["history"] and effective_on < date.fromisoformat(row["history"][-1]["effective_on"]):
            raise Invalid.field(
                "effective_on",
                f"the previous move took effect on {row['history'][-1]['effective_on']}",
                ko=f"이전 상태 변경의 효력 발생일({row['history'][-1]['effective_on']})보다 앞설 수 없습니다",
            )
        step = {
            "from_status": current.status,
            "to_status": moved.status,
            "at": datetime.now(UTC).isoformat(),
            "effective_on": effective_on.isoformat(),
            "actor": actor,
            "reason": data.reason,
        }
        selection = None
        if moved.status == "selected":
            firm = await repository.firm(conn, row["lead_firm_brn"]) if row["lead_firm_brn"] else None
            selection = repository.Selection(
                on=effective_on,
                lead_firm_size=firm["size"] if firm else row["lead_firm_size"],
                lead_firm_region=(firm["region"] if firm else None) or row["lead_firm_region"],
            )
        row = await repository.update_project_state(
            conn,
            code,
            status=moved.status,
            committed=moved.committed_krw,
            disbursed=moved.disbursed_krw,
            step=step,
            selection=selection,
        )
        uow.add(_project_event(row, registry.PROJECT_EVENTS[moved.status]))
    return project_read(row)


async def get_project(pool: Pool, *, code: str) -> schemas.ProjectRead:
    """One project; 404 if unknown."""
    async with pool.acquire() as conn:
        row = await repository.project(conn, code)
    if row is None:
        raise NotFound(f"Project {code} does not exist.", ko=f"과제 {code}은(는) 없습니다.")
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
    uow: UnitOfWork, *, code: str, data: schemas.DisbursementCreate, key: str, actor: str
) -> tuple[int, dict[str, Any]]:
    """Pay a project once per idempotency key; return the (status, body) of the key's first answer.

    The key is held by a transaction-level advisory lock for the whole request, and its answer is
    stored in the same transaction as the payment: a crash rolls both back, so a retry pays once,
    and a request that arrives while the first is running is told so (409) instead of waiting.
    """
    request_hash = _request_hash(code, data)
    async with uow:
        conn = uow.conn
        if not await repository.try_lock_key(conn, key):
            raise Conflict(
                "A request with this Idempotency-Key is still being processed; retry shortly.",
                ko="이 Idempotency-Key의 요청을 아직 처리하고 있습니다. 잠시 뒤에 다시 보내십시오.",
            )
        first = await repository.stored_answer(conn, key)
        if first is not None:
            if first["request_hash"] != request_hash:
                raise Invalid.field(
                    "Idempotency-Key",
                    "this key was used for a different request",
                    ko="이 키는 다른 요청에 쓰였습니다",
                )
            if first["write_txid"] is not None:
                # The first answer's write token: a reader can wait for the payment it made.
                uow.note_committed(first["write_txid"], first["write_events"])
            return int(first["status_code"]), dict(first["response"])
        events: list[PendingEvent] = []
        try:
            async with uow.savepoint():
                row = await repository.project(conn, code, for_update=True)
                if row is None:
                    raise NotFound(f"Project {code} does not exist.", ko=f"과제 {code}은(는) 없습니다.")
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
                events = [_project_event(row, registry.PROJECT_DISBURSED), _disbursement_event(paid, row)]
                uow.add(*events)
            status = 201
            body = schemas.DisbursementRead.model_validate(dict(paid)).model_dump(mode="json")
        except Problem as problem:
            # A refusal is an answer too: the same request with the same key gets it again.
            status = problem.status
            body = {
                "detail": problem.detail,
                "detail_ko": problem.detail_ko,
                "errors": problem.errors,
                **problem.extra,
            }
        await repository.store_answer(
            conn, key, request_hash=request_hash, status_code=status, response=body, events=len(events)
        )
    return status, body


async def list_disbursements(
    pool: Pool, *, code: str, cursor: str | None, limit: int
) -> schemas.Page[schemas.DisbursementRead]:
    """A page of a project's payments, in the order they were recorded."""
    after = decode_time_id_cursor(cursor)
    async with pool.acquire() as conn:
        if await repository.project(conn, code) is None:
            raise NotFound(f"Project {code} does not exist.", ko=f"과제 {code}은(는) 없습니다.")
        rows = await repository.disbursements(conn, code, after=after, limit=limit + 1)
    items = [schemas.DisbursementRead.model_validate(dict(r)) for r in rows[:limit]]
    nxt = encode_time_id_cursor(items[-1].created_at, items[-1].id) if len(rows) > limit else None
    return schemas.Page(items=items, next_cursor=nxt)
