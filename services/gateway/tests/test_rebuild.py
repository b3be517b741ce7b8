"""`gateway rebuild` against the real Postgres and Kafka: the demo-scale data at 1×, a fraction of it."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from typer.testing import CliRunner

from gateway.cli import build
from gateway.projector import rebuild as rb
from gateway.projector.parts import projector_parts
from gateway.projector.rebuild import Progress, RebuildError, _Replayer, rebuild
from mpe_devstack.kafka import KafkaCluster
from mpe_devstack.scale_data import generate
from mpe_events.catalog import IndustryV1
from mpe_events.envelope import Envelope
from mpe_events.registry import INDUSTRY_CREATED, source
from mpe_events.topics import TOPICS
from mpe_kit import db
from mpe_kit.consumer import ConsumerRunner, Event
from mpe_kit.kafka import ensure_topics, idempotent_producer
from mpe_kit.status import RuntimeStatus

from .conftest import batch, event

GROUP = "gateway-projector"
# The read model proper: what the events decide. Positions, inbox and change log are bookkeeping.
MODEL = (
    "firms",
    "confirmations",
    "designations",
    "fiscal_years",
    "programs",
    "projects",
    "disbursements",
    # Kept by statement triggers (migration 0011): the rebuild's schema has them too.
    "project_technologies",
    "designation_technologies",
    "technology_year_funding",
)


def _events(limit: int) -> list[Event]:
    """The first events of every kind of the 1× scale data, as consumed events."""
    data = generate(1)
    out = []
    for service, part in (("firms", data.firms), ("budget", data.budget)):
        for n, e in enumerate(part.outbox):
            if service == "firms" and n >= limit // 2:
                break
            env = Envelope(
                id=uuid.uuid4(),
                source=source(service),
                type=e.event_type.type,
                subject=e.subject,
                time=e.at,
                data=e.data.model_dump(mode="json"),
            )
            out.append(Event(env, e.data, e.event_type.topic.name, 0, 0))
    return out[:limit]


async def _publish(bootstrap: str, prefix: str, events: list[Event]) -> None:
    """Send the events to their topics as the relays would."""
    await ensure_topics(
        bootstrap, [TOPICS[t] for t in {e.topic for e in events}], prefix=prefix, replication=1
    )
    producer = idempotent_producer(bootstrap, client_id="test-rebuild")
    await producer.start()
    try:
        for e in events:
            env = e.envelope
            await producer.send(f"{prefix}{e.topic}", value=env.value(), key=env.key, headers=env.headers())
        await producer.flush()
    finally:
        await producer.stop()


async def _rows(conn: db.Conn, schema: str, table: str) -> list[Any]:
    """A table's rows as JSON, without the columns stamped with the clock (`default now()`)."""
    stamped = await conn.fetchval(
        "select coalesce(array_agg(column_name::text), '{}') from information_schema.columns"
        " where table_schema = $1 and table_name = $2 and column_default like 'now()%'",
        schema,
        table,
    )
    return list(
        await conn.fetchval(
            f"select coalesce(jsonb_agg(to_jsonb(t) - $1::text[] order by to_jsonb(t)::text), '[]')"
            f" from {schema}.{table} t",
            stamped,
        )
    )


