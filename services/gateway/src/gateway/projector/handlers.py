"""Event handlers that keep the read model: each applies a version only above the stored one.

A handler that changed the read model appends the entity to the change log (`changes`) in the
same transaction; a stale or duplicate event changes nothing and appends nothing. Revisions and
payment lines are logged under types the change feed does not list (`revision`,
`disbursement`): what a revision changes arrives as its technologies' events and a payment's
total as its project's, but the log's seq is the response cache's watermark, which must move
past them too. After each batch the projector NOTIFYs the highest seq appended.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from gateway import store
from mpe_events import budget as bev
from mpe_events import catalog as ev
from mpe_events import firms as fev
from mpe_events import registry
from mpe_kit.consumer import Event, Handler, Position
from mpe_kit.db import Conn


async def _logged(conn: Conn, event: Event, entity_type: str, key: str, version: int) -> None:
    await store.changes.append_change(
        conn, entity_type=entity_type, key=key, version=version, event_id=event.envelope.id
    )


async def project_industry(conn: Conn, event: Event) -> None:
    """Upsert an industry."""
    d = event.data
    assert isinstance(d, ev.IndustryV1)
    if await store.projection.upsert_industry(conn, d):
        await _logged(conn, event, "industry", d.code, d.version)


async def project_technology(conn: Conn, event: Event) -> None:
    """Upsert a technology."""
    d = event.data
    assert isinstance(d, ev.TechnologyV1)
    if await store.projection.upsert_technology(conn, d):
        await _logged(conn, event, "technology", d.code, d.version)


async def project_revision(conn: Conn, event: Event) -> None:
    """Upsert a revision (a deleted draft keeps its row with status deleted)."""
    d = event.data
    assert isinstance(d, ev.RevisionV1)
    if await store.projection.upsert_revision(conn, d):
        await _logged(conn, event, "revision", str(d.id), d.version)


async def project_firm(conn: Conn, event: Event) -> None:
    """Upsert a firm with its technologies and confirmations."""
    d = event.data
    assert isinstance(d, fev.FirmV1)
    if await store.projection.upsert_firm(conn, d):
        await _logged(conn, event, "firm", d.brn, d.version)


async def project_designation(conn: Conn, event: Event) -> None:
    """Upsert a designation with its whole history."""
    d = event.data
    assert isinstance(d, fev.DesignationV1)
    if await store.projection.upsert_designation(conn, d):
        await _logged(conn, event, "designation", str(d.id), d.version)


async def project_fiscal_year(conn: Conn, event: Event) -> None:
    """Upsert a fiscal year's envelope."""
    d = event.data
    assert isinstance(d, bev.FiscalYearV1)
    if await store.projection.upsert_fiscal_year(conn, d):
        await _logged(conn, event, "fiscal_year", str(d.year), d.version)


async def project_program(conn: Conn, event: Event) -> None:
    """Upsert a program with its themes."""
    d = event.data
    assert isinstance(d, bev.ProgramV1)
    if await store.projection.upsert_program(conn, d):
        await _logged(conn, event, "program", d.code, d.version)


async def project_budget_project(conn: Conn, event: Event) -> None:
    """Upsert a project: its state, what it commits and what was paid, as the event carries them."""
    d = event.data
    assert isinstance(d, bev.ProjectV1)
    if await store.projection.upsert_budget_project(conn, d):
        await _logged(conn, event, "project", d.code, d.version)


async def project_disbursement(conn: Conn, event: Event) -> None:
    """Add a payment line."""
    d = event.data
    assert isinstance(d, bev.DisbursementV1)
    if await store.projection.upsert_disbursement(conn, d):
        await _logged(conn, event, "disbursement", str(d.id), d.version)


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
    registry.DISBURSEMENT_PAID.type: project_disbursement,
    **{e.type: project_budget_project for e in registry.PROJECT_EVENTS.values()},
}


async def record_positions(conn: Conn, applied: list[Event], positions: list[Position]) -> None:
    """Store how far each partition is projected, and notify the change log's news, in the same commit."""
    latest: dict[tuple[str, int], datetime] = {}
    for e in applied:
        key = (e.topic, e.partition)
        t = e.envelope.time
        if key not in latest or t > latest[key]:
            latest[key] = t
    await store.changes.record_positions(
        conn,
        [
            (p.topic, p.partition, p.next_offset, p.highwater, latest.get((p.topic, p.partition)))
            for p in positions
        ],
    )
    await store.changes.notify_changes(conn)
