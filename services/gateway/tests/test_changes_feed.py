"""The change log, the `changes` feed and the change hub, on a real Postgres (and Kafka end to end)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from gateway import store
from gateway.app import create_app
from gateway.projector.handlers import HANDLERS
from gateway.read.hub import APPLICATION_NAME, ChangeHub
from gateway.settings import GatewaySettings
from mpe_devstack.kafka import KafkaCluster
from mpe_events import catalog as ev
from mpe_events.registry import (
    EVENT_TYPES,
    FIRM_REGISTERED,
    INDUSTRY_CREATED,
    REVISION_PUBLISHED,
    TECHNOLOGY_AMENDED,
    TECHNOLOGY_LISTED,
)
from mpe_kit import db
from mpe_kit.consumer import Event
from mpe_kit.kafka import ensure_topics, idempotent_producer, topic_name
from mpe_kit.pagination import encode_cursor

from .conftest import (
    Running,
    apply,
    batch,
    brn,
    designation,
    designation_event,
    event,
    firm,
    firm_event,
    fiscal_year_event,
    gql,
    hub_caught_up,
    new_key,
    program,
    program_event,
    project,
    project_event,
    technology,
)

EPOCH = "2000-01-01T00:00:00Z"
FEED = """
query($since: DateTime!, $types: [ChangeEntityType!], $first: Int, $after: String) {
  changes(since: $since, types: $types, first: $first, after: $after) {
    edges { cursor node { entityType key version appliedAt } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def until(check: Callable[[], bool], *, timeout_s: float = 10) -> None:
    """Poll a check until it holds; TimeoutError after `timeout_s`."""
    async with asyncio.timeout(timeout_s):
        while True:
            if check():
                return
            await asyncio.sleep(0.02)


def tech(code: str, version: int, **fields: object) -> Event:
    t = technology(code, version, **fields)
    return event(TECHNOLOGY_LISTED.type if version == 1 else TECHNOLOGY_AMENDED.type, t, code)


async def log(conn: db.Conn) -> list[tuple[str, str, int]]:
    rows = await conn.fetch("select entity_type, entity_key, version from changes order by seq")
    return [(r["entity_type"], r["entity_key"], r["version"]) for r in rows]


async def whole_feed(client: httpx.AsyncClient, *, first: int = 3, **args: Any) -> list[dict[str, Any]]:
    """Every node of the feed, page after page."""
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        body = await gql(client, FEED, since=args.pop("since", EPOCH), first=first, after=after, **args)
        assert "errors" not in body, body
        page = body["data"]["changes"]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


async def test_each_change_appends_one_row_and_a_stale_or_duplicate_event_none(conn: db.Conn) -> None:
    listed = tech("SEMI-001", 1)
    amended = tech("SEMI-001", 2, name_en="Photoresist, EUV")
    await apply(conn, listed, amended)
    # Re-delivered as such, or an older version arriving late, or another event of a version
    # already applied: the read model does not change, and neither does the log.
    await apply(conn, amended, listed, tech("SEMI-001", 2, name_en="Something else"))
    # A revision is logged (it moves the response cache's watermark) under a type the feed omits.
    revision = _revision()
    await apply(conn, event(REVISION_PUBLISHED.type, revision, "r"))
    assert await log(conn) == [
        ("technology", "SEMI-001", 1),
        ("technology", "SEMI-001", 2),
        ("revision", str(revision.id), 1),
    ]
    first, second, _ = await conn.fetch("select seq, applied_at, event_id from changes order by seq")
    assert first["applied_at"] <= second["applied_at"]
    assert second["event_id"] == amended.envelope.id


def _revision() -> ev.RevisionV1:
    return ev.RevisionV1(
        id=uuid.uuid4(),
        title="A draft",
        decided_on=datetime(2024, 1, 2).date(),
        effective_on=datetime(2024, 1, 2).date(),
        status="draft",
        changes=[],
        published_at=None,
        version=1,
    )


async def test_every_entity_type_is_logged_under_its_key(conn: db.Conn) -> None:
    number = brn(1)
    d_id = uuid.uuid4()
    await apply(
        conn,
        event(
            INDUSTRY_CREATED.type, ev.IndustryV1(code="SEMI", name_en="S", name_ko="반", version=1), "SEMI"
        ),
        tech("SEMI-001", 1),
        firm_event(firm(number)),
        designation_event(designation(d_id, number)),
        fiscal_year_event(2023, 1_000),
        program_event(program("MP-2023")),
        project_event(project("MP-2023-001")),
    )
    assert await log(conn) == [
        ("industry", "SEMI", 1),
        ("technology", "SEMI-001", 1),
        ("firm", number, 1),
        ("designation", str(d_id), 1),
        ("fiscal_year", "2023", 1),
        ("program", "MP-2023", 1),
        ("project", "MP-2023-001", 1),
    ]


async def test_a_batch_notifies_its_highest_seq_and_one_without_changes_nothing(gateway_db: str) -> None:
    listener = await db.connect(gateway_db)
    writer = await db.connect(gateway_db)
    heard: asyncio.Queue[str] = asyncio.Queue()
    try:
        await listener.add_listener(store.changes.CHANGES_CHANNEL, lambda *a: heard.put_nowait(a[3]))
        await batch(writer, tech("SEMI-001", 1), tech("SEMI-002", 1), tech("SEMI-003", 1))
        assert await asyncio.wait_for(heard.get(), 5) == "3"
        await batch(writer, tech("SEMI-001", 1))  # stale: nothing appended
        await batch(writer, tech("SEMI-001", 2))
        assert await asyncio.wait_for(heard.get(), 5) == "4"
        assert heard.empty()
    finally:
        await listener.close()
        await writer.close()


async def test_seq_follows_commit_order_across_concurrent_appenders(gateway_db: str) -> None:
    """A second projector instance waits on the lock, so no row commits later with a lower seq."""
    a = await db.connect(gateway_db)
    b = await db.connect(gateway_db)
    reader = await db.connect(gateway_db)
    try:
        ta = a.transaction()
        await ta.start()
        await HANDLERS[TECHNOLOGY_LISTED.type](a, tech("SEMI-001", 1))

        async def second() -> None:
            await batch(b, tech("SEMI-002", 1))

        other = asyncio.create_task(second())
        await asyncio.sleep(0.5)
        assert not other.done(), "the second appender should wait for the first one's commit"
        assert await store.changes.changes_watermark(reader) == 0
        await ta.commit()
        await asyncio.wait_for(other, 5)
        rows = await reader.fetch("select seq, entity_key from changes order by seq")
        assert [(r["seq"], r["entity_key"]) for r in rows] == [(1, "SEMI-001"), (2, "SEMI-002")]
    finally:
        for c in (a, b, reader):
            await c.close()


async def test_the_feed_pages_in_order_with_the_entities_current_state(
    conn: db.Conn, gateway: Callable[[str], httpx.AsyncClient]
) -> None:
    await apply(conn, *(tech(f"SEMI-{i:03d}", 1) for i in range(1, 6)), tech("SEMI-002", 2, name_en="New"))
    client = gateway((await new_key(conn, "catalog:read")).secret)
    nodes = await whole_feed(client, first=2)
    assert [(n["key"], n["version"]) for n in nodes] == [
        ("SEMI-001", 1),
        ("SEMI-002", 1),
        ("SEMI-003", 1),
        ("SEMI-004", 1),
        ("SEMI-005", 1),
        ("SEMI-002", 2),
    ]
    assert {n["entityType"] for n in nodes} == {"TECHNOLOGY"}
    body = await gql(
        client,
        "query($since: DateTime!) { changes(since: $since, first: 2) { edges { node { version"
        " entity { __typename ... on Technology { code nameEn version } } } } } }",
        since=EPOCH,
    )
    entities = [e["node"]["entity"] for e in body["data"]["changes"]["edges"]]
    # The entity as it stands now: SEMI-002's first change shows its version 2.
    assert entities == [
        {"__typename": "Technology", "code": "SEMI-001", "nameEn": "Tech SEMI-001", "version": 1},
        {"__typename": "Technology", "code": "SEMI-002", "nameEn": "New", "version": 2},
    ]


async def test_since_starts_the_feed_at_an_instant(
    conn: db.Conn, gateway: Callable[[str], httpx.AsyncClient]
) -> None:
    await apply(conn, tech("SEMI-001", 1), tech("SEMI-002", 1))
    middle = await conn.fetchval("select clock_timestamp()")
    await apply(conn, tech("SEMI-003", 1))
    client = gateway((await new_key(conn, "catalog:read")).secret)
    nodes = await whole_feed(client, since=middle.isoformat())
    assert [n["key"] for n in nodes] == ["SEMI-003"]
    assert datetime.fromisoformat(nodes[0]["appliedAt"]) >= middle
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert await whole_feed(client, since=later) == []
    body = await gql(client, FEED, since="2024-01-01T00:00:00")
    assert body["data"]["changes"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "since" in body["errors"][0]["message"]


async def test_types_and_scopes(conn: db.Conn, gateway: Callable[[str], httpx.AsyncClient]) -> None:
    number = brn(7)
    await apply(
        conn,
        tech("SEMI-001", 1),
        firm_event(firm(number)),
        project_event(project("MP-2023-001")),
        fiscal_year_event(2023, 5_000),
    )
    catalog = gateway((await new_key(conn, "catalog:read")).secret)
    everything = gateway((await new_key(conn, "catalog:read", "firms:read", "budget:read")).secret)
    nothing = gateway((await new_key(conn, "firms:financials")).secret)

    assert [n["entityType"] for n in await whole_feed(catalog)] == ["TECHNOLOGY"]
    assert [n["entityType"] for n in await whole_feed(everything)] == [
        "TECHNOLOGY",
        "FIRM",
        "PROJECT",
        "FISCAL_YEAR",
    ]
    assert await whole_feed(nothing) == []
    assert [n["key"] for n in await whole_feed(everything, types=["FIRM", "FISCAL_YEAR"])] == [number, "2023"]

    body = await gql(catalog, FEED, since=EPOCH, types=["TECHNOLOGY", "FIRM"])
    assert body["data"] == {"changes": None}
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN", "scope": "firms:read"}
    assert error["path"] == ["changes"]

    body = await gql(catalog, FEED, since=EPOCH, types=[])
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    body = await gql(
        everything,
        "query($since: DateTime!) { changes(since: $since, types: [FISCAL_YEAR, FIRM]) { edges { node {"
        " entity { ... on ProgramOverview { fiscalYear envelopeKrw } ... on Firm { brn nameEn } } } } } }",
        since=EPOCH,
    )
    assert [e["node"]["entity"] for e in body["data"]["changes"]["edges"]] == [
        {"brn": number, "nameEn": f"Firm {number}"},
        {"fiscalYear": 2023, "envelopeKrw": "5000"},
    ]


async def test_cursors_are_opaque_and_checked(
    conn: db.Conn, gateway: Callable[[str], httpx.AsyncClient], gateway_app: Running
) -> None:
    await apply(conn, tech("SEMI-001", 1), tech("SEMI-002", 1))
    client = gateway((await new_key(conn, "catalog:read")).secret)
    first = (await gql(client, FEED, since=EPOCH, first=1))["data"]["changes"]
    assert first["pageInfo"]["hasNextPage"] is True
    second = (await gql(client, FEED, since=EPOCH, first=1, after=first["pageInfo"]["endCursor"]))["data"]
    assert [e["node"]["key"] for e in second["changes"]["edges"]] == ["SEMI-002"]
    assert second["changes"]["pageInfo"]["hasNextPage"] is False
    # Past the end: an empty page with no endCursor; the last cursor stays good for polling.
    end = second["changes"]["pageInfo"]["endCursor"]
    empty = (await gql(client, FEED, since=EPOCH, after=end))["data"]["changes"]
    assert empty == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}
    await apply(conn, tech("SEMI-003", 1))
    await hub_caught_up(gateway_app.app, conn)
    polled = (await gql(client, FEED, since=EPOCH, after=end))["data"]["changes"]
    assert [e["node"]["key"] for e in polled["edges"]] == ["SEMI-003"]

    for bad in (
        "nope",
        encode_cursor(["SEMI-001"]),
        encode_cursor([1, 2]),
        encode_cursor([-1]),
        encode_cursor([True]),
        encode_cursor([2**63]),  # found by a review: past int64 it reached Postgres (an internal error)
    ):
        body = await gql(client, FEED, since=EPOCH, after=bad)
        assert body["data"] == {"changes": None}, bad
        assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
        assert "after" in body["errors"][0]["message"]
    for first_ in (0, 101):
        body = await gql(client, FEED, since=EPOCH, first=first_)
        assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}


async def test_the_cost_limit_counts_the_feed_by_first(
    conn: db.Conn, gateway: Callable[[str], httpx.AsyncClient]
) -> None:
    client = gateway((await new_key(conn, "catalog:read", "firms:read")).secret)
    body = await gql(
        client,
        "query($since: DateTime!) { changes(since: $since, first: 100) { edges { node { entity {"
        " ... on Technology { firms(first: 100) { designations(first: 100) { id } } } } } } } }",
        since=EPOCH,
    )
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["actual"] > 100 * 100 * 100


async def test_the_hub_follows_the_log_and_reconnects(gateway_db: str) -> None:
    pool = await db.create_pool(gateway_db, min_size=1, max_size=3)
    writer = await db.connect(gateway_db)
    await batch(writer, tech("SEMI-001", 1))
    hub = ChangeHub(dsn=gateway_db, pool=pool, poll_s=0.2)
    pages: list[list[tuple[str, int]]] = []

    async def follow() -> None:
        async for page in hub.follow(["technology"], page=2):
            pages.append([(c.key, c.version) for c in page])

    await hub.start()
    follower = asyncio.create_task(follow())
    try:
        assert hub.live
        assert hub.watermark == 1
        await until(lambda: hub.subscribers == 1)
        await batch(
            writer, tech("SEMI-002", 1), firm_event(firm(brn(3))), tech("SEMI-003", 1), tech("SEMI-004", 1)
        )
        async with asyncio.timeout(5):
            assert await hub.wait_beyond(1) == 5
        await until(lambda: sum(map(len, pages)) == 3)
        # Pages of at most 2, read by seq from the table; the firm is not followed.
        assert pages == [[("SEMI-002", 1), ("SEMI-003", 1)], [("SEMI-004", 1)]]

        # The listening connection drops: not live until it is back, then the watermark is read
        # afresh, and what committed meanwhile still reaches the follower.
        await writer.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity"
            " where application_name = $1 and datname = current_database()",
            APPLICATION_NAME,
        )
        await until(lambda: not hub.live)
        await apply(writer, tech("SEMI-005", 1))  # no notification: outside a projector batch
        await until(lambda: hub.live)
        async with asyncio.timeout(5):
            assert await hub.wait_beyond(5) == 6
        await until(lambda: sum(map(len, pages)) == 4)
        assert pages[-1] == [("SEMI-005", 1)]
        assert hub.subscribers == 1
    finally:
        await hub.stop()
        await asyncio.wait_for(follower, 5)
        await writer.close()
        await pool.close()
    assert hub.subscribers == 0


async def test_the_app_exposes_its_hub(gateway_app: Any) -> None:
    hub = gateway_app.app.state.gateway.changes
    assert isinstance(hub, ChangeHub)
    assert hub.live is True
    assert hub.watermark == 0


async def _publish(bootstrap: str, prefix: str, events: list[Event]) -> None:
    producer = idempotent_producer(bootstrap, client_id="feed-test")
    await producer.start()
    try:
        for e in events:
            topic = EVENT_TYPES[e.envelope.type].topic.name
            await producer.send_and_wait(
                topic_name(prefix, topic),
                key=e.envelope.key,
                value=e.envelope.value(),
                headers=e.envelope.headers(),
            )
    finally:
        await producer.stop()


async def test_the_feed_is_whole_and_ordered_across_a_gateway_restart(
    gateway_db: str, kafka: KafkaCluster, topic_prefix: str
) -> None:
    """Projector → change log → feed, with a restart between two rounds of events and re-deliveries."""
    specs = [EVENT_TYPES[t].topic for t in (TECHNOLOGY_LISTED.type, FIRM_REGISTERED.type)]
    await ensure_topics(kafka.bootstrap, specs, prefix=topic_prefix)
    settings = GatewaySettings(
        database_url=gateway_db,
        kafka_bootstrap=kafka.bootstrap,
        topic_prefix=topic_prefix,
        log_json=False,
        rate_limit_per_s=0,
        changes_poll_s=0.5,
    )
    conn = await db.connect(gateway_db)
    key = (await new_key(conn, "catalog:read", "firms:read")).secret
    await conn.close()
    round_one = [tech(f"SEMI-{i:03d}", 1) for i in range(1, 6)] + [firm_event(firm(brn(1)))]
    round_two = [tech("SEMI-001", 2, name_en="Amended"), *(tech(f"SEMI-{i:03d}", 1) for i in range(6, 9))]

    async def run(events: list[Event], expect_watermark: int) -> list[dict[str, Any]]:
        app = create_app(settings)
        async with (
            LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as m,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=m.app),
                base_url="http://gateway",
                headers={"X-API-Key": key},
            ) as client,
        ):
            hub: ChangeHub = app.state.gateway.changes
            await _publish(kafka.bootstrap, topic_prefix, events)
            async with asyncio.timeout(60):
                await hub.wait_beyond(expect_watermark - 1)
            return await whole_feed(client, first=4)

    first = await run(round_one, 6)
    # Partitions are applied in any order between them: the feed's order is the log's.
    assert sorted((n["entityType"], n["key"], n["version"]) for n in first) == sorted(
        [("TECHNOLOGY", f"SEMI-{i:03d}", 1) for i in range(1, 6)] + [("FIRM", brn(1), 1)]
    )
    # After the restart: everything of round one again (the same event ids), a stale version
    # with a new id, then round two.
    stale = tech("SEMI-002", 1, name_en="Late")
    second = await run([*round_one, stale, *round_two], 10)
    assert second[: len(first)] == first
    assert sorted((n["entityType"], n["key"], n["version"]) for n in second[len(first) :]) == sorted(
        [("TECHNOLOGY", "SEMI-001", 2)] + [("TECHNOLOGY", f"SEMI-{i:03d}", 1) for i in range(6, 9)]
    )
    times = [datetime.fromisoformat(n["appliedAt"]) for n in second]
    assert times == sorted(times)
    conn = await db.connect(gateway_db)
    try:
        assert await store.changes.changes_watermark(conn) == 10
        assert await conn.fetchval("select count(distinct event_id) from changes") == 10
    finally:
        await conn.close()