@pytest.mark.timeout(180)
async def test_rebuild_matches_the_projected_model_and_switches_readers_at_once(
    gateway_db: str, kafka: KafkaCluster, topic_prefix: str
) -> None:
    events = _events(1500)
    # The old model, as the live projector built it from the same events.
    conn = await db.connect(gateway_db)
    for start in range(0, len(events), 200):
        await batch(conn, *events[start : start + 200])
    # A row no event made: whoever reads it reads the old model.
    await conn.execute("insert into fiscal_years (year, envelope_krw, version) values (2099, 1, 1)")
    # The relays deliver at least once: ten events come twice.
    await _publish(kafka.bootstrap, topic_prefix, events + events[:10])

    pool = await db.create_pool(gateway_db, min_size=1, max_size=1)
    answers: list[int] = []
    switched_at: list[int] = []
    stop = asyncio.Event()

    async def reader() -> None:
        # One pooled connection and one prepared statement, as the gateway's readers hold them.
        while not stop.is_set():
            async with pool.acquire() as c:
                answers.append(await c.fetchval("select count(*) from fiscal_years where year = 2099"))
            await asyncio.sleep(0.01)

    task = asyncio.create_task(reader())
    try:
        result = await rebuild(
            dsn=gateway_db,
            bootstrap=kafka.bootstrap,
            prefix=topic_prefix,
            consumer_name=GROUP,
            before_switch=lambda: switched_at.append(len(answers)),
        )
        await asyncio.sleep(0.2)
    finally:
        stop.set()
        await task
    assert result.replaced is not None
    assert result.progress.read == len(events) + 10
    assert result.progress.applied == len(events)
    assert result.progress.skipped == 10
    # While the new model was built, readers got answers, all from the old model; then the new one.
    (before,) = switched_at
    assert before > 0
    assert set(answers[:before]) == {1}
    assert answers[-1] == 0
    async with pool.acquire() as c:
        assert await c.fetchval("select count(*) from fiscal_years where year = 2099") == 0
    await pool.close()

    await conn.execute(f"delete from {result.replaced}.fiscal_years where year = 2099")
    for table in MODEL:
        old, new = await _rows(conn, result.replaced, table), await _rows(conn, "public", table)
        assert new == old, table
        assert new, table
    # The change log continues where it was (partners' cursors hold), one row past it.
    old_seq = await conn.fetchval(f"select max(seq) from {result.replaced}.changes")
    assert await conn.fetchval("select max(seq) from public.changes") == old_seq + 1
    assert await conn.fetchval("select entity_type from changes order by seq desc limit 1") == "read_model"
    # The live projector's inbox knows every event, so it applies none of them twice.
    assert await conn.fetchval("select count(*) from inbox where consumer = $1", GROUP) == len(events)
    # The triggers of the switched schema act on it: a project's links and sums follow its event.
    moved = next(e for e in reversed(events) if e.topic == "mpe.budget.project")
    data = moved.data.model_copy(update={"version": moved.data.version + 1, "technology_codes": ["MOVED-1"]})
    await batch(conn, event(moved.envelope.type, data, moved.envelope.subject))
    linked = "select array_agg(project_code) from project_technologies where technology_code = 'MOVED-1'"
    assert await conn.fetchval(linked) == [data.code]
    assert (
        await conn.fetchval("select count(*) from technology_year_funding where technology_code = 'MOVED-1'")
        == 1
    )
    await conn.close()


def test_the_command_without_switch_builds_beside_and_leaves_readers_on_the_old_model(
    gateway_db: str, kafka: KafkaCluster, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = _events(40)
    asyncio.run(_publish(kafka.bootstrap, topic_prefix, events))
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gateway_db)
    monkeypatch.setenv("GATEWAY_KAFKA_BOOTSTRAP", kafka.bootstrap)
    monkeypatch.setenv("GATEWAY_TOPIC_PREFIX", topic_prefix)
    r = CliRunner().invoke(build(), ["rebuild", "--no-switch"])
    assert r.exit_code == 0, r.output
    assert "40 events read" in r.output
    assert "readers were not switched" in r.output
    built = r.output.split("built in schema ")[1].split(";")[0]

    async def check() -> None:
        conn: asyncpg.Connection = await db.connect(gateway_db)
        try:
            assert await conn.fetchval("select count(*) from firms") == 0
            registered = {
                e.envelope.subject for e in events if e.envelope.type.endswith("firm.registered.v1")
            }
            assert registered
            assert await conn.fetchval(f"select count(*) from {built}.firms") == len(registered)
        finally:
            await conn.close()

    asyncio.run(check())


