"""The verdict: every database compared, every event accounted for, the feed without gaps."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from mpe_devstack.chaos.common import _LOCAL_COLUMNS, COMPARED, REPLICAS, WRITE_SERVICES
from mpe_devstack.chaos.faults import Fault
from mpe_devstack.chaos.stack import Stack
from mpe_devstack.chaos.writes import Write
from mpe_events.topics import TOPICS

# -- the verdict ------------------------------------------------------------------------------


@dataclass
class Verdict:
    """What the checks found; ok when every list is empty."""

    events: int = 0
    # Messages on the topics: more than events means re-sends, which the inboxes absorbed.
    messages: int = 0
    missing_writes: list[str] = field(default_factory=list)
    unsent: list[str] = field(default_factory=list)
    missing_events: list[str] = field(default_factory=list)
    mismatched_rows: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    seq_gaps: list[str] = field(default_factory=list)
    # The gaps with a projector kill or a Postgres restart between their neighbours' commits.
    explained_gaps: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        """Writes, events or rows that did not arrive where they should."""
        return (
            len(self.missing_writes) + len(self.unsent) + len(self.missing_events) + len(self.mismatched_rows)
        )

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing twice, no gap."""
        return not (self.lost or self.duplicates or self.seq_gaps)


_WRITE_CHECKS = {
    ("catalog", "revision"): "select 1 from revisions where id = $1::uuid",
    ("catalog", "publish"): "select 1 from revisions where id = $1::uuid and status = 'published'",
    ("firms", "firm"): "select 1 from firms where brn = $1",
    ("firms", "designation"): "select 1 from designations where id = $1::uuid",
    ("firms", "transition"): "select 1 from designations where id = $1::uuid and status = 'under_review'",
    ("budget", "project"): "select 1 from projects where code = $1",
    # The key is "<code> <status moved to>": each of a project's three moves is checked apart.
    ("budget", "transition"): "select 1 from projects where code = split_part($1, ' ', 1)"
    " and exists (select from jsonb_array_elements(history) s where s->>'to_status' = split_part($1, ' ', 2))",
    # The payment line the key's first answer named, not only the key.
    (
        "budget",
        "payment",
    ): "select 1 from idempotency_keys k join disbursements d on d.id::text = k.response->>'id'"
    " where k.key = $1 and k.state = 'done'",
}
# A project's paid total against its payment lines: a payment applied twice to the total, or a
# line without its total, shows here on either side.
_PAID_TOTALS = (
    "select p.code, p.disbursed_krw, coalesce(sum(d.amount_krw), 0)::bigint as lines from projects p"
    " left join disbursements d on d.project_code = p.code group by p.code, p.disbursed_krw"
    " having p.disbursed_krw <> coalesce(sum(d.amount_krw), 0)"
)

# The budget service's other derived money, recomputed: a project commits its government money
# from selection on, and only what was paid once terminated; a program's committed total (kept by
# a trigger) is its projects' sum. The read model has no program totals, so this is the source's.
_COMMITMENTS = (
    "select 'project ' || code as what, committed_krw as kept, case status when 'proposed' then 0"
    " when 'terminated' then disbursed_krw else government_krw end as recomputed from projects"
    " where committed_krw <> case status when 'proposed' then 0 when 'terminated' then disbursed_krw"
    " else government_krw end"
    " union all"
    " select 'program ' || g.code, g.committed_krw, coalesce(sum(p.committed_krw), 0)::bigint from programs g"
    " left join projects p on p.program_code = g.code group by g.code, g.committed_krw"
    " having g.committed_krw <> coalesce(sum(p.committed_krw), 0)"
)

# The read model's firm columns that have no column of the same name in the source, recomputed:
# the BRN as 123-45-67890, and the confirmations, which it keeps twice (a JSON list on the firm and
# rows of their own) where the firms service keeps rows. Compared as sets: two identical
# confirmations of one firm are one row of the read model.
_BRN_DISPLAYS = (
    "select brn, brn_display from firms"
    " where brn_display <> substr(brn, 1, 3) || '-' || substr(brn, 4, 2) || '-' || substr(brn, 6)"
)
_CONFIRMATION_ROWS = "select distinct brn, technology_code, issued_on, valid_until from confirmations"
_CONFIRMATIONS_ON_FIRMS = (
    "select distinct f.brn, c->>'technology_code' as technology_code, (c->>'issued_on')::date as issued_on,"
    " (c->>'valid_until')::date as valid_until from firms f, jsonb_array_elements(f.confirmations) c"
)


def _norm(value: Any) -> Any:
    """A value in a form both databases agree on when they mean the same thing."""
    # jsonb comes back as text on a plain connection: compare it decoded.
    if isinstance(value, str) and value[:1] in "[{":
        with contextlib.suppress(ValueError):
            return _norm(json.loads(value))
    # A timestamp inside jsonb is text, and each side may spell UTC differently (Z or +00:00).
    if isinstance(value, str) and len(value) >= 20 and value[4:5] == "-" and value[10:11] == "T":
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    return value


