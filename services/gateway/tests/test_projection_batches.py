"""A batch applied set-based leaves the read model as its events applied one by one would."""

from __future__ import annotations

import random
import uuid
from datetime import date
from typing import Any

import pytest

from gateway.projector.handlers import apply_batch
from mpe_events.registry import FIRM_UPDATED, TECHNOLOGY_AMENDED
from mpe_kit import db
from mpe_kit.consumer import Event

from .conftest import (
    apply,
    brn,
    designation,
    designation_event,
    event,
    firm,
    firm_event,
    project,
    project_event,
    technology,
)

# Every table the projector writes, each with the columns that identify a row (the key's order).
TABLES = {
    "industries": "code",
    "technologies": "code",
    "firms": "brn",
    "confirmations": "brn, technology_code, issued_on",
    "designations": "id",
    "projects": "code",
    "project_participants": "project_code, position",
    # Kept by the projects' and designations' triggers (migration 0011).
    "project_technologies": "technology_code, fiscal_year, project_code",
    "designation_technologies": "technology_code, applied_on, designation_id",
    "technology_year_funding": "technology_code, fiscal_year",
}
CODES = ("SEMI-001", "SEMI-002", "SEMI-003")


def _versions(rng: random.Random) -> list[Event]:
    """Several versions of a few technologies, firms, projects and designations, with random content."""
    events: list[Event] = []
    for code in CODES[:2]:
        for v in rng.sample(range(1, 6), 3):
            data = technology(code, v, name_en=f"{code} v{v} {rng.random():.3f}")
            events.append(event(TECHNOLOGY_AMENDED.type, data, code))
    for n in (11, 12):
        number = brn(n)
        for v in rng.sample(range(1, 6), 3):
            confirmations = [
                {"technology_code": c, "issued_on": date(2020, 1 + i, 1), "valid_until": date(2024, 1, 1)}
                for i, c in enumerate(rng.sample(CODES, rng.randint(0, 3)))
            ]
            data = firm(number, v, name_en=f"Firm {n} v{v}", confirmations=confirmations)
            events.append(firm_event(data, FIRM_UPDATED.type))
    for code in ("P-1", "P-2"):
        for v in rng.sample(range(1, 6), 3):
            data = project(
                code,
                v,
                technology_codes=rng.sample(CODES, rng.randint(1, 3)),
                lead_firm_brn=rng.choice([None, brn(11)]),
                government_krw=rng.randrange(1, 10) * 100_000_000,
            )
            events.append(project_event(data))
    moves: list[tuple[str, date]] = [("under_review", date(2021, 1, 1)), ("designated", date(2021, 3, 1))]
    d_id = uuid.uuid4()
    for k in rng.sample(range(len(moves) + 1), 2):
        events.append(designation_event(designation(d_id, brn(11), *moves[:k])))
    # A re-delivered copy of some versions: the same content under another event id.
    events += [event(e.envelope.type, e.data, e.envelope.subject) for e in rng.sample(events, 4)]
    rng.shuffle(events)
    return events


async def _tables(conn: db.Conn) -> dict[str, list[dict[str, Any]]]:
    found = {}
    for table, order in TABLES.items():
        rows = await conn.fetch(f"select * from {table} order by {order}")
        found[table] = [{k: v for k, v in dict(r).items() if k != "updated_at"} for r in rows]
    return found


async def _logged(conn: db.Conn) -> list[tuple[str, str, int]]:
    rows = await conn.fetch("select entity_type, entity_key, version from changes order by seq")
    return [(r["entity_type"], r["entity_key"], r["version"]) for r in rows]


async def _run_and_undo(conn: db.Conn, how: str, events: list[Event], rng: random.Random) -> tuple[Any, Any]:
    tx = conn.transaction()
    await tx.start()
    try:
        if how == "one by one":
            await apply(conn, *events)
        else:
            i = 0
            while i < len(events):  # batches of random sizes, the last one whole
                size = rng.randint(1, len(events))
                await apply_batch(conn, events[i : i + size])
                i += size
        return await _tables(conn), await _logged(conn)
    finally:
        await tx.rollback()


@pytest.mark.parametrize("seed", range(12))
async def test_batches_leave_what_one_by_one_leaves(conn: db.Conn, seed: int) -> None:
    rng = random.Random(seed)
    events = _versions(rng)
    one_tables, one_log = await _run_and_undo(conn, "one by one", events, rng)
    batch_tables, batch_log = await _run_and_undo(conn, "batches", events, rng)

    assert batch_tables == one_tables
    assert len(one_tables["firms"]) == 2
    assert len(one_tables["projects"]) == 2
    assert one_tables["technology_year_funding"]
    # A batch logs each key's newest version it wrote, not the ones it skipped over: a subset of
    # the one-by-one log, in the same order, ending on the same version of every entity.
    assert set(batch_log) <= set(one_log)
    assert [c for c in one_log if c in set(batch_log)] == batch_log

    def last(log: list[tuple[str, str, int]]) -> dict[tuple[str, str], int]:
        return {(t, k): v for t, k, v in log}

    assert last(batch_log) == last(one_log)


async def test_a_batch_logs_the_newest_version_once_and_nothing_for_a_stale_one(conn: db.Conn) -> None:
    await apply(conn, event(TECHNOLOGY_AMENDED.type, technology("SEMI-009", 5), "SEMI-009"))
    v2 = event(TECHNOLOGY_AMENDED.type, technology("SEMI-001", 2, name_en="second"), "SEMI-001")
    v1 = event(TECHNOLOGY_AMENDED.type, technology("SEMI-001", 1, name_en="first"), "SEMI-001")
    stale = event(TECHNOLOGY_AMENDED.type, technology("SEMI-009", 4), "SEMI-009")
    async with conn.transaction():
        await apply_batch(conn, [v2, stale, v1])
    rows = await conn.fetch("select seq, entity_key, version, event_id from changes order by seq")
    assert [(r["seq"], r["entity_key"], r["version"]) for r in rows] == [
        (1, "SEMI-009", 5),
        (2, "SEMI-001", 2),
    ]
    assert rows[1]["event_id"] == v2.envelope.id
    assert await conn.fetchval("select name_en from technologies where code = 'SEMI-001'") == "second"
    assert await conn.fetchval("select current_setting('gateway.changes_last_seq', true)") in ("", None)