def test_the_command_fails_clearly_when_no_topic_exists(
    gateway_db: str, kafka: KafkaCluster, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gateway_db)
    monkeypatch.setenv("GATEWAY_KAFKA_BOOTSTRAP", kafka.bootstrap)
    monkeypatch.setenv("GATEWAY_TOPIC_PREFIX", topic_prefix)
    r = CliRunner().invoke(build(), ["rebuild"])
    assert r.exit_code == 1
    assert "none of the projector's topics exists" in r.output
    assert "readers still use the old read model" in r.output


def test_the_command_fails_clearly_when_kafka_is_unreachable(
    gateway_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by a review: a 102-line traceback, where operations.md promises a message.
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gateway_db)
    monkeypatch.setenv("GATEWAY_KAFKA_BOOTSTRAP", "127.0.0.1:2")
    r = CliRunner().invoke(build(), ["rebuild"])
    assert r.exit_code == 1, r.output
    assert "cannot rebuild" in r.output
    assert "readers still use the old read model" in r.output
    assert "Traceback" not in r.output


class _Failing:
    """A batch apply that records what it applied and fails on `bad`, or on any batch of more than one."""

    def __init__(self, *, bad: uuid.UUID | None = None, only_together: bool = False) -> None:
        self.bad, self.only_together = bad, only_together
        self.applied: list[uuid.UUID] = []

    async def __call__(self, conn: db.Conn, events: list[Event]) -> None:
        await conn.execute("select 1")
        if (self.only_together and len(events) > 1) or any(e.envelope.id == self.bad for e in events):
            raise asyncpg.exceptions.DeadlockDetectedError("deadlock detected")
        self.applied += [e.envelope.id for e in events]


def _replayer(apply: _Failing) -> _Replayer:
    return _Replayer(
        bootstrap="127.0.0.1:1",
        prefix="",
        consumer_name="gateway-projector",
        handlers={},
        apply=apply,
        progress=Progress(),
        on_progress=lambda _p: None,
    )


def _industries(n: int) -> list[Event]:
    return [
        event(INDUSTRY_CREATED.type, IndustryV1(code=f"I{i}", name_en="x", name_ko="x", version=1), f"I{i}")
        for i in range(n)
    ]


async def test_a_batch_that_fails_whole_but_applies_one_by_one_goes_on(conn: db.Conn) -> None:
    # Say a deadlock with the live projector in the last pass: the rebuild retries one by one.
    apply = _Failing(only_together=True)
    events = _industries(3)
    async with conn.transaction():
        await _replayer(apply)._apply_all(conn, events)
    assert apply.applied == [e.envelope.id for e in events]


async def test_an_event_that_fails_alone_stops_the_rebuild_naming_it(conn: db.Conn) -> None:
    events = _industries(3)
    apply = _Failing(bad=events[1].envelope.id)
    with pytest.raises(RebuildError, match=f"event {events[1].envelope.id} .*failed: deadlock detected"):
        async with conn.transaction():
            await _replayer(apply)._apply_all(conn, events)
    assert apply.applied == [events[0].envelope.id]


# Against a live projector (found by a review): the switch against the projector's positions.


def _industry(code: str, version: int) -> Event:
    data = IndustryV1(code=code, name_en=f"{code} v{version}", name_ko=code, version=version)
    return event(INDUSTRY_CREATED.type, data, code)


def _projector(pool: db.Pool, bootstrap: str, prefix: str) -> ConsumerRunner:
    """The gateway's projector, of the parts app.py builds it of."""
    return ConsumerRunner(
        name=GROUP,
        pool=pool,
        bootstrap=bootstrap,
        status=RuntimeStatus(),
        topic_prefix=prefix,
        **projector_parts(),
    )


async def _until(pool: db.Pool, sql: str, timeout_s: float = 30) -> None:
    async with asyncio.timeout(timeout_s):
        while True:
            async with pool.acquire() as c:
                if await c.fetchval(sql):
                    return
            await asyncio.sleep(0.05)


