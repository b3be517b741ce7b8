"""Money written through the budget REST API shows up in the gateway's GraphQL.

Budget (API + relay + replicas) and gateway (API + projector) run in this process on the real
Postgres and Kafka, sharing one topic prefix. The budget's technology replica is filled directly:
the catalog's side of the pipeline has its own end-to-end tests.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from asgi_lifespan import LifespanManager

from budget.app import all_migrations as budget_migrations
from budget.app import create_app as budget_app
from budget.settings import BudgetSettings
from gateway.app import all_migrations as gateway_migrations
from gateway.app import create_app as gateway_app
from gateway.partners import keys
from gateway.settings import GatewaySettings
from mpe_devstack.kafka import KafkaCluster
from mpe_devstack.ports import free_port
from mpe_kit import db, migrations
from mpe_kit.auth import issue_token

SECRET = "budget-end-to-end-secret-of-32-bytes"

OVERVIEW = """
query($year: Int!) {
  programOverview(fiscalYear: $year) {
    envelopeKrw programmedKrw committedKrw disbursedKrw newProjectCount
  }
  projects(first: 10) { edges { node { code governmentKrw disbursedKrw status } } }
}
"""


@dataclass
class Stack:
    """Clients of the running budget (editor token) and gateway (budget:read and catalog:read keys)."""

    budget: httpx.AsyncClient
    gateway: httpx.AsyncClient
    catalog_only_key: str

    async def graphql(self, query: str, *, key: str | None = None, **variables: object) -> dict[str, Any]:
        headers = {"X-API-Key": key} if key else {}
        resp = await self.gateway.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body


@pytest.fixture
async def stack(
    new_database: Callable[[str], str], kafka: KafkaCluster, topic_prefix: str
) -> AsyncIterator[Stack]:
    common: dict[str, Any] = {
        "kafka_bootstrap": kafka.bootstrap,
        "topic_prefix": topic_prefix,
        "log_json": False,
        "relay_poll_interval_s": 0.5,
    }
    suffix = uuid.uuid4().hex[:8]
    # Nothing listens here: every technology the test uses is in the replica already.
    nowhere = f"http://127.0.0.1:{free_port()}"
    bs = BudgetSettings(
        database_url=new_database("budget"),
        jwt_secret=SECRET,
        replica_group=f"budget-replicas-{suffix}",
        catalog_url=nowhere,
        firms_url=nowhere,
        **common,
    )
    gs = GatewaySettings(database_url=new_database("gateway"), projector_group=f"gateway-{suffix}", **common)
    await migrations.migrate(bs.database_dsn(), budget_migrations())
    await migrations.migrate(gs.database_dsn(), gateway_migrations())
    conn = await db.connect(bs.database_dsn())
    try:
        await conn.execute(
            "insert into technology_replica (code, status, listed_on, version) values ('SEMI-001', 'listed', $1, 1)",
            date(2020, 4, 1),
        )
    finally:
        await conn.close()
    conn = await db.connect(gs.database_dsn())
    try:
        key = await keys.create(conn, agency="KEIT", scopes=["budget:read"])
        catalog_only = await keys.create(conn, agency="KOTRA", scopes=["catalog:read"])
    finally:
        await conn.close()
    editor = {"Authorization": f"Bearer {issue_token(SECRET, sub='e2e', roles=['editor'])}"}

    def client(app: Any, base_url: str, headers: dict[str, str]) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url=base_url, headers=headers)

    async with (
        LifespanManager(budget_app(bs), shutdown_timeout=30) as b,
        LifespanManager(gateway_app(gs), shutdown_timeout=30) as g,
        client(b.app, "http://budget", editor) as budget,
        client(g.app, "http://gateway", {"X-API-Key": key.secret}) as gateway,
    ):
        yield Stack(budget=budget, gateway=gateway, catalog_only_key=catalog_only.secret)


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout_s: float = 60) -> Any:
    """Await `check()` until it returns something truthy; the pipeline is asynchronous."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                result = await check()
                if result:
                    return result
                await asyncio.sleep(0.1)
    except TimeoutError:
        pytest.fail(f"timed out after {timeout_s}s waiting for {what}")


async def ok(request: Awaitable[httpx.Response], status: int = 200) -> dict[str, Any]:
    resp = await request
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()
    return body


def project(code: str, government: int) -> dict[str, Any]:
    return {
        "code": code,
        "program_code": "MP-2023-NEW",
        "title": f"Project {code}",
        "kind": "new",
        "technology_codes": ["SEMI-001"],
        "government_krw": government,
        "start_on": "2023-04-01",
        "end_on": "2025-12-31",
    }


