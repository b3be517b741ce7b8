"""How events become the read model: a batch's events applied per entity, in one statement each.

A batch is applied set-based: its events are grouped by the entity they carry, each key keeps
only the newest version the batch holds (applying the older ones first would end in the same
row), and one upsert per entity writes them, each row only above the version stored. The keys
it wrote are appended to the change log (`changes`), in the batch's order, in the same
transaction: a stale or duplicate event changes nothing and appends nothing. Revisions and
payment lines are logged under types the change feed does not list (`revision`,
`disbursement`): what a revision changes arrives as its technologies' events and a payment's
total as its project's, but the log's seq is the response cache's watermark, which must move
past them too. After each batch the projector NOTIFYs the highest seq appended.

One event alone goes the same way (`HANDLERS`): the consumer applies events one by one when a
batch fails, to find and dead-letter the one that cannot be applied.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from gateway import store
from gateway.store.projection import Upsert
from mpe_events import registry
from mpe_kit.consumer import Event, Handler, Position
from mpe_kit.db import Conn

_p = store.projection

UPSERTS: Mapping[str, Upsert] = {
    registry.INDUSTRY_CREATED.type: _p.INDUSTRIES,
    registry.TECHNOLOGY_LISTED.type: _p.TECHNOLOGIES,
    registry.TECHNOLOGY_AMENDED.type: _p.TECHNOLOGIES,
    registry.TECHNOLOGY_RETIRED.type: _p.TECHNOLOGIES,
    registry.REVISION_DRAFTED.type: _p.REVISIONS,
    registry.REVISION_EDITED.type: _p.REVISIONS,
    registry.REVISION_DELETED.type: _p.REVISIONS,
    registry.REVISION_PUBLISHED.type: _p.REVISIONS,
    registry.FIRM_REGISTERED.type: _p.FIRMS,
    registry.FIRM_UPDATED.type: _p.FIRMS,
    registry.FIRM_CONFIRMATION_ADDED.type: _p.FIRMS,
    **{e.type: _p.DESIGNATIONS for e in registry.DESIGNATION_EVENTS.values()},
    registry.FISCAL_YEAR_SET.type: _p.FISCAL_YEARS,
    registry.PROGRAM_CREATED.type: _p.PROGRAMS,
    registry.PROGRAM_UPDATED.type: _p.PROGRAMS,
    registry.PROJECT_DISBURSED.type: _p.PROJECTS,
    registry.DISBURSEMENT_PAID.type: _p.DISBURSEMENTS,
    **{e.type: _p.PROJECTS for e in registry.PROJECT_EVENTS.values()},
}


async def apply_batch(conn: Conn, events: Sequence[Event]) -> None:
    """Apply these (fresh) events: per entity the newest version of each key, then log what changed."""
    newest: dict[Upsert, dict[str, tuple[int, Event]]] = {}
    for n, event in enumerate(events):
        upsert = UPSERTS[event.envelope.type]
        by_key = newest.setdefault(upsert, {})
        key = upsert.key_of(event.data)
        kept = by_key.get(key)
        if kept is None or _version(event) > _version(kept[1]):
            by_key[key] = (n, event)
    logged: list[tuple[int, str, str, int, uuid.UUID]] = []
    for upsert, by_key in newest.items():
        written = await upsert(conn, [e.data for _, e in by_key.values()])
        logged += [
            (n, upsert.entity_type, key, _version(e), e.envelope.id)
            for key, (n, e) in by_key.items()
            if key in written
        ]
    logged.sort(key=lambda row: row[0])
    await store.changes.append_changes(conn, [(t, k, v, i) for _, t, k, v, i in logged])


def _version(event: Event) -> int:
    return int(event.data.version)  # type: ignore[attr-defined]


async def apply_one(conn: Conn, event: Event) -> None:
    """Apply one event: a batch of one."""
    await apply_batch(conn, [event])


HANDLERS: Mapping[str, Handler] = dict.fromkeys(UPSERTS, apply_one)


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
