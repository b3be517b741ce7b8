"""The event tools on the real stack: a poison message is dead-lettered, listed, shown, fixed and
replayed once; a consumer reset re-applies every event and leaves the read model the same."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from asgi_lifespan import LifespanManager
from typer.testing import CliRunner

from catalog.app import all_migrations as catalog_migrations
from catalog.app import create_app as catalog_app
from catalog.settings import CatalogSettings
from gateway.app import all_migrations as gateway_migrations
from gateway.app import create_app as gateway_app
from gateway.app import spec as gateway_spec
from gateway.partners import keys
from gateway.settings import GatewaySettings
from mpe_devstack.kafka import KafkaCluster
from mpe_events.envelope import Envelope
from mpe_events.registry import TECHNOLOGY_LISTED
from mpe_kit import db, dlq, migrations, replay
from mpe_kit.auth import issue_token
from mpe_kit.kafka import idempotent_producer
from mpe_kit.service import build_cli

SECRET = "event-tools-secret-of-32-bytes-or-more"

TECHS = """
{ technologies(first: 100) { totalCount edges { node { code nameEn kind status version retiredOn } } }
  industries { code nameEn technologyCount } }
"""


@dataclass
class Tools:
    """A running catalog, a gateway that can be stopped and started, and the gateway's CLI."""

    catalog: httpx.AsyncClient
    gateway_settings: GatewaySettings
    key: str
    cli: typer.Typer
    stack: contextlib.AsyncExitStack

    async def start_gateway(self) -> httpx.AsyncClient:
        """Start the gateway (API and projector); it stops with `stop_gateway`."""
        self.gw_stack = contextlib.AsyncExitStack()
        manager = await self.gw_stack.enter_async_context(
            LifespanManager(gateway_app(self.gateway_settings), shutdown_timeout=30)
        )
        return await self.gw_stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app),
                base_url="http://gateway",
                headers={"X-API-Key": self.key},
            )
        )

    async def stop_gateway(self) -> None:
        """Stop the gateway; its consumer leaves the group."""
        await self.gw_stack.aclose()

    async def run(self, *args: str) -> str:
        """Run `gateway <args>` as an operator would; return its output."""
        result = await asyncio.to_thread(CliRunner().invoke, self.cli, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    async def gateway_db(self, sql: str, *params: object) -> Any:
        """One value from the gateway's database."""
        conn = await db.connect(self.gateway_settings.database_dsn())
        try:
            return await conn.fetchval(sql, *params)
        finally:
            await conn.close()


@pytest.fixture
async def tools(
    migrated_database: Callable[[str, list[migrations.Migration]], Awaitable[str]],
    kafka: KafkaCluster,
    topic_prefix: str,
) -> AsyncIterator[Tools]:
    common: dict[str, Any] = {
        "kafka_bootstrap": kafka.bootstrap,
        "topic_prefix": topic_prefix,
        "log_json": False,
        "relay_poll_interval_s": 0.5,
    }
    cs = CatalogSettings(
        database_url=await migrated_database("catalog", catalog_migrations()), jwt_secret=SECRET, **common
    )
    gs = GatewaySettings(
        database_url=await migrated_database("gateway", gateway_migrations()),
        projector_group=f"gateway-projector-{uuid.uuid4().hex[:8]}",
        **common,
    )
    conn = await db.connect(gs.database_dsn())
    try:
        key = await keys.create(conn, agency="KEIT", scopes=["catalog:read"])
    finally:
        await conn.close()
    async with contextlib.AsyncExitStack() as stack:
        c = await stack.enter_async_context(LifespanManager(catalog_app(cs), shutdown_timeout=30))
        catalog = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=c.app),
                base_url="http://catalog",
                headers={"Authorization": f"Bearer {issue_token(SECRET, sub='ops', roles=['editor'])}"},
            )
        )
        yield Tools(catalog, gs, key.secret, build_cli(gateway_spec(gs), lambda: gs), stack)


async def graphql(gateway: httpx.AsyncClient, query: str) -> dict[str, Any]:
    r = await gateway.post("/graphql", json={"query": query})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


async def until(check: Callable[[], Awaitable[Any]], timeout_s: float = 60) -> Any:
    async with asyncio.timeout(timeout_s):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.2)


async def write_catalog(catalog: httpx.AsyncClient) -> None:
    r = await catalog.post(
        "/v1/industries", json={"code": "SEMI", "name_en": "Semiconductors", "name_ko": "반도체"}
    )
    assert r.status_code == 201, r.text
    revisions = [
        ("2020-04-01", [("add", "SEMI-001", "Photoresist"), ("add", "SEMI-002", "HF gas")]),
        ("2022-10-18", [("amend", "SEMI-001", "EUV photoresist"), ("retire", "SEMI-002", "")]),
    ]
    for day, changes in revisions:
        body = {
            "title": f"revision of {day}",
            "decided_on": day,
            "effective_on": day,
            "changes": [
                {
                    "op": "add",
                    "technology": {
                        "code": code,
                        "industry_code": "SEMI",
                        "kind": "material",
                        "name_en": name,
                        "name_ko": name,
                    },
                }
                if op == "add"
                else {"op": "amend", "code": code, "name_en": name}
                if op == "amend"
                else {"op": "retire", "code": code}
                for op, code, name in changes
            ],
        }
        r = await catalog.post("/v1/revisions", json=body)
        assert r.status_code == 201, r.text
        r = await catalog.post(f"/v1/revisions/{r.json()['id']}/publish")
        assert r.status_code == 200, r.text