async def test_money_through_rest_shows_in_graphql(stack: Stack) -> None:
    budget = stack.budget
    # The 2023 materials & parts R&D program: ₩937.56bn, of which ₩100.53bn new.
    await ok(budget.put("/v1/fiscal-years/2023", json={"envelope_krw": 937_560_000_000}))
    await ok(
        budget.post(
            "/v1/programs",
            json={
                "code": "MP-2023-NEW",
                "fiscal_year": 2023,
                "name_en": "Materials and parts R&D (new)",
                "name_ko": "소재부품기술개발 (신규)",
                "kind": "rnd",
                "track": "supply-chain",
                "budget_krw": 100_530_000_000,
            },
        ),
        201,
    )
    await ok(budget.post("/v1/projects", json=project("P-1", 520_000_000)), 201)
    await ok(budget.post("/v1/projects", json=project("P-2", 300_000_000)), 201)  # stays a proposal
    for to in ("selected", "agreement_signed"):
        await ok(budget.post("/v1/projects/P-1/transitions", json={"to": to}))
    payment = {"amount_krw": 120_000_000, "paid_on": "2023-07-03"}
    first = await ok(
        budget.post("/v1/projects/P-1/disbursements", json=payment, headers={"Idempotency-Key": "p1-1"}), 201
    )
    # A retry of the same request pays nothing twice, in REST and downstream.
    again = await ok(
        budget.post("/v1/projects/P-1/disbursements", json=payment, headers={"Idempotency-Key": "p1-1"}), 201
    )
    assert again == first

    async def paid_in_graphql() -> dict[str, Any] | None:
        body = await stack.graphql(OVERVIEW, year=2023)
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        overview = data["programOverview"]
        nodes = [e["node"] for e in data["projects"]["edges"]]
        if overview and overview["disbursedKrw"] == "120000000" and len(nodes) == 2:
            return data
        return None

    data = await eventually(paid_in_graphql, "the disbursement to reach GraphQL")
    assert data["programOverview"] == {
        "envelopeKrw": "937560000000",
        "programmedKrw": "100530000000",
        "committedKrw": "520000000",
        "disbursedKrw": "120000000",
        "newProjectCount": 1,  # the proposal commits nothing and does not count
    }
    assert [e["node"] for e in data["projects"]["edges"]] == [
        {
            "code": "P-1",
            "governmentKrw": "520000000",
            "disbursedKrw": "120000000",
            "status": "AGREEMENT_SIGNED",
        },
        {"code": "P-2", "governmentKrw": "300000000", "disbursedKrw": "0", "status": "PROPOSED"},
    ]
    # The figures agree with the budget service's own.
    year = await ok(budget.get("/v1/fiscal-years/2023"))
    assert (year["committed_krw"], year["disbursed_krw"]) == (520_000_000, 120_000_000)

    # Terminating leaves only what was paid committed, there too.
    await ok(
        budget.post("/v1/projects/P-1/transitions", json={"to": "terminated", "reason": "The firm withdrew."})
    )

    async def terminated_in_graphql() -> dict[str, Any] | None:
        body = await stack.graphql(OVERVIEW, year=2023)
        data: dict[str, Any] = body["data"]
        return data if data["projects"]["edges"][0]["node"]["status"] == "TERMINATED" else None

    data = await eventually(terminated_in_graphql, "the termination to reach GraphQL")
    assert data["programOverview"]["committedKrw"] == "120000000"
    assert data["programOverview"]["disbursedKrw"] == "120000000"
    assert data["programOverview"]["newProjectCount"] == 1  # terminated after a payment: it still counts


async def test_budget_figures_need_the_budget_scope(stack: Stack) -> None:
    await ok(stack.budget.put("/v1/fiscal-years/2023", json={"envelope_krw": 1}))
    body = await stack.graphql(OVERVIEW, key=stack.catalog_only_key, year=2023)
    assert body["errors"], body
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    assert not (body.get("data") or {}).get("programOverview")


async def _lines(
    bootstrap: str, topic: str, *, at_least: int
) -> list[tuple[dict[str, bytes], dict[str, Any]]]:
    """(headers, value) of every record of a topic from its start, once `at_least` have arrived."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        async with asyncio.timeout(60):
            while not (partitions := consumer.partitions_for_topic(topic)):
                await consumer._client.force_metadata_update()  # as the kit tests do: no public call for it
                await asyncio.sleep(0.2)
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            found: list[tuple[dict[str, bytes], dict[str, Any]]] = []
            while len(found) < at_least:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    found += [(dict(r.headers), json.loads(r.value)) for r in records if r.value is not None]
            return found
    finally:
        await consumer.stop()


async def test_each_payment_reaches_kafka_as_a_line_with_its_date(
    stack: Stack, kafka: KafkaCluster, topic_prefix: str
) -> None:
    budget = stack.budget
    await ok(budget.put("/v1/fiscal-years/2023", json={"envelope_krw": 10_000_000_000}))
    program = {"code": "MP-2023-NEW", "fiscal_year": 2023, "name_en": "New", "name_ko": "신규", "kind": "rnd",
               "budget_krw": 1_000_000_000}  # fmt: skip
    await ok(budget.post("/v1/programs", json=program), 201)
    await ok(budget.post("/v1/projects", json=project("P-1", 520_000_000)), 201)
    for to, on in (("selected", "2023-03-15"), ("agreement_signed", "2023-03-28")):
        await ok(budget.post("/v1/projects/P-1/transitions", json={"to": to, "effective_on": on}))
    paid = []
    for n, (amount, on) in enumerate(((120_000_000, "2023-07-03"), (80_000_000, "2023-05-02")), start=1):
        body = {"amount_krw": amount, "paid_on": on}
        headers = {"Idempotency-Key": f"line-{n}"}
        paid.append(await ok(budget.post("/v1/projects/P-1/disbursements", json=body, headers=headers), 201))
    lines = await _lines(kafka.bootstrap, f"{topic_prefix}mpe.budget.disbursement", at_least=2)
    assert {h["ce_type"] for h, _ in lines} == {b"kr.mpe.budget.disbursement.paid.v1"}
    by_id = {v["id"]: v for _, v in lines}
    assert [(by_id[p["id"]]["paid_on"], by_id[p["id"]]["amount_krw"]) for p in paid] == [
        ("2023-07-03", 120_000_000),
        ("2023-05-02", 80_000_000),
    ]
    assert [by_id[p["id"]]["project_disbursed_krw"] for p in paid] == [120_000_000, 200_000_000]
    # The project's own event still carries the totals, and now its dated history.
    state = await ok(budget.get("/v1/projects/P-1"))
    assert [(s["to_status"], s["effective_on"]) for s in state["history"]] == [
        ("selected", "2023-03-15"),
        ("agreement_signed", "2023-03-28"),
    ]
