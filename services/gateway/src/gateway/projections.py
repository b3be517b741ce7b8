"""Event handlers that keep the read model: each applies a version only above the stored one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from mpe_events import budget as bev
from mpe_events import catalog as ev
from mpe_events import firms as fev
from mpe_events import registry
from mpe_kit.consumer import Event, Handler, Position
from mpe_kit.db import Conn


async def project_industry(conn: Conn, event: Event) -> None:
    """Upsert an industry."""
    d = event.data
    assert isinstance(d, ev.IndustryV1)
    await conn.execute(
        "insert into industries (code, name_en, name_ko, version) values ($1, $2, $3, $4)"
        " on conflict (code) do update set name_en = excluded.name_en, name_ko = excluded.name_ko,"
        " version = excluded.version, updated_at = now() where industries.version < excluded.version",
        d.code,
        d.name_en,
        d.name_ko,
        d.version,
    )


async def project_technology(conn: Conn, event: Event) -> None:
    """Upsert a technology."""
    d = event.data
    assert isinstance(d, ev.TechnologyV1)
    await conn.execute(
        "insert into technologies (code, industry_code, kind, name_en, name_ko, description, status,"
        " listed_on, retired_on, version, revision_id)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " on conflict (code) do update set industry_code = excluded.industry_code, kind = excluded.kind,"
        " name_en = excluded.name_en, name_ko = excluded.name_ko, description = excluded.description,"
        " status = excluded.status, listed_on = excluded.listed_on, retired_on = excluded.retired_on,"
        " version = excluded.version, revision_id = excluded.revision_id, updated_at = now()"
        " where technologies.version < excluded.version",
        d.code,
        d.industry_code,
        d.kind,
        d.name_en,
        d.name_ko,
        d.description,
        d.status,
        d.listed_on,
        d.retired_on,
        d.version,
        d.revision_id,
    )


async def project_revision(conn: Conn, event: Event) -> None:
    """Upsert a revision (a deleted draft keeps its row with status deleted)."""
    d = event.data
    assert isinstance(d, ev.RevisionV1)
    await conn.execute(
        "insert into revisions (id, title, decided_on, effective_on, status, published_at, version)"
        " values ($1, $2, $3, $4, $5, $6, $7)"
        " on conflict (id) do update set title = excluded.title, decided_on = excluded.decided_on,"
        " effective_on = excluded.effective_on, status = excluded.status,"
        " published_at = excluded.published_at, version = excluded.version, updated_at = now()"
        " where revisions.version < excluded.version",
        d.id,
        d.title,
        d.decided_on,
        d.effective_on,
        d.status,
        d.published_at,
        d.version,
    )


async def project_firm(conn: Conn, event: Event) -> None:
    """Upsert a firm with its technologies and confirmations."""
    d = event.data
    assert isinstance(d, fev.FirmV1)
    await conn.execute(
        "insert into firms (brn, brn_display, name_en, name_ko, size, size_since, region, mpe_sales_ratio,"
        " technology_codes, confirmations, version)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " on conflict (brn) do update set brn_display = excluded.brn_display, name_en = excluded.name_en,"
        " name_ko = excluded.name_ko, size = excluded.size, size_since = excluded.size_since,"
        " region = excluded.region, mpe_sales_ratio = excluded.mpe_sales_ratio,"
        " technology_codes = excluded.technology_codes, confirmations = excluded.confirmations,"
        " version = excluded.version, updated_at = now()"
        " where firms.version < excluded.version",
        d.brn,
        d.brn_display,
        d.name_en,
        d.name_ko,
        d.size,
        d.size_since,
        d.region,
        d.mpe_sales_ratio,
        d.technology_codes,
        [c.model_dump(mode="json") for c in d.confirmations],
        d.version,
    )


def _ended_on(d: fev.DesignationV1) -> date | None:
    return min((t.effective_on for t in d.history if t.to_status in ("revoked", "expired")), default=None)


async def project_designation(conn: Conn, event: Event) -> None:
    """Upsert a designation with its whole history."""
    d = event.data
    assert isinstance(d, fev.DesignationV1)
    await conn.execute(
        "insert into designations (id, brn, kind, cohort, technology_codes, status, applied_on,"
        " designated_on, valid_until, ended_on, history, version)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        " on conflict (id) do update set brn = excluded.brn, kind = excluded.kind, cohort = excluded.cohort,"
        " technology_codes = excluded.technology_codes, status = excluded.status,"
        " applied_on = excluded.applied_on, designated_on = excluded.designated_on,"
        " valid_until = excluded.valid_until, ended_on = excluded.ended_on, history = excluded.history,"
        " version = excluded.version, updated_at = now()"
        " where designations.version < excluded.version",
        d.id,
        d.brn,
        d.kind,
        d.cohort,
        d.technology_codes,
        d.status,
        d.applied_on,
        d.designated_on,
        d.valid_until,
        _ended_on(d),
        [t.model_dump(mode="json") for t in d.history],
        d.version,
    )


async def project_fiscal_year(conn: Conn, event: Event) -> None:
    """Upsert a fiscal year's envelope."""
    d = event.data
    assert isinstance(d, bev.FiscalYearV1)
    await conn.execute(
        "insert into fiscal_years (year, envelope_krw, version) values ($1, $2, $3)"
        " on conflict (year) do update set envelope_krw = excluded.envelope_krw,"
        " version = excluded.version, updated_at = now() where fiscal_years.version < excluded.version",
        d.year,
        d.envelope_krw,
        d.version,
    )


