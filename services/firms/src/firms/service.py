"""The firms service's use cases; each owns one transaction, and events leave through the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from firms import domain, repository, schemas
from mpe_events import firms as ev
from mpe_events import registry
from mpe_kit.db import Conn, Pool
from mpe_kit.errors import Conflict, Invalid, NotFound, Problem
from mpe_kit.outbox import PendingEvent
from mpe_kit.pagination import decode_text_cursor, decode_time_id_cursor, encode_cursor, encode_time_id_cursor
from mpe_kit.uow import PostgresUnitOfWork, UnitOfWork
from mpe_replicas.technology import CatalogReader, require_listed

SOURCE = registry.source("firms")
SEOUL = ZoneInfo("Asia/Seoul")
Clock = Callable[[], date]
EXPIRY_ACTOR = "system:expiry"


def seoul_today() -> date:
    """Today's calendar date in Korea, the program's day."""
    return datetime.now(SEOUL).date()


def _brn(value: str) -> str:
    try:
        return domain.normalize_brn(value)
    except Invalid as exc:
        # In a path, a malformed BRN names nothing that could exist.
        raise NotFound(
            f"Firm {value} does not exist: {exc.detail}",
            ko=f"기업 {value}은(는) 없습니다: {exc.detail_ko or exc.detail}",
        ) from exc


def firm_read(row: asyncpg.Record) -> schemas.FirmRead:
    """The API view of a firm row."""
    return schemas.FirmRead(**dict(row), brn_display=domain.brn_display(row["brn"]))


async def _firm_event(conn: Conn, row: asyncpg.Record) -> ev.FirmV1:
    confirmations = await repository.confirmations(conn, row["brn"])
    return ev.FirmV1(
        **firm_read(row).model_dump(),
        confirmations=[
            ev.ConfirmationV1(
                technology_code=c["technology_code"], issued_on=c["issued_on"], valid_until=c["valid_until"]
            )
            for c in confirmations
        ],
    )


def designation_read(d: domain.Designation) -> schemas.DesignationRead:
    """The API view of a designation."""
    return schemas.DesignationRead.model_validate(d, from_attributes=True)


def _designation_event(d: domain.Designation) -> PendingEvent:
    data = ev.DesignationV1.model_validate(designation_read(d).model_dump())
    return PendingEvent(registry.DESIGNATION_EVENTS[d.status], str(d.id), data)


async def _firm_or_404(conn: Conn, brn: str, *, for_update: bool = False) -> asyncpg.Record:
    row = await repository.get_firm(conn, brn, for_update=for_update)
    if row is None:
        raise NotFound(
            f"Firm {domain.brn_display(brn)} does not exist.",
            ko=f"기업 {domain.brn_display(brn)}은(는) 없습니다.",
        )
    return row


# firms


async def register_firm(
    uow: UnitOfWork, reader: CatalogReader, *, data: schemas.FirmCreate
) -> schemas.FirmRead:
    """Register a firm; its technology codes must be on the list."""
    brn = domain.normalize_brn(data.brn)
    fields = {**data.model_dump(), "brn": brn, "technology_codes": sorted(set(data.technology_codes))}
    await require_listed(uow, fields["technology_codes"], reader=reader, field="technology_codes")
    async with uow:
        conn = uow.conn
        if not await repository.insert_firm(conn, fields):
            raise Conflict(
                f"Firm {domain.brn_display(brn)} is already registered.",
                ko=f"기업 {domain.brn_display(brn)}은(는) 이미 등록되어 있습니다.",
            )
        row = await _firm_or_404(conn, brn)
        uow.add(PendingEvent(registry.FIRM_REGISTERED, brn, await _firm_event(conn, row)))
    return firm_read(row)


async def get_firm(pool: Pool, *, brn: str) -> schemas.FirmRead:
    """One firm; 404 if unknown."""
    async with pool.acquire() as conn:
        return firm_read(await _firm_or_404(conn, _brn(brn)))


async def patch_firm(
    uow: UnitOfWork, reader: CatalogReader, *, brn: str, data: schemas.FirmPatch, if_match: int | None
) -> schemas.FirmRead:
    """Change a firm if it is still at version `if_match` (None: any); only codes it adds are checked."""
    key = _brn(brn)
    fields = {k: getattr(data, k) for k in data.model_fields_set}
    nullable = {"mpe_sales_ratio"}
    for name, value in fields.items():
        if value is None and name not in nullable:
            raise Invalid.field(name, "cannot be null", ko="null일 수 없습니다")
    if "technology_codes" in fields:
        async with uow:
            current = await _firm_or_404(uow.conn, key)
        fields["technology_codes"] = sorted(set(fields["technology_codes"]))
        added = set(fields["technology_codes"]) - set(current["technology_codes"])
        await require_listed(uow, added, reader=reader, field="technology_codes")
    async with uow:
        conn = uow.conn
        locked = await _firm_or_404(conn, key, for_update=True)
        if if_match is not None and locked["version"] != if_match:
            raise Problem(
                f"The firm is at version {locked['version']}, not {if_match}; read it again and retry.",
                status=412,
                ko=f"기업의 버전이 {if_match}이(가) 아니라 {locked['version']}입니다. 다시 읽고 다시 보내십시오.",
            )
        # A value sent as it already is changes nothing: no new version, no event, the same ETag.
        changed = {k: v for k, v in fields.items() if not _same(k, locked[k], v)}
        row = await repository.update_firm(conn, key, changed) if changed else locked
        if changed:
            uow.add(PendingEvent(registry.FIRM_UPDATED, key, await _firm_event(conn, row)))
    return firm_read(row)


def _same(name: str, stored: Any, sent: Any) -> bool:
    """Whether a patched value is the one the firm holds (technology codes as a set)."""
    if name == "technology_codes":
        return set(stored) == set(sent)
    return bool(stored == sent)


async def list_firms(
    pool: Pool, *, filters: repository.FirmFilter, cursor: str | None, limit: int
) -> schemas.Page[schemas.FirmRead]:
    """A page of firms by BRN."""
    after = decode_text_cursor(cursor)
    async with pool.acquire() as conn:
        rows = await repository.list_firms(conn, filters, after=after, limit=limit + 1)
    items = [firm_read(r) for r in rows[:limit]]
    return schemas.Page(
        items=items, next_cursor=encode_cursor([items[-1].brn]) if len(rows) > limit else None
    )


# confirmations


async def add_confirmation(
    uow: UnitOfWork, reader: CatalogReader, *, brn: str, data: schemas.ConfirmationCreate
) -> schemas.ConfirmationRead:
    """Record a confirmation the firm holds."""
    key = _brn(brn)
    domain.check_confirmation(data.issued_on, data.valid_until)
    confirmation = domain.Confirmation(**data.model_dump())
    async with uow:
        await _firm_or_404(uow.conn, key)
    # On the list the day it was issued: a confirmation of 2021 may be for a technology retired since.
    await require_listed(
        uow, [data.technology_code], reader=reader, field="technology_code", on=data.issued_on
    )
    async with uow:
        conn = uow.conn
        await _firm_or_404(conn, key, for_update=True)
        cid = await repository.insert_confirmation(conn, key, confirmation)
        row = await repository.update_firm(conn, key, {})
        uow.add(PendingEvent(registry.FIRM_CONFIRMATION_ADDED, key, await _firm_event(conn, row)))
    return schemas.ConfirmationRead(id=cid, **data.model_dump())


async def list_confirmations(
    pool: Pool, *, brn: str, cursor: str | None, limit: int
) -> schemas.Page[schemas.ConfirmationRead]:
    """A page of a firm's confirmations, in the order they were recorded."""
    key = _brn(brn)
    after = decode_time_id_cursor(cursor)
    async with pool.acquire() as conn:
        await _firm_or_404(conn, key)
        rows = await repository.confirmations_page(conn, key, after=after, limit=limit + 1)
    fields = ("id", "technology_code", "issued_on", "valid_until")
    items = [schemas.ConfirmationRead(**{k: r[k] for k in fields}) for r in rows[:limit]]
    last = rows[limit - 1] if len(rows) > limit else None
    nxt = encode_time_id_cursor(last["created_at"], last["id"]) if last is not None else None
    return schemas.Page(items=items, next_cursor=nxt)


