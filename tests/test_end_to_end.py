"""A revision published through the catalog's REST API shows up in the gateway's GraphQL."""

from __future__ import annotations

import asyncio
from typing import Any

from mpe_kit import ops

from .conftest import Stack

TECH = """
query($code: String!) {
  technology(code: $code) {
    code nameEn nameKo kind status listedOn retiredOn version industry { code nameEn }
  }
}
"""

LIST = """
query($asOf: Date, $industry: String) {
  technologies(filter: {asOf: $asOf, industry: $industry}, first: 100) {
    totalCount edges { node { code status } } pageInfo { hasNextPage }
  }
  industries { code technologyCount technologyCountThen: technologyCount(asOf: $asOf) }
}
"""


async def eventually(stack: Stack, query: str, ready: Any, timeout_s: float = 30, **variables: object) -> Any:
    """Poll GraphQL until `ready(data)` holds; the projection is asynchronous."""
    async with asyncio.timeout(timeout_s):
        while True:
            body = await stack.graphql(query, **variables)
            if "errors" not in body and ready(body["data"]):
                return body["data"]
            await asyncio.sleep(0.1)


async def publish(stack: Stack, revision: dict[str, Any]) -> dict[str, Any]:
    r = await stack.catalog.post("/v1/revisions", json=revision)
    assert r.status_code == 201, r.text
    r = await stack.catalog.post(f"/v1/revisions/{r.json()['id']}/publish")
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def add(code: str, name: str, kind: str = "material") -> dict[str, Any]:
    return {
        "op": "add",
        "technology": {"code": code, "industry_code": "SEMI", "kind": kind, "name_en": name, "name_ko": name},
    }


async def test_publish_through_rest_then_query_graphql_as_of_before_and_after(stack: Stack) -> None:
    r = await stack.catalog.post(
        "/v1/industries", json={"code": "SEMI", "name_en": "Semiconductors", "name_ko": "반도체"}
    )
    assert r.status_code == 201, r.text
    await publish(
        stack,
        {
            "title": "2020 list",
            "decided_on": "2020-04-01",
            "effective_on": "2020-04-01",
            "changes": [add("SEMI-001", "Photoresist"), add("SEMI-002", "High-purity hydrogen fluoride")],
        },
    )
    await publish(
        stack,
        {
            "title": "2022 revision",
            "decided_on": "2022-10-18",
            "effective_on": "2022-10-18",
            "changes": [
                {"op": "retire", "code": "SEMI-002"},
                {"op": "amend", "code": "SEMI-001", "name_en": "EUV photoresist"},
                add("SEMI-003", "EUV pellicle", "part"),
            ],
        },
    )

    data = await eventually(
        stack, TECH, lambda d: d["technology"] and d["technology"]["version"] == 2, code="SEMI-001"
    )
    assert data["technology"] == {
        "code": "SEMI-001",
        "nameEn": "EUV photoresist",
        "nameKo": "Photoresist",
        "kind": "MATERIAL",
        "status": "LISTED",
        "listedOn": "2020-04-01",
        "retiredOn": None,
        "version": 2,
        "industry": {"code": "SEMI", "nameEn": "Semiconductors"},
    }
    await eventually(stack, TECH, lambda d: d["technology"] is not None, code="SEMI-003")

    before = await eventually(stack, LIST, lambda d: True, asOf="2022-10-17")
    after = await eventually(stack, LIST, lambda d: True, asOf="2022-10-18")
    assert [e["node"]["code"] for e in before["technologies"]["edges"]] == ["SEMI-001", "SEMI-002"]
    assert [e["node"]["code"] for e in after["technologies"]["edges"]] == ["SEMI-001", "SEMI-003"]
    assert after["technologies"]["totalCount"] == 2
    assert before["industries"] == [{"code": "SEMI", "technologyCount": 2, "technologyCountThen": 2}]
    retired = await eventually(stack, TECH, lambda d: d["technology"]["status"] == "RETIRED", code="SEMI-002")
    assert retired["technology"]["retiredOn"] == "2022-10-18"

    freshness = await stack.graphql("{ dataAsOf { topic lastEventTime lag } }")
    topics = {f["topic"]: f for f in freshness["data"]["dataAsOf"]}  # type: ignore[index]
    assert {"mpe.catalog.technology", "mpe.catalog.industry"} <= set(topics)
    assert topics["mpe.catalog.technology"]["lastEventTime"] is not None

    # The lag gauge is set after a batch is committed, a moment after the data is visible.
    async with asyncio.timeout(10):
        while True:
            metrics = await ops.scrape(stack.gateway_app)
            if "mpe_consumer_lag{" in metrics:
                break
            await asyncio.sleep(0.1)
    assert 'mpe_consumer_events_applied_total{consumer="gateway-projector"}' in metrics
    ready = (await stack.gateway.get("/readyz")).json()
    assert ready["projection"]["mpe.catalog.technology"]["lag"] == 0
    assert ready["consumers"]["gateway-projector"]["lag"] == 0


async def test_gateway_requires_an_api_key(stack: Stack) -> None:
    r = await stack.gateway.post(
        "/graphql", json={"query": "{ industries { code } }"}, headers={"X-API-Key": ""}
    )
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    r = await stack.gateway.post(
        "/graphql", json={"query": "{ industries { code } }"}, headers={"X-API-Key": "mpe_nope"}
    )
    assert r.status_code == 401


async def test_first_is_capped_at_100(stack: Stack) -> None:
    body = await stack.graphql("{ technologies(first: 101) { totalCount } }")
    assert body["data"] == {"technologies": None}
    assert "between 1 and 100" in body["errors"][0]["message"]  # type: ignore[index]