async def _rows(
    conn: asyncpg.Connection, table: str, columns: list[str], key: str
) -> dict[str, dict[str, Any]]:
    cols = ", ".join(columns)
    rows = await conn.fetch(f"select {cols} from {table}")
    return {str(r[key]): {c: _norm(r[c]) for c in columns} for r in rows}


async def _columns(conn: asyncpg.Connection, table: str) -> list[str]:
    rows = await conn.fetch(
        "select column_name from information_schema.columns where table_schema = 'public' and table_name = $1",
        table,
    )
    return [r["column_name"] for r in rows]


async def _messages(bootstrap: str) -> int:
    """How many messages the service topics hold, all partitions together."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        described = await admin.describe_topics([t for t in TOPICS if t in existing])
    finally:
        await admin.close()
    partitions = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        return sum(ends[tp] - starts[tp] for tp in partitions)
    finally:
        await consumer.stop()


_ABORTS_A_BATCH = frozenset({"kill-projector", "restart-postgres"})


async def judge(stack: Stack, writes: list[Write], faults: list[Fault]) -> Verdict:
    """Check every promise against the databases, as they are now."""
    messages = await _messages(stack.kafka.bootstrap)
    conns = {svc: await asyncpg.connect(stack.pg.dsn(svc)) for svc in (*WRITE_SERVICES, "gateway")}
    try:
        return await check(conns, writes, faults, messages=messages)
    finally:
        for conn in conns.values():
            await conn.close()


async def _compare(
    v: Verdict,
    label: str,
    mine: asyncpg.Connection,
    table: str,
    theirs: asyncpg.Connection,
    src: str,
    key: str,
) -> None:
    """Every row of `table` against `src`'s by `key`, every column both have (but the local ones)."""
    shared = sorted((set(await _columns(mine, table)) & set(await _columns(theirs, src))) - _LOCAL_COLUMNS)
    if key not in shared:
        v.mismatched_rows.append(f"{label}: no key column {key} on both sides (columns {shared})")
        return
    here, there = await _rows(mine, table, shared, key), await _rows(theirs, src, shared, key)
    for k in sorted(set(here) | set(there)):
        a, b = here.get(k), there.get(k)
        if a is None or b is None:
            where = label if a is None else "source"
            v.mismatched_rows.append(f"{label} {table} {k}: missing from the {where}")
        elif a != b:
            diff = {c: (a[c], b[c]) for c in shared if a[c] != b[c]}
            v.mismatched_rows.append(f"{label} {table} {k}: ({label}, source) {diff}")


