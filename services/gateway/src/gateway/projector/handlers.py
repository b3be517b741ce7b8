"""Event handlers that keep the read model: each applies a version only above the stored one.

A handler that changed the read model appends the entity to the change log (`changes`) in the
same transaction; a stale or duplicate event changes nothing and appends nothing. Revisions and
payment lines are logged under types the change feed does not list (`revision`,
`disbursement`): what a revision changes arrives as its technologies' events and a payment's
total as its project's, but the log's seq is the response cache's watermark, which must move
past them too. After each batch the projector NOTIFYs the highest seq appended.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Protocol, TypeVar

from gateway import store
from mpe_events import budget as bev
from mpe_events import catalog as ev
from mpe_events import firms as fev
from mpe_events import registry
from mpe_kit.consumer import Event, Handler, Position
from mpe_kit.db import Conn

M = TypeVar("M", bound="_Versioned")


class _Versioned(Protocol):
    @property
    def version(self) -> int: ...


def _projects(
    model: type[M],
    upsert: Callable[[Conn, M], Awaitable[bool]],
    entity_type: str,
    key: Callable[[M], object],
) -> Handler:
    """A handler that upserts the event's entity and, if that changed the read model, logs it."""

    async def handle(conn: Conn, event: Event) -> None:
        d = event.data
        assert isinstance(d, model)
        if await upsert(conn, d):
            await store.changes.append_change(
                conn, entity_type=entity_type, key=str(key(d)), version=d.version, event_id=event.envelope.id
            )

    handle.__doc__ = upsert.__doc__
    return handle


_p = store.projection
project_industry = _projects(ev.IndustryV1, _p.upsert_industry, "industry", lambda d: d.code)
project_technology = _projects(ev.TechnologyV1, _p.upsert_technology, "technology", lambda d: d.code)
project_revision = _projects(ev.RevisionV1, _p.upsert_revision, "revision", lambda d: d.id)
project_firm = _projects(fev.FirmV1, _p.upsert_firm, "firm", lambda d: d.brn)
project_designation = _projects(fev.DesignationV1, _p.upsert_designation, "designation", lambda d: d.id)
project_fiscal_year = _projects(bev.FiscalYearV1, _p.upsert_fiscal_year, "fiscal_year", lambda d: d.year)
project_program = _projects(bev.ProgramV1, _p.upsert_program, "program", lambda d: d.code)
project_budget_project = _projects(bev.ProjectV1, _p.upsert_budget_project, "project", lambda d: d.code)
project_disbursement = _projects(bev.DisbursementV1, _p.upsert_disbursement, "disbursement", lambda d: d.id)


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