# designations


async def apply(
    uow: UnitOfWork,
    reader: CatalogReader,
    *,
    brn: str,
    data: schemas.DesignationCreate,
    actor: str,
    today: Clock = seoul_today,
) -> schemas.DesignationRead:
    """Apply for a designation, status applied."""
    key = _brn(brn)
    on = data.effective_on or today()
    if on > today():
        raise Invalid.field("effective_on", "cannot be after today", ko="오늘보다 뒤일 수 없습니다")
    d = domain.apply_for(
        id=uuid.uuid4(),
        brn=key,
        kind=data.kind,
        cohort=data.cohort,
        technology_codes=data.technology_codes,
        on=on,
        actor=actor,
        at=datetime.now(UTC),
    )
    async with uow:
        await _firm_or_404(uow.conn, key)
    # On the list the day the firm applied (a past cohort is entered with its own dates).
    await require_listed(uow, d.technology_codes, reader=reader, field="technology_codes", on=d.applied_on)
    async with uow:
        conn = uow.conn
        firm = await _firm_or_404(conn, key, for_update=True)
        if d.kind == "leading":
            confirmations = [
                domain.Confirmation(
                    technology_code=c["technology_code"],
                    issued_on=c["issued_on"],
                    valid_until=c["valid_until"],
                )
                for c in await repository.confirmations(conn, key)
            ]
            domain.check_leading_confirmation(confirmations, list(d.technology_codes), on=on)
        else:
            domain.check_specialized_ratio(firm["mpe_sales_ratio"])
        if not await repository.insert_designation(conn, d):
            raise Conflict(
                f"Firm {key} already has an open {d.kind} application (applied or under review);"
                " decide or withdraw it before applying again.",
                ko=f"기업 {key}에는 이미 진행 중인(applied 또는 under_review) {domain.KIND_KO[d.kind]} 신청이 있습니다. 그 신청을 결정하거나 철회한 뒤에 다시 신청하십시오.",
            )
        uow.add(_designation_event(d))
    return designation_read(d)


