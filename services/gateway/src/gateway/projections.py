"""Event handlers that keep the read model: each applies a version only above the stored one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from mpe_events import catalog as ev
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


HANDLERS: Mapping[str, Handler] = {
    registry.INDUSTRY_CREATED.type: project_industry,
    registry.TECHNOLOGY_LISTED.type: project_technology,
    registry.TECHNOLOGY_AMENDED.type: project_technology,
    registry.TECHNOLOGY_RETIRED.type: project_technology,
    registry.REVISION_DRAFTED.type: project_revision,
    registry.REVISION_EDITED.type: project_revision,
    registry.REVISION_DELETED.type: project_revision,
    registry.REVISION_PUBLISHED.type: project_revision,
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