async def check(
    conns: dict[str, asyncpg.Connection], writes: list[Write], faults: list[Fault], *, messages: int = 0
) -> Verdict:
    """The verdict on these databases (a connection per write service and the gateway's)."""
    v = Verdict(messages=messages)
    for w in writes:
        if w.status is None or not 200 <= w.status < 300:
            continue
        sql = _WRITE_CHECKS[(w.service, w.what)]
        if await conns[w.service].fetchval(sql, w.key) is None:
            v.missing_writes.append(f"{w.service} {w.what} {w.key}")
    gateway = conns["gateway"]
    inbox = {
        str(r["event_id"])
        for r in await gateway.fetch("select event_id from inbox where consumer = 'gateway-projector'")
    }
    for svc in WRITE_SERVICES:
        for r in await conns[svc].fetch("select id, topic, published_at from outbox"):
            v.events += 1
            if r["published_at"] is None:
                v.unsent.append(f"{svc} outbox {r['id']} ({r['topic']})")
            if r["topic"] not in TOPICS:
                # No consumer reads an unregistered topic: the event reached nobody.
                v.missing_events.append(f"{svc} event {r['id']} on a topic no one reads ({r['topic']!r})")
            elif str(r["id"]) not in inbox:
                v.missing_events.append(f"{svc} event {r['id']} ({r['topic']})")
    for rm_table, svc, src_table, key, _type in COMPARED:
        await _compare(v, "read model", gateway, rm_table, conns[svc], src_table, key)
    for svc, table, src_svc, src_table, key in REPLICAS:
        await _compare(v, f"{svc}'s replica", conns[svc], table, conns[src_svc], src_table, key)
    for side, conn in (("source", conns["budget"]), ("read model", gateway)):
        for r in await conn.fetch(_PAID_TOTALS):
            v.mismatched_rows.append(
                f"project {r['code']} in the {side}: paid {r['disbursed_krw']} against lines of {r['lines']}"
            )
    for r in await gateway.fetch(_BRN_DISPLAYS):
        v.mismatched_rows.append(f"read model firms {r['brn']}: brn_display {r['brn_display']!r}")
    source_confirmations = {tuple(r) for r in await conns["firms"].fetch(_CONFIRMATION_ROWS)}
    for label, sql in (
        ("confirmations", _CONFIRMATION_ROWS),
        ("firms.confirmations", _CONFIRMATIONS_ON_FIRMS),
    ):
        kept = {tuple(r) for r in await gateway.fetch(sql)}
        for side, rows in (
            ("read model", source_confirmations - kept),
            ("source", kept - source_confirmations),
        ):
            v.mismatched_rows += [
                f"read model {label} ({', '.join(map(str, row))}): missing from the {side}"
                for row in sorted(rows)
            ]
    for r in await conns["budget"].fetch(_COMMITMENTS):
        v.mismatched_rows.append(
            f"{r['what']} in the source: committed {r['kept']}, recomputed {r['recomputed']}"
        )
    # Each row's current version has its entry in the feed (a gap between seqs shows below;
    # a change missing at the end of the feed shows only here).
    for rm_table, _svc, _src, key, entity_type in COMPARED:
        unlogged = await gateway.fetch(
            f"select t.{key}::text as key, t.version from {rm_table} t where not exists ("
            " select from changes c where c.entity_type = $1 and c.entity_key = t."
            f"{key}::text and c.version = t.version)",
            entity_type,
        )
        v.mismatched_rows += [f"{entity_type} {r['key']} v{r['version']}: not in the feed" for r in unlogged]
    # The links and sums the read model's triggers keep, against a recomputation from its rows.
    for r in await gateway.fetch("select * from read_model_drift()"):
        v.mismatched_rows.append(f"{r['kept_table']} ({r['found_in']} only) {r['row_value']}")
    twice = await gateway.fetch(
        "select entity_type, entity_key, version, count(*) as n from changes"
        " group by 1, 2, 3 having count(*) > 1"
    )
    v.duplicates += [f"change {r['entity_type']} {r['entity_key']} v{r['version']} x{r['n']}" for r in twice]
    paid_twice = await conns["budget"].fetch(
        "select project_code, paid_on, amount_krw, count(*) as n from disbursements"
        " group by 1, 2, 3 having count(*) > 1"
    )
    v.duplicates += [f"disbursement {r['project_code']} {r['paid_on']} x{r['n']}" for r in paid_twice]
    first = await gateway.fetchval("select min(seq) from changes")
    if first is not None and first != 1:
        v.seq_gaps.append(f"feed starts at seq {first}")
    gaps = await gateway.fetch(
        "select c.seq + 1 as missing, extract(epoch from c.applied_at)::float8 as before,"
        " (select extract(epoch from n.applied_at)::float8 from changes n where n.seq > c.seq"
        "  order by n.seq limit 1) as after"
        " from changes c where c.seq < (select max(seq) from changes)"
        " and not exists (select 1 from changes n where n.seq = c.seq + 1) order by 1"
    )
    for r in gaps:
        gap = f"seq {r['missing']} missing"
        # A batch that dies before its commit has drawn seq values from the identity, which a
        # rollback does not return: such a gap hides no change, but breaks the promise.
        cause = [
            f
            for f in faults
            if f.kind in _ABORTS_A_BATCH and r["before"] <= f.wall_recovered and f.wall_at <= r["after"]
        ]
        if cause:
            gap += f" (a batch rolled back by {cause[0].kind} at {time.strftime('%H:%M:%S', time.gmtime(cause[0].wall_at))} UTC)"
            v.explained_gaps.append(gap)
        v.seq_gaps.append(gap)
    return v


async def _outbox_ids(stack: Stack) -> set[str]:
    ids: set[str] = set()
    for svc in WRITE_SERVICES:
        conn = await asyncpg.connect(stack.pg.dsn(svc))
        try:
            ids |= {str(r["id"]) for r in await conn.fetch("select id from outbox")}
        finally:
            await conn.close()
    return ids


async def _caught_up(stack: Stack, ids: set[str] | None) -> bool:
    """Whether the gateway's inbox holds these event ids (None: every outbox event, all sent)."""
    if ids is None:
        for svc in WRITE_SERVICES:
            conn = await asyncpg.connect(stack.pg.dsn(svc))
            try:
                if await conn.fetchval("select count(*) from outbox where published_at is null"):
                    return False
            finally:
                await conn.close()
        ids = await _outbox_ids(stack)
    conn = await asyncpg.connect(stack.pg.dsn("gateway"))
    try:
        inbox = {str(r["event_id"]) for r in await conn.fetch("select event_id from inbox")}
    finally:
        await conn.close()
    return ids <= inbox


def wait_caught_up(stack: Stack, timeout: float, ids: set[str] | None = None) -> float | None:
    """Seconds until the gateway's inbox holds ids (default: every outbox event, all sent); None on timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        stack.supervise()
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            if asyncio.run(_caught_up(stack, ids)):
                return time.monotonic() - t0
        time.sleep(0.5)
    return None