async def transition(
    uow: UnitOfWork,
    *,
    designation_id: uuid.UUID,
    data: schemas.TransitionCreate,
    actor: str,
    today: Clock = seoul_today,
) -> schemas.DesignationRead:
    """Move a designation; designating checks the ratio rule and overlaps, serialized per firm."""
    on = data.effective_on or today()
    if on > today():
        raise Invalid.field("effective_on", "cannot be after today", ko="오늘보다 뒤일 수 없습니다")
    async with uow:
        conn = uow.conn
        found = await repository.get_designation(conn, designation_id)
        if found is None:
            raise NotFound(
                f"Designation {designation_id} does not exist.", ko=f"지정 {designation_id}은(는) 없습니다."
            )
        # The firm's row lock serializes every designation decision of one firm.
        firm = await _firm_or_404(conn, found.brn, for_update=True)
        current = await repository.get_designation(conn, designation_id, for_update=True)
        assert current is not None
        moved = domain.move(current, to=data.to, on=on, actor=actor, at=datetime.now(UTC), reason=data.reason)
        if moved.status == "designated":
            if moved.kind == "specialized":
                domain.check_specialized_ratio(firm["mpe_sales_ratio"])
            domain.check_no_overlap(moved, await repository.firm_designations(conn, moved.brn, moved.kind))
        await repository.update_designation(conn, moved)
        uow.add(_designation_event(moved))
    return designation_read(moved)


async def get_designation(pool: Pool, *, designation_id: uuid.UUID) -> schemas.DesignationRead:
    """One designation; 404 if unknown."""
    async with pool.acquire() as conn:
        d = await repository.get_designation(conn, designation_id)
    if d is None:
        raise NotFound(
            f"Designation {designation_id} does not exist.", ko=f"지정 {designation_id}은(는) 없습니다."
        )
    return designation_read(d)


async def list_designations(
    pool: Pool, *, filters: repository.DesignationFilter, cursor: str | None, limit: int
) -> schemas.Page[schemas.DesignationRead]:
    """A page of designations in the order they were applied for."""
    after = decode_time_id_cursor(cursor)
    async with pool.acquire() as conn:
        rows = await repository.list_designations(conn, filters, after=after, limit=limit + 1)
    items = [designation_read(d) for _, d in rows[:limit]]
    nxt = None
    if len(rows) > limit:
        created_at, last = rows[limit - 1]
        nxt = encode_time_id_cursor(created_at, last.id)
    return schemas.Page(items=items, next_cursor=nxt)


async def expire_due(pool: Pool, *, today: date, batch: int = 100) -> int:
    """Expire designated designations whose period ended before `today`; safe on many instances."""
    # A background task, not a request: its writes go into no write token.
    uow = PostgresUnitOfWork(pool, source=SOURCE)
    total = 0
    while True:
        async with uow:
            conn = uow.conn
            due = await repository.due_for_expiry(conn, today, limit=batch)
            events: list[PendingEvent] = []
            for d in due:
                assert d.valid_until is not None
                expired = domain.move(
                    d,
                    to="expired",
                    on=d.valid_until,
                    actor=EXPIRY_ACTOR,
                    at=datetime.now(UTC),
                    by_expiry_task=True,
                )
                await repository.update_designation(conn, expired)
                events.append(_designation_event(expired))
            if events:
                uow.add(*events)
        total += len(due)
        if len(due) < batch:
            return total


def clock_of(state: Any) -> Clock:
    """The app's clock (tests pin it), or Seoul's today."""
    clock: Clock = getattr(state, "clock", seoul_today)
    return clock
