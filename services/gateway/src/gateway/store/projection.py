"""Projection upserts: every upsert applies only a version above the stored one, and says whether it did."""

from __future__ import annotations

from datetime import date

from mpe_events import budget as bev
from mpe_events import catalog as ev
from mpe_events import firms as fev
from mpe_kit.db import Conn

# projections: every upsert applies only a version above the stored one, and says whether it did


def _changed(status: str) -> bool:
    """Whether an upsert's command status ("INSERT 0 1" or "INSERT 0 0") says it wrote a row."""
    return status.rsplit(" ", 1)[-1] != "0"


def ended_on(d: fev.DesignationV1) -> date | None:
    return min((t.effective_on for t in d.history if t.to_status in ("revoked", "expired")), default=None)


async def upsert_industry(conn: Conn, d: ev.IndustryV1) -> bool:
    """Upsert an industry."""
    status = await conn.execute(
        "insert into industries (code, name_en, name_ko, version) values ($1, $2, $3, $4)"
        " on conflict (code) do update set name_en = excluded.name_en, name_ko = excluded.name_ko,"
        " version = excluded.version, updated_at = now() where industries.version < excluded.version",
        d.code,
        d.name_en,
        d.name_ko,
        d.version,
    )
    return _changed(status)


async def upsert_technology(conn: Conn, d: ev.TechnologyV1) -> bool:
    """Upsert a technology."""
    status = await conn.execute(
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
    return _changed(status)


async def upsert_revision(conn: Conn, d: ev.RevisionV1) -> bool:
    """Upsert a revision (a deleted draft keeps its row with status deleted)."""
    status = await conn.execute(
        "insert into revisions (id, title, decided_on, effective_on, status, published_at, version, changes)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8)"
        " on conflict (id) do update set title = excluded.title, decided_on = excluded.decided_on,"
        " effective_on = excluded.effective_on, status = excluded.status,"
        " published_at = excluded.published_at, version = excluded.version, changes = excluded.changes,"
        " updated_at = now() where revisions.version < excluded.version",
        d.id,
        d.title,
        d.decided_on,
        d.effective_on,
        d.status,
        d.published_at,
        d.version,
        [c.model_dump(mode="json") for c in d.changes],
    )
    return _changed(status)


async def upsert_firm(conn: Conn, d: fev.FirmV1) -> bool:
    """Upsert a firm with its technologies and confirmations."""
    status = await conn.execute(
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
    changed = _changed(status)
    if changed:
        await _replace_confirmations(conn, d)
    return changed


async def _replace_confirmations(conn: Conn, d: fev.FirmV1) -> None:
    # The firm's event carries all its confirmations: its rows are replaced, under the firm's version.
    await conn.execute("delete from confirmations where brn = $1", d.brn)
    await conn.executemany(
        "insert into confirmations (brn, technology_code, issued_on, valid_until) values ($1, $2, $3, $4)"
        " on conflict do nothing",
        [(d.brn, c.technology_code, c.issued_on, c.valid_until) for c in d.confirmations],
    )


async def upsert_designation(conn: Conn, d: fev.DesignationV1) -> bool:
    """Upsert a designation with its whole history."""
    status = await conn.execute(
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
        ended_on(d),
        [t.model_dump(mode="json") for t in d.history],
        d.version,
    )
    return _changed(status)


async def upsert_fiscal_year(conn: Conn, d: bev.FiscalYearV1) -> bool:
    """Upsert a fiscal year's envelope."""
    status = await conn.execute(
        "insert into fiscal_years (year, envelope_krw, version) values ($1, $2, $3)"
        " on conflict (year) do update set envelope_krw = excluded.envelope_krw,"
        " version = excluded.version, updated_at = now() where fiscal_years.version < excluded.version",
        d.year,
        d.envelope_krw,
        d.version,
    )
    return _changed(status)


async def upsert_program(conn: Conn, d: bev.ProgramV1) -> bool:
    """Upsert a program with its themes."""
    status = await conn.execute(
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
    return _changed(status)


async def upsert_budget_project(conn: Conn, d: bev.ProjectV1) -> bool:
    """Upsert a project: its state, what it commits and what was paid, as the event carries them."""
    status = await conn.execute(
        "insert into projects (code, program_code, fiscal_year, title, kind, continues, technology_codes,"
        " lead_firm_brn, government_krw, private_cash_krw, private_in_kind_krw, start_on, end_on, status,"
        " committed_krw, disbursed_krw, version, history, lead_firm_size, lead_firm_region)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
        " on conflict (code) do update set program_code = excluded.program_code,"
        " fiscal_year = excluded.fiscal_year, title = excluded.title, kind = excluded.kind,"
        " continues = excluded.continues, technology_codes = excluded.technology_codes,"
        " lead_firm_brn = excluded.lead_firm_brn, government_krw = excluded.government_krw,"
        " private_cash_krw = excluded.private_cash_krw, private_in_kind_krw = excluded.private_in_kind_krw,"
        " start_on = excluded.start_on, end_on = excluded.end_on, status = excluded.status,"
        " committed_krw = excluded.committed_krw, disbursed_krw = excluded.disbursed_krw,"
        " version = excluded.version, history = excluded.history,"
        " lead_firm_size = excluded.lead_firm_size, lead_firm_region = excluded.lead_firm_region,"
        " updated_at = now() where projects.version < excluded.version",
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
        [s.model_dump(mode="json") for s in d.history],
        d.lead_firm_size,
        d.lead_firm_region,
    )
    changed = _changed(status)
    if changed:
        await _replace_participants(conn, d)
    return changed


def participants_of(d: bev.ProjectV1) -> list[bev.ParticipantV1]:
    """The consortium; an event from before consortia names none: its lead firm alone, with all of the money."""
    if d.participants or d.lead_firm_brn is None:
        return list(d.participants)
    return [
        bev.ParticipantV1(
            role="lead",
            kind="firm",
            name=None,
            brn=d.lead_firm_brn,
            country="KR",
            government_krw=d.government_krw,
            private_cash_krw=d.private_cash_krw,
            private_in_kind_krw=d.private_in_kind_krw,
        )
    ]


async def _replace_participants(conn: Conn, d: bev.ProjectV1) -> None:
    # The project's event carries its whole consortium: its rows are replaced, under the project's version.
    await conn.execute("delete from project_participants where project_code = $1", d.code)
    await conn.executemany(
        "insert into project_participants (project_code, position, role, kind, brn, name, country,"
        " government_krw, private_cash_krw, private_in_kind_krw)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        [
            (
                d.code,
                n,
                p.role,
                p.kind,
                p.brn,
                p.name,
                p.country,
                p.government_krw,
                p.private_cash_krw,
                p.private_in_kind_krw,
            )
            for n, p in enumerate(participants_of(d), start=1)
        ],
    )


async def upsert_disbursement(conn: Conn, d: bev.DisbursementV1) -> bool:
    """Upsert a payment line (a payment never changes: a replay writes nothing)."""
    status = await conn.execute(
        "insert into disbursements (id, project_code, paid_on, amount_krw, recorded_at, version)"
        " values ($1, $2, $3, $4, $5, $6)"
        " on conflict (id) do update set project_code = excluded.project_code, paid_on = excluded.paid_on,"
        " amount_krw = excluded.amount_krw, recorded_at = excluded.recorded_at, version = excluded.version,"
        " updated_at = now() where disbursements.version < excluded.version",
        d.id,
        d.project_code,
        d.paid_on,
        d.amount_krw,
        d.recorded_at,
        d.version,
    )
    return _changed(status)