async def project_program(conn: Conn, event: Event) -> None:
    """Upsert a program with its themes."""
    d = event.data
    assert isinstance(d, bev.ProgramV1)
    await conn.execute(
        "insert into programs (code, fiscal_year, name_en, name_ko, kind, track, budget_krw, themes, version)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " on conflict (code) do update set fiscal_year = excluded.fiscal_year, name_en = excluded.name_en,"
        " name_ko = excluded.name_ko, kind = excluded.kind, track = excluded.track,"
        " budget_krw = excluded.budget_krw, themes = excluded.themes, version = excluded.version,"
        " updated_at = now() where programs.version < excluded.version",
        d.code,
        d.fiscal_year,
        d.name_en,
        d.name_ko,
        d.kind,
        d.track,
        d.budget_krw,
        [t.model_dump(mode="json") for t in d.themes],
        d.version,
    )


async def project_budget_project(conn: Conn, event: Event) -> None:
    """Upsert a project: its state, what it commits and what was paid, as the event carries them."""
    d = event.data
    assert isinstance(d, bev.ProjectV1)
    await conn.execute(
        "insert into projects (code, program_code, fiscal_year, title, kind, continues, technology_codes,"
        " lead_firm_brn, government_krw, private_cash_krw, private_in_kind_krw, start_on, end_on, status,"
        " committed_krw, disbursed_krw, version)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        " on conflict (code) do update set program_code = excluded.program_code,"
        " fiscal_year = excluded.fiscal_year, title = excluded.title, kind = excluded.kind,"
        " continues = excluded.continues, technology_codes = excluded.technology_codes,"
        " lead_firm_brn = excluded.lead_firm_brn, government_krw = excluded.government_krw,"
        " private_cash_krw = excluded.private_cash_krw, private_in_kind_krw = excluded.private_in_kind_krw,"
        " start_on = excluded.start_on, end_on = excluded.end_on, status = excluded.status,"
        " committed_krw = excluded.committed_krw, disbursed_krw = excluded.disbursed_krw,"
        " version = excluded.version, updated_at = now() where projects.version < excluded.version",
        d.code,
        d.program_code,
        d.fiscal_year,
        d.title,
        d.kind,
        d.continues,
        d.technology_codes,
        d.lead_firm_brn,
        d.government_krw,
        d.private_cash_krw,
        d.private_in_kind_krw,
        d.start_on,
        d.end_on,
        d.status,
        d.committed_krw,
        d.disbursed_krw,
        d.version,
    )


HANDLERS: Mapping[str, Handler] = {
    registry.INDUSTRY_CREATED.type: project_industry,
    registry.TECHNOLOGY_LISTED.type: project_technology,
    registry.TECHNOLOGY_AMENDED.type: project_technology,
    registry.TECHNOLOGY_RETIRED.type: project_technology,
    registry.REVISION_DRAFTED.type: project_revision,
    registry.REVISION_EDITED.type: project_revision,
    registry.REVISION_DELETED.type: project_revision,
    registry.REVISION_PUBLISHED.type: project_revision,
    registry.FIRM_REGISTERED.type: project_firm,
    registry.FIRM_UPDATED.type: project_firm,
    registry.FIRM_CONFIRMATION_ADDED.type: project_firm,
    **{e.type: project_designation for e in registry.DESIGNATION_EVENTS.values()},
    registry.FISCAL_YEAR_SET.type: project_fiscal_year,
    registry.PROGRAM_CREATED.type: project_program,
    registry.PROGRAM_UPDATED.type: project_program,
    registry.PROJECT_DISBURSED.type: project_budget_project,
    **{e.type: project_budget_project for e in registry.PROJECT_EVENTS.values()},
}


async def record_positions(conn: Conn, applied: list[Event], positions: list[Position]) -> None:
    """Store how far each partition is projected, in the same commit as the data."""
    latest: dict[tuple[str, int], datetime] = {}
    for e in applied:
        key = (e.topic, e.partition)
        t = e.envelope.time
        if key not in latest or t > latest[key]:
            latest[key] = t
    await conn.executemany(
        "insert into source_positions (topic, partition, next_offset, highwater, last_event_time)"
        " values ($1, $2, $3, $4, $5) on conflict (topic, partition) do update set"
        " next_offset = excluded.next_offset, highwater = excluded.highwater,"
        " last_event_time = coalesce(excluded.last_event_time, source_positions.last_event_time),"
        " applied_at = now()",
        [
            (p.topic, p.partition, p.next_offset, p.highwater, latest.get((p.topic, p.partition)))
            for p in positions
        ],
    )
