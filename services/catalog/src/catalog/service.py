"""The catalog's use cases; each owns one transaction, and events leave through the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from catalog import domain, repository, schemas
from mpe_events import catalog as ev
from mpe_events import registry
from mpe_kit.db import Conn
from mpe_kit.errors import Conflict, Invalid, NotFound
from mpe_kit.outbox import PendingEvent
from mpe_kit.pagination import decode_text_cursor, decode_time_id_cursor, encode_cursor, encode_time_id_cursor
from mpe_kit.uow import UnitOfWork

SEOUL = ZoneInfo("Asia/Seoul")
Clock = Callable[[], date]


def seoul_today() -> date:
    """Today's calendar date in Korea, the program's day."""
    return datetime.now(SEOUL).date()


# conversions between boundaries


def _to_domain(changes: list[schemas.ChangeIn]) -> list[domain.Change]:
    out: list[domain.Change] = []
    for ch in changes:
        if isinstance(ch, schemas.AddChange):
            out.append(domain.Add(domain.TechnologyFields(**ch.technology.model_dump())))
        elif isinstance(ch, schemas.RetireChange):
            out.append(domain.Retire(ch.code))
        else:
            fields = ch.model_dump(exclude={"op", "code"}, exclude_none=True)
            out.append(domain.Amend(ch.code, fields))
    return out


def _tech_event(t: domain.Technology) -> ev.TechnologyV1:
    return ev.TechnologyV1(
        code=t.code,
        industry_code=t.industry_code,
        kind=t.kind,
        name_en=t.name_en,
        name_ko=t.name_ko,
        description=t.description,
        status=t.status,
        listed_on=t.listed_on,
        retired_on=t.retired_on,
        version=t.version,
        revision_id=t.revision_id,
    )


def _revision_read(row: asyncpg.Record) -> schemas.RevisionRead:
    return schemas.RevisionRead.model_validate(dict(row))


def _revision_event(
    rev: schemas.RevisionRead, status: str | None = None, *, amended_before: dict[str, Any] | None = None
) -> ev.RevisionV1:
    body = {**rev.model_dump(mode="json"), "status": status or rev.status}
    if amended_before:
        # An amendment's old values are known once it is applied, so only a published revision has them.
        body["changes"] = [
            {**ch, "before": amended_before.get(ch["code"])} if ch["op"] == "amend" else ch
            for ch in body["changes"]
        ]
    return ev.RevisionV1.model_validate(body)


def tech_read(t: domain.Technology) -> schemas.TechnologyRead:
    """The API view of a technology."""
    return schemas.TechnologyRead.model_validate(t, from_attributes=True)


# industries


async def create_industry(uow: UnitOfWork, *, data: schemas.IndustryCreate) -> schemas.IndustryRead:
    """Add an industry; 409 if its code is taken."""
    async with uow:
        conn = uow.conn
        if not await repository.insert_industry(conn, **data.model_dump()):
            raise Conflict(
                f"Industry {data.code} already exists.", ko=f"산업 {data.code}은(는) 이미 있습니다."
            )
        industry = schemas.IndustryRead(**data.model_dump(), version=1)
        uow.add(PendingEvent(registry.INDUSTRY_CREATED, data.code, ev.IndustryV1(**industry.model_dump())))
    return industry


async def list_industries(
    pool: asyncpg.Pool, *, cursor: str | None, limit: int
) -> schemas.Page[schemas.IndustryRead]:
    """A page of industries by code."""
    after = decode_text_cursor(cursor)
    async with pool.acquire() as conn:
        rows = await repository.list_industries(conn, after=after, limit=limit + 1)
    items = [schemas.IndustryRead(**dict(r)) for r in rows[:limit]]
    nxt = encode_cursor([items[-1].code]) if len(rows) > limit else None
    return schemas.Page(items=items, next_cursor=nxt)


async def get_industry(pool: asyncpg.Pool, *, code: str) -> schemas.IndustryRead:
    """One industry; 404 if unknown."""
    async with pool.acquire() as conn:
        row = await repository.get_industry(conn, code)
    if row is None:
        raise NotFound(f"Industry {code} does not exist.", ko=f"산업 {code}은(는) 없습니다.")
    return schemas.IndustryRead(**dict(row))


# revisions


def _industries_named(changes: list[domain.Change]) -> list[tuple[str, str]]:
    """Each industry code the changes name, with the field that names it."""
    named = []
    for i, c in enumerate(changes):
        if isinstance(c, domain.Add):
            named.append((f"changes[{i}].technology.industry_code", c.technology.industry_code))
        elif isinstance(c, domain.Amend) and "industry_code" in c.fields:
            named.append((f"changes[{i}].industry_code", c.fields["industry_code"]))
    return named


async def _unknown_industries(conn: Conn, changes: list[domain.Change]) -> list[tuple[str, str]]:
    """Each industry code the changes name that does not exist, with the field that names it."""
    named = _industries_named(changes)
    existing = await repository.existing_industries(conn, {code for _, code in named})
    return [(field, code) for field, code in named if code not in existing]


async def _check_against_list(conn: Conn, changes: list[domain.Change]) -> None:
    """Catch at drafting time what would certainly fail at publishing time."""
    unknown = await _unknown_industries(conn, changes)
    if unknown:
        codes = ", ".join(sorted({code for _, code in unknown}))
        raise Invalid(
            f"unknown industry codes: {codes}",
            errors=[
                {
                    "field": field,
                    "message": f"unknown industry code {code}",
                    "message_ko": f"없는 산업 코드입니다: {code}",
                }
                for field, code in unknown
            ],
            ko=f"없는 산업 코드: {codes}",
        )
    known = await repository.technologies_by_code(conn, [c.code for c in changes])
    for i, ch in enumerate(changes):
        if isinstance(ch, domain.Add) and ch.code in known:
            raise Conflict(
                f"Technology {ch.code} already exists.",
                errors=[
                    {
                        "field": f"changes[{i}]",
                        "message": f"technology {ch.code} already exists",
                        "message_ko": f"기술 {ch.code}은(는) 이미 있습니다",
                    }
                ],
                ko=f"기술 {ch.code}은(는) 이미 있습니다.",
            )
        if not isinstance(ch, domain.Add) and ch.code not in known:
            raise Invalid.field(
                f"changes[{i}].code",
                f"technology {ch.code} does not exist",
                ko=f"기술 {ch.code}은(는) 없습니다",
            )


async def create_revision(
    uow: UnitOfWork, *, data: schemas.RevisionCreate, actor: str
) -> schemas.RevisionRead:
    """Draft a revision of the list."""
    changes = _to_domain(data.changes)
    domain.check_changes(changes, decided_on=data.decided_on, effective_on=data.effective_on)
    async with uow:
        conn = uow.conn
        await _check_against_list(conn, changes)
        row = await repository.insert_revision(
            conn,
            id=uuid.uuid4(),
            title=data.title,
            decided_on=data.decided_on,
            effective_on=data.effective_on,
            changes=[c.model_dump(mode="json", exclude_none=True) for c in data.changes],
            created_by=actor,
        )
        rev = _revision_read(row)
        uow.add(PendingEvent(registry.REVISION_DRAFTED, str(rev.id), _revision_event(rev)))
    return rev


async def _locked_revision(conn: Conn, revision_id: uuid.UUID) -> schemas.RevisionRead:
    row = await repository.get_revision(conn, revision_id, for_update=True)
    if row is None:
        raise NotFound(f"Revision {revision_id} does not exist.", ko=f"개정 {revision_id}은(는) 없습니다.")
    return _revision_read(row)


async def update_revision(
    uow: UnitOfWork, *, revision_id: uuid.UUID, data: schemas.RevisionUpdate
) -> schemas.RevisionRead:
    """Edit a draft; 409 once published."""
    async with uow:
        conn = uow.conn
        current = await _locked_revision(conn, revision_id)
        domain.check_editable(current.status)
        # Attributes, not model_dump(): the changes must stay typed models, not dicts.
        edits = {k: getattr(data, k) for k in data.model_fields_set}
        for name, value in edits.items():
            if value is None:
                raise Invalid.field(
                    name,
                    "cannot be null; leave it out to keep it",
                    ko="null일 수 없습니다. 그대로 두려면 이 항목을 빼십시오",
                )
        merged = current.model_copy(update=edits)
        if merged == current:
            # Nothing to change: no new version and no event.
            return current
        changes = _to_domain(merged.changes)
        domain.check_changes(changes, decided_on=merged.decided_on, effective_on=merged.effective_on)
        await _check_against_list(conn, changes)
        row = await repository.update_revision(
            conn,
            revision_id,
            title=merged.title,
            decided_on=merged.decided_on,
            effective_on=merged.effective_on,
            changes=[c.model_dump(mode="json", exclude_none=True) for c in merged.changes],
        )
        rev = _revision_read(row)
        uow.add(PendingEvent(registry.REVISION_EDITED, str(rev.id), _revision_event(rev)))
    return rev


async def delete_revision(uow: UnitOfWork, *, revision_id: uuid.UUID) -> None:
    """Delete a draft; 409 once published."""
    async with uow:
        conn = uow.conn
        current = await _locked_revision(conn, revision_id)
        domain.check_editable(current.status)
        await repository.delete_revision(conn, revision_id)
        gone = current.model_copy(update={"version": current.version + 1})
        uow.add(PendingEvent(registry.REVISION_DELETED, str(gone.id), _revision_event(gone, "deleted")))


async def publish_revision(
    uow: UnitOfWork, *, revision_id: uuid.UUID, actor: str, today: Clock = seoul_today
) -> schemas.RevisionRead:
    """Apply every change of a draft at its effective date, atomically, with one event each."""
    async with uow:
        conn = uow.conn
        rev = await _locked_revision(conn, revision_id)
        domain.check_publishable(status=rev.status, effective_on=rev.effective_on, today=today())
        changes = _to_domain(rev.changes)
        on = rev.effective_on
        missing = sorted({code for _, code in await _unknown_industries(conn, changes)})
        if missing:
            raise Conflict(
                f"The revision names unknown industries: {', '.join(missing)}.",
                ko=f"개정이 없는 산업을 가리킵니다: {', '.join(missing)}.",
            )
        current = await repository.technologies_for_update(conn, [c.code for c in changes])
        changed_on = await repository.last_changed_on(conn, current)
        events: list[PendingEvent] = []
        amended_before: dict[str, dict[str, str]] = {}
        for ch in changes:
            if isinstance(ch, domain.Add):
                if ch.code in current:
                    raise Conflict(
                        f"Technology {ch.code} already exists.", ko=f"기술 {ch.code}은(는) 이미 있습니다."
                    )
                tech = domain.listed(ch.technology, on=on, revision_id=rev.id)
                try:
                    async with uow.savepoint():
                        await repository.insert_technology(conn, tech)
                except asyncpg.UniqueViolationError as exc:
                    # Another revision listed the same code since this one was drafted.
                    raise Conflict(
                        f"Technology {ch.code} already exists.", ko=f"기술 {ch.code}은(는) 이미 있습니다."
                    ) from exc
                event_type = registry.TECHNOLOGY_LISTED
            else:
                old = current.get(ch.code)
                if old is None:
                    raise Conflict(
                        f"Technology {ch.code} does not exist.", ko=f"기술 {ch.code}은(는) 없습니다."
                    )
                domain.check_in_order(ch.code, on=on, last_changed_on=changed_on.get(ch.code, old.listed_on))
                if isinstance(ch, domain.Retire):
                    tech = domain.retire(old, on=on, revision_id=rev.id)
                    event_type = registry.TECHNOLOGY_RETIRED
                else:
                    amended_before[ch.code] = {f: getattr(old, f) for f in ch.fields}
                    tech = domain.amend(old, ch.fields, revision_id=rev.id)
                    event_type = registry.TECHNOLOGY_AMENDED
                await repository.update_technology(conn, tech)
            await repository.insert_history(
                conn, code=tech.code, revision_id=rev.id, op=ch.op, effective_on=on, version=tech.version
            )
            events.append(PendingEvent(event_type, tech.code, _tech_event(tech)))
        row = await repository.mark_published(conn, rev.id, by=actor, amended_before=amended_before)
        published = _revision_read(row)
        event = _revision_event(published, amended_before=row["amended_before"])
        events.append(PendingEvent(registry.REVISION_PUBLISHED, str(rev.id), event))
        uow.add(*events)
    return published


async def get_revision(pool: asyncpg.Pool, *, revision_id: uuid.UUID) -> schemas.RevisionRead:
    """One revision; 404 if unknown."""
    async with pool.acquire() as conn:
        row = await repository.get_revision(conn, revision_id)
    if row is None:
        raise NotFound(f"Revision {revision_id} does not exist.", ko=f"개정 {revision_id}은(는) 없습니다.")
    return _revision_read(row)


async def list_revisions(
    pool: asyncpg.Pool, *, status: str | None, cursor: str | None, limit: int
) -> schemas.Page[schemas.RevisionRead]:
    """A page of revisions in creation order."""
    after = decode_time_id_cursor(cursor)
    async with pool.acquire() as conn:
        rows = await repository.list_revisions(conn, status=status, after=after, limit=limit + 1)
    items = [_revision_read(r) for r in rows[:limit]]
    nxt = encode_time_id_cursor(items[-1].created_at, items[-1].id) if len(rows) > limit else None
    return schemas.Page(items=items, next_cursor=nxt)


# technologies


async def list_technologies(
    pool: asyncpg.Pool, *, filters: repository.TechnologyFilter, cursor: str | None, limit: int
) -> schemas.Page[schemas.TechnologyRead]:
    """A page of technologies by code."""
    after = decode_text_cursor(cursor)
    async with pool.acquire() as conn:
        rows = await repository.list_technologies(conn, filters, after=after, limit=limit + 1)
    items = [tech_read(t) for t in rows[:limit]]
    nxt = encode_cursor([items[-1].code]) if len(rows) > limit else None
    return schemas.Page(items=items, next_cursor=nxt)


async def get_technology(pool: asyncpg.Pool, *, code: str) -> schemas.TechnologyDetail:
    """One technology with its history; 404 if unknown."""
    async with pool.acquire() as conn:
        found = await repository.technologies_by_code(conn, [code])
        if code not in found:
            raise NotFound(f"Technology {code} does not exist.", ko=f"기술 {code}은(는) 없습니다.")
        history = await repository.technology_history(conn, code)
    data: dict[str, Any] = tech_read(found[code]).model_dump()
    return schemas.TechnologyDetail(**data, history=[schemas.HistoryEntry(**dict(h)) for h in history])
