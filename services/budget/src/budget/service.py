"""The budget service's use cases for fiscal years and programs; each owns one transaction.

Events leave through the outbox. Projects and their payments are in `budget.projects`.
"""

from __future__ import annotations

import asyncpg

from budget import domain, repository, schemas
from mpe_events import budget as ev
from mpe_events import registry
from mpe_kit.db import Conn, Pool
from mpe_kit.errors import Conflict, Invalid, NotFound
from mpe_kit.outbox import PendingEvent
from mpe_kit.pagination import decode_text_cursor, encode_cursor
from mpe_kit.uow import UnitOfWork

# reads and views


def program_read(row: asyncpg.Record) -> schemas.ProgramRead:
    """The API view of a program row."""
    return schemas.ProgramRead.model_validate(dict(row))


def _program_event(row: asyncpg.Record, created: bool) -> PendingEvent:
    data = ev.ProgramV1.model_validate({k: row[k] for k in ev.ProgramV1.model_fields})
    return PendingEvent(registry.PROGRAM_CREATED if created else registry.PROGRAM_UPDATED, row["code"], data)


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


async def put_fiscal_year(
    uow: UnitOfWork, *, year: int, data: schemas.FiscalYearPut
) -> schemas.FiscalYearRead:
    """Set a year's envelope; it may not drop below what the year's programs already hold."""
    async with uow:
        conn = uow.conn
        await repository.fiscal_year(conn, year, for_update=True)
        programmed, _, _ = await repository.year_sums(conn, year)
        if data.envelope_krw < programmed:
            raise Conflict(
                f"The {year} programs already hold {programmed:,} won; the envelope cannot be {data.envelope_krw:,}.",
                ko=f"{year}년도 사업 예산 합계가 이미 {programmed:,}원이므로 총액을 {data.envelope_krw:,}원으로 정할 수 없습니다.",
            )
        row = await repository.upsert_fiscal_year(conn, year, data.envelope_krw)
        uow.add(PendingEvent(registry.FISCAL_YEAR_SET, str(year), ev.FiscalYearV1(**dict(row))))
        return await _year_read(conn, row)


async def get_fiscal_year(pool: Pool, *, year: int) -> schemas.FiscalYearRead:
    """A year with its programmed, committed and disbursed sums."""
    async with pool.acquire() as conn:
        row = await repository.fiscal_year(conn, year)
        if row is None:
            raise NotFound(
                f"Fiscal year {year} has no envelope yet.", ko=f"{year}년도 총액이 아직 정해지지 않았습니다."
            )
        return await _year_read(conn, row)


# programs


async def create_program(uow: UnitOfWork, *, data: schemas.ProgramCreate) -> schemas.ProgramRead:
    """Add a program; the year's programs must fit its envelope."""
    async with uow:
        conn = uow.conn
        # The year's row lock serializes program budgets against its envelope.
        year = await repository.fiscal_year(conn, data.fiscal_year, for_update=True)
        if year is None:
            raise Invalid.field(
                "fiscal_year",
                f"{data.fiscal_year} has no envelope yet; PUT /v1/fiscal-years first",
                ko=f"{data.fiscal_year}년도 총액이 아직 정해지지 않았습니다. 먼저 PUT /v1/fiscal-years로 정하십시오",
            )
        programmed, _, _ = await repository.year_sums(conn, data.fiscal_year)
        domain.check_fits(
            what=f"The {data.fiscal_year} programs",
            what_ko=f"{data.fiscal_year}년 사업들",
            used=programmed,
            adding=data.budget_krw,
            limit=year["envelope_krw"],
        )
        if not await repository.insert_program(conn, data.model_dump()):
            raise Conflict(
                f"Program {data.code} already exists.", ko=f"사업 {data.code}은(는) 이미 있습니다."
            )
        row = await repository.program(conn, data.code)
        assert row is not None
        uow.add(_program_event(row, created=True))
    return program_read(row)


async def get_program(pool: Pool, *, code: str) -> schemas.ProgramRead:
    """One program; 404 if unknown."""
    async with pool.acquire() as conn:
        row = await repository.program(conn, code)
    if row is None:
        raise NotFound(f"Program {code} does not exist.", ko=f"사업 {code}은(는) 없습니다.")
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


async def put_theme(
    uow: UnitOfWork, *, code: str, theme_code: str, data: schemas.ThemePut
) -> schemas.ProgramRead:
    """Create or replace an alchemist theme of a program, its stages year by year with their projects.

    The theme belongs to the program of its first year; later years' stages name projects of
    alchemist programs of those years.
    """
    async with uow:
        conn = uow.conn
        row = await repository.program(conn, code, for_update=True)
        if row is None:
            raise NotFound(f"Program {code} does not exist.", ko=f"사업 {code}은(는) 없습니다.")
        if row["kind"] != "alchemist":
            raise Conflict(
                f"Program {code} is of kind {row['kind']}; themes belong to alchemist programs.",
                ko=f"사업 {code}의 종류는 {row['kind']}입니다. 테마는 알키미스트(alchemist) 사업에만 있습니다.",
            )
        stages = [
            domain.StageYear(
                stage=s.stage,
                fiscal_year=s.fiscal_year or row["fiscal_year"],
                teams=s.teams,
                project_codes=tuple(s.project_codes),
            )
            for s in data.stages
        ]
        domain.check_theme(stages, first_year=row["fiscal_year"])
        await _check_theme_projects(conn, stages)
        theme = {
            "code": theme_code,
            "title": data.title,
            "stages": [
                {
                    "stage": s.stage,
                    "teams": s.teams,
                    "fiscal_year": s.fiscal_year,
                    "project_codes": list(s.project_codes),
                }
                for s in stages
            ],
        }
        themes = [t for t in row["themes"] if t["code"] != theme_code] + [theme]
        await repository.set_themes(conn, code, sorted(themes, key=lambda t: str(t["code"])))
        row = await repository.program(conn, code)
        assert row is not None
        uow.add(_program_event(row, created=False))
    return program_read(row)


async def _check_theme_projects(conn: Conn, stages: list[domain.StageYear]) -> None:
    """Each project a theme names exists, is of its stage's year, and is an alchemist program's."""
    codes = [c for s in stages for c in s.project_codes]
    if not codes:
        return
    found = {r["code"]: r for r in await repository.projects_by_code(conn, codes)}
    for i, stage in enumerate(stages):
        for code in stage.project_codes:
            at = f"stages[{i}].project_codes"
            project = found.get(code)
            if project is None:
                raise Invalid.field(at, f"project {code} does not exist", ko=f"과제 {code}은(는) 없습니다")
            if project["fiscal_year"] != stage.fiscal_year:
                raise Invalid.field(
                    at,
                    f"project {code} is of fiscal year {project['fiscal_year']}, not {stage.fiscal_year}",
                    ko=f"과제 {code}은(는) {stage.fiscal_year}년도가 아니라 {project['fiscal_year']}년도 과제입니다",
                )
            if project["program_kind"] != "alchemist":
                raise Invalid.field(
                    at,
                    f"project {code} is not in an alchemist program",
                    ko=f"과제 {code}은(는) 알키미스트(alchemist) 사업의 과제가 아닙니다",
                )