@pytest.mark.timeout(120)
async def test_a_rebuild_that_dies_right_after_the_switch_leaves_no_event_behind(
    gateway_db: str, kafka: KafkaCluster, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # BBB arrives after the rebuild's last pass and the live projector applies it to the old
    # model, committing its offset. The switch must bring it along: the rebuild used to read it
    # only after the switch, so dying there left it out of the live model for good.
    pool = await db.create_pool(gateway_db)
    await _publish(kafka.bootstrap, topic_prefix, [_industry("AAA", 1)])
    stop = asyncio.Event()
    live = asyncio.create_task(_projector(pool, kafka.bootstrap, topic_prefix).run(stop))
    try:
        await _until(pool, "select count(*) = 1 from industries where code = 'AAA'")
        real_switch = rb.switch

        async def a_late_event_then_death(conn: db.Conn, **kwargs: Any) -> None:
            await _publish(kafka.bootstrap, topic_prefix, [_industry("BBB", 1)])
            await _until(pool, "select count(*) = 1 from public.industries where code = 'BBB'")
            await real_switch(conn, **kwargs)
            raise RuntimeError("the rebuild dies right after the switch")

        monkeypatch.setattr(rb, "switch", a_late_event_then_death)
        with pytest.raises(RuntimeError, match="dies right after"):
            await rebuild(dsn=gateway_db, bootstrap=kafka.bootstrap, prefix=topic_prefix, consumer_name=GROUP)
        async with pool.acquire() as c:
            assert await c.fetchval("select array_agg(code order by code) from industries") == ["AAA", "BBB"]
            assert await c.fetchval("select count(*) from inbox where consumer = $1", GROUP) == 2
        # The live projector goes on in the new model.
        await _publish(kafka.bootstrap, topic_prefix, [_industry("CCC", 1)])
        await _until(pool, "select count(*) = 1 from industries where code = 'CCC'")
    finally:
        stop.set()
        await live
        await pool.close()


@pytest.mark.timeout(120)
async def test_what_the_rebuild_applied_before_the_live_projector_stays_in_the_change_feed(
    gateway_db: str, kafka: KafkaCluster, topic_prefix: str
) -> None:
    # The live projector is behind (stopped here) while AAA v2 and BBB arrive; the rebuild applies
    # them. Afterwards the live projector skips them as duplicates, so the rebuild's own rows
    # for them must survive the switch, or partners paging `changes` never see them.
    pool = await db.create_pool(gateway_db)
    try:
        await _publish(kafka.bootstrap, topic_prefix, [_industry("AAA", 1)])
        stop = asyncio.Event()
        live = asyncio.create_task(_projector(pool, kafka.bootstrap, topic_prefix).run(stop))
        await _until(pool, "select count(*) = 1 from changes where entity_key = 'AAA'")
        stop.set()
        await live
        await _publish(kafka.bootstrap, topic_prefix, [_industry("AAA", 2), _industry("BBB", 1)])
        result = await rebuild(
            dsn=gateway_db, bootstrap=kafka.bootstrap, prefix=topic_prefix, consumer_name=GROUP
        )
        stop = asyncio.Event()
        live = asyncio.create_task(_projector(pool, kafka.bootstrap, topic_prefix).run(stop))
        await _publish(kafka.bootstrap, topic_prefix, [_industry("CCC", 1)])
        await _until(pool, "select count(*) = 1 from changes where entity_key = 'CCC'")
        stop.set()
        await live
        async with pool.acquire() as c:
            log = [
                tuple(r)
                for r in await c.fetch(
                    "select seq, entity_type, entity_key, version from changes order by seq"
                )
            ]
    finally:
        await pool.close()
    rows = [row[1:] for row in log]
    assert rows[0] == ("industry", "AAA", 1)
    # Two keys, so two partitions: no order between them.
    assert sorted(rows[1:3]) == [("industry", "AAA", 2), ("industry", "BBB", 1)]
    assert rows[3:] == [("read_model", result.built, 1), ("industry", "CCC", 1)]
    assert [row[0] for row in log] == [1, 2, 3, 4, 5]
