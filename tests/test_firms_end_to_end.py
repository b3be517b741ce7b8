"""A designation made through the firms REST API shows up in the gateway's GraphQL.

Catalog (API + relay), firms (API + relay + technology replica) and gateway (API + projector)
run in this process on the real Postgres and Kafka, sharing one topic prefix.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from catalog.app import all_migrations as catalog_migrations
from catalog.app import create_app as catalog_app
from catalog.settings import CatalogSettings
from firms.app import all_migrations as firms_migrations
from firms.app import create_app as firms_app
from firms.domain import brn_check_digit
from firms.settings import FirmsSettings
from gateway.app import all_migrations as gateway_migrations
from gateway.app import create_app as gateway_app
from gateway.partners import keys
from gateway.settings import GatewaySettings
from mpe_devstack.kafka import KafkaCluster
from mpe_devstack.ports import free_port
from mpe_kit import db, migrations
from mpe_kit.auth import issue_token

SECRET = "firms-end-to-end-secret-of-32-bytes!"
BRN = "123456789" + str(brn_check_digit("123456789"))  # 1234567891
BRN_DISPLAY = f"{BRN[:3]}-{BRN[3:5]}-{BRN[5:]}"

FIRM = """
query($brn: String!) {
  firm(brn: $brn) { brn brnDisplay nameEn designations { status cohort kind designatedOn validUntil } }
}
"""


@dataclass
class Stack:
    """Clients of the running catalog and firms (editor tokens) and gateway (a firms:read key)."""

    catalog: httpx.AsyncClient
    firms: httpx.AsyncClient
    gateway: httpx.AsyncClient
    firms_dsn: str

    async def graphql(self, query: str, **variables: object) -> dict[str, Any]:
        resp = await self.gateway.post("/graphql", json={"query": query, "variables": variables})
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
    cs = CatalogSettings(database_url=new_database("catalog"), jwt_secret=SECRET, **common)
    fs = FirmsSettings(
        database_url=new_database("firms"),
        jwt_secret=SECRET,
        replica_group=f"firms-replica-{suffix}",
        # Nothing listens here: the firms service learns the list from Kafka only.
        catalog_url=f"http://127.0.0.1:{free_port()}",
        **common,
    )
    gs = GatewaySettings(database_url=new_database("gateway"), projector_group=f"gateway-{suffix}", **common)
    await migrations.migrate(cs.database_dsn(), catalog_migrations())
    await migrations.migrate(fs.database_dsn(), firms_migrations())
    await migrations.migrate(gs.database_dsn(), gateway_migrations())
    conn = await db.connect(gs.database_dsn())
    try:
        key = await keys.create(conn, agency="KEIT", scopes=["catalog:read", "firms:read"])
    finally:
        await conn.close()
    editor = {"Authorization": f"Bearer {issue_token(SECRET, sub='e2e', roles=['editor'])}"}

    def client(app: Any, base_url: str, headers: dict[str, str]) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url=base_url, headers=headers)

    async with (
        LifespanManager(catalog_app(cs), shutdown_timeout=30) as c,
        LifespanManager(firms_app(fs), shutdown_timeout=30) as f,
        LifespanManager(gateway_app(gs), shutdown_timeout=30) as g,
        client(c.app, "http://catalog", editor) as catalog,
        client(f.app, "http://firms", editor) as firms,
        client(g.app, "http://gateway", {"X-API-Key": key.secret}) as gateway,
    ):
        yield Stack(catalog=catalog, firms=firms, gateway=gateway, firms_dsn=fs.database_dsn())


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


async def ok(resp: Awaitable[httpx.Response], status: int = 200) -> dict[str, Any]:
    r = await resp
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_designation_through_rest_shows_in_graphql(stack: Stack) -> None:
    await ok(
        stack.catalog.post(
            "/v1/industries", json={"code": "SEMI", "name_en": "Semiconductors", "name_ko": "반도체"}
        ),
        201,
    )
    rev = await ok(
        stack.catalog.post(
            "/v1/revisions",
            json={
                "title": "2020 list",
                "decided_on": "2020-04-01",
                "effective_on": "2020-04-01",
                "changes": [
                    {
                        "op": "add",
                        "technology": {
                            "code": "SEMI-001",
                            "industry_code": "SEMI",
                            "kind": "material",
                            "name_en": "Photoresist",
                            "name_ko": "포토레지스트",
                        },
                    }
                ],
            },
        ),
        201,
    )
    await ok(stack.catalog.post(f"/v1/revisions/{rev['id']}/publish"))

    async def replica_has_it() -> bool:
        conn = await db.connect(stack.firms_dsn)
        try:
            return bool(
                await conn.fetchval(
                    "select status = 'listed' from technology_replica where code = 'SEMI-001'"
                )
            )
        finally:
            await conn.close()

    await eventually(replica_has_it, "the firms replica to learn SEMI-001")

    firms = stack.firms
    await ok(
        firms.post(
            "/v1/firms",
            json={
                "brn": BRN_DISPLAY,
                "name_en": "Dongjin Semichem",
                "name_ko": "동진쎄미켐",
                "size": "mid",
                "size_since": "2020-01-01",
                "region": "Gyeonggi",
                "mpe_sales_ratio": 0.8,
                "technology_codes": ["SEMI-001"],
            },
        ),
        201,
    )
    await ok(
        firms.post(
            f"/v1/firms/{BRN}/confirmations",
            json={"technology_code": "SEMI-001", "issued_on": "2024-01-02", "valid_until": "2027-01-02"},
        ),
        201,
    )
    d = await ok(
        firms.post(
            f"/v1/firms/{BRN}/designations",
            json={
                "kind": "leading",
                "cohort": 4,
                "technology_codes": ["SEMI-001"],
                "effective_on": "2024-03-01",
            },
        ),
        201,
    )
    url = f"/v1/designations/{d['id']}/transitions"
    await ok(firms.post(url, json={"to": "under_review", "effective_on": "2024-03-15"}))
    d = await ok(firms.post(url, json={"to": "designated", "effective_on": "2024-05-10"}))
    assert (d["status"], d["valid_until"]) == ("designated", "2029-05-10")

    async def designated_in_graphql() -> dict[str, Any] | None:
        body = await stack.graphql(FIRM, brn=BRN_DISPLAY)
        assert "errors" not in body, body
        found: dict[str, Any] | None = body["data"]["firm"]
        if found and [x["status"] for x in found["designations"]] == ["DESIGNATED"]:
            return found
        return None

    firm = await eventually(designated_in_graphql, "the designation to reach GraphQL")
    assert firm == {
        "brn": BRN,
        "brnDisplay": BRN_DISPLAY,
        "nameEn": "Dongjin Semichem",
        "designations": [
            {
                "status": "DESIGNATED",
                "cohort": 4,
                "kind": "LEADING",
                "designatedOn": "2024-05-10",
                "validUntil": "2029-05-10",
            }
        ],
    }
    # Either form of the BRN finds the firm.
    assert (await stack.graphql(FIRM, brn=BRN))["data"]["firm"] == firm