async def test_a_poison_message_is_listed_shown_fixed_and_replayed_once(
    tools: Tools, kafka: KafkaCluster, topic_prefix: str, tmp_path: Path
) -> None:
    gateway = await tools.start_gateway()
    try:
        await write_catalog(tools.catalog)
        revision = (await tools.catalog.get("/v1/revisions")).json()["items"][0]["id"]
        good = {
            "code": "SEMI-900",
            "industry_code": "SEMI",
            "kind": "material",
            "name_en": "Pellicle",
            "name_ko": "펠리클",
            "description": "",
            "status": "listed",
            "listed_on": "2023-01-02",
            "retired_on": None,
            "version": 1,
            "revision_id": revision,
        }
        poison = Envelope(
            id=uuid.uuid4(),
            source="/mpe/catalog",
            type=TECHNOLOGY_LISTED.type,
            subject="SEMI-900",
            time=datetime.now(UTC),
            data={**good, "kind": "gadget"},
        )
        producer = idempotent_producer(kafka.bootstrap, client_id="poison")
        await producer.start()
        try:
            await producer.send_and_wait(
                f"{topic_prefix}mpe.catalog.technology",
                key=poison.key,
                value=poison.value(),
                headers=poison.headers(),
            )
        finally:
            await producer.stop()
        dlq_topic = f"{topic_prefix}mpe.catalog.technology.dlq"
        letters = await until(lambda: dlq.read(kafka.bootstrap, [dlq_topic]))
        assert len(letters) == 1
        ref = letters[0].ref

        listed = json.loads(await tools.run("dlq", "list", "--messages", "--json"))
        assert [(c["topic"], c["consumer"], c["count"]) for c in listed["counts"]] == [
            (f"{topic_prefix}mpe.catalog.technology", tools.gateway_settings.projector_group, 1)
        ]
        assert listed["counts"][0]["error"].startswith(f"invalid {TECHNOLOGY_LISTED.type} payload")
        assert [m["ref"] for m in listed["messages"]] == [ref]
        assert "1 dead letter(s)" in await tools.run("dlq", "list", "--topic", "mpe.catalog.technology")

        shown = await tools.run("dlq", "show", ref)
        assert f"ce_id: {poison.id}" in shown
        assert f"ce_type: {TECHNOLOGY_LISTED.type}" in shown
        assert "dlq_error: invalid" in shown
        assert '"kind": "gadget"' in shown

        fixed = tmp_path / "fixed.json"
        fixed.write_text(json.dumps(good))
        assert "replayed 1 dead letter(s)" in await tools.run(
            "dlq", "replay", ref, "--value-file", str(fixed)
        )
        query = '{ technology(code: "SEMI-900") { code kind version } }'
        data = await until(lambda: _tech(gateway, query))
        assert data == {"code": "SEMI-900", "kind": "MATERIAL", "version": 1}

        # Replaying everything again sends nothing: the replay superseded the dead letter.
        again = await tools.run("dlq", "replay", "--all", "--topic", "mpe.catalog.technology")
        assert "replayed 0 dead letter(s); skipped 1 superseded" in again
        await asyncio.sleep(1)
        assert await tools.gateway_db("select count(*) from inbox where event_id = $1", poison.id) == 1
        assert len(await dlq.read(kafka.bootstrap, [dlq_topic])) == 1
    finally:
        await tools.stop_gateway()


async def _tech(gateway: httpx.AsyncClient, query: str) -> dict[str, Any] | None:
    tech: dict[str, Any] | None = (await graphql(gateway, query))["technology"]
    return tech


async def test_a_consumer_reset_reapplies_every_event_and_keeps_the_read_model(tools: Tools) -> None:
    group = tools.gateway_settings.projector_group
    gateway = await tools.start_gateway()
    try:
        await write_catalog(tools.catalog)
        await until(lambda: _tech(gateway, '{ technology(code: "SEMI-001") { version } }'))

        async def settled() -> bool:
            data = await graphql(gateway, TECHS)
            versions = {e["node"]["code"]: e["node"]["version"] for e in data["technologies"]["edges"]}
            return versions == {"SEMI-001": 2, "SEMI-002": 2}

        await until(settled)
        before = await graphql(gateway, TECHS)
        applied = await tools.gateway_db("select count(*) from inbox where consumer = $1", group)
        assert applied >= 7  # an industry, two revisions drafted and published, four technology events

        with pytest.raises(replay.ResetRefused, match="is active"):
            await replay.reset(
                bootstrap=tools.gateway_settings.kafka_bootstrap,
                database_url=tools.gateway_settings.database_dsn(),
                group=group,
                to=None,
                prefix=tools.gateway_settings.topic_prefix,
            )
    finally:
        await tools.stop_gateway()

    # Another service's group: its inbox is in that service's database, so refuse it here.
    foreign = await asyncio.to_thread(
        CliRunner().invoke, tools.cli, ["consumer", "reset", "--group", "budget-replicas", "--to", "earliest"]
    )
    assert foreign.exit_code == 2, foreign.output
    assert f"which runs {group}" in foreign.output
    out = await tools.run("consumer", "reset", "--group", group, "--to", "earliest")
    assert f"{applied} inbox row(s) forgotten" in out
    assert await tools.gateway_db("select count(*) from inbox where consumer = $1", group) == 0

    gateway = await tools.start_gateway()
    try:
        await until(
            lambda: _count_at_least(tools, group, applied),
        )
        assert await graphql(gateway, TECHS) == before
    finally:
        await tools.stop_gateway()


async def _count_at_least(tools: Tools, group: str, n: int) -> bool:
    return bool(await tools.gateway_db("select count(*) from inbox where consumer = $1", group) >= n)
