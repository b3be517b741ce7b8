"""Read-your-writes across services: a REST write's token makes the gateway wait for all of it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from mpe_kit.writes import WRITE_TOKEN_HEADER, decode

from .conftest import Stack
from .test_end_to_end import add

COUNT = '{ technologies(filter: {industry: "SEMI"}) { totalCount } industries { code } }'


async def read_after(stack: Stack, token: str, query: str) -> dict[str, object]:
    r = await stack.gateway.post("/graphql", json={"query": query}, headers={"MPE-Wait-For": token})
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


async def projector_running(stack: Stack) -> None:
    """Wait until the projector has its partitions: a fresh broker takes seconds to get there."""
    async with asyncio.timeout(60):
        while True:
            if (await stack.gateway.get("/readyz")).json()["consumers"].get("gateway-projector"):
                return
            await asyncio.sleep(0.2)


async def test_one_token_covers_every_entity_a_write_changes(stack: Stack) -> None:
    await projector_running(stack)
    r = await stack.catalog.post(
        "/v1/industries", json={"code": "SEMI", "name_en": "Semiconductors", "name_ko": "반도체"}
    )
    assert r.status_code == 201, r.text
    [industry] = decode(r.headers[WRITE_TOKEN_HEADER])
    assert industry.count == 1
    # The first read after the write already sees it: no polling.
    body = await read_after(stack, r.headers[WRITE_TOKEN_HEADER], COUNT)
    assert body["data"] == {"technologies": {"totalCount": 0}, "industries": [{"code": "SEMI"}]}

    draft = await stack.catalog.post(
        "/v1/revisions",
        json={
            "title": "2020 list",
            "decided_on": "2020-04-01",
            "effective_on": "2020-04-01",
            "changes": [add(f"SEMI-{i:03d}", f"Technology {i}") for i in range(1, 41)],
        },
    )
    assert draft.status_code == 201, draft.text
    published = await stack.catalog.post(f"/v1/revisions/{draft.json()['id']}/publish")
    assert published.status_code == 200, published.text
    token = published.headers[WRITE_TOKEN_HEADER]
    # One transaction: 40 technologies listed and the revision itself, in a token this short.
    [write] = decode(token)
    assert write.count == 41
    assert len(token) < 100
    body = await read_after(stack, token, COUNT)
    assert body["data"] == {"technologies": {"totalCount": 40}, "industries": [{"code": "SEMI"}]}


async def test_reads_and_refusals_carry_no_token(stack: Stack) -> None:
    assert WRITE_TOKEN_HEADER not in (await stack.catalog.get("/v1/technologies")).headers
    refused = await stack.catalog.post("/v1/industries", json={"code": "bad code"})
    assert refused.status_code == 422
    assert WRITE_TOKEN_HEADER not in refused.headers


async def test_data_as_of_follows_the_projector_while_kafka_is_up(stack: Stack) -> None:
    await projector_running(stack)
    r = await stack.catalog.post(
        "/v1/industries", json={"code": "DISP", "name_en": "Display", "name_ko": "디스플레이"}
    )
    await read_after(stack, r.headers[WRITE_TOKEN_HEADER], COUNT)
    stamps = []
    async with asyncio.timeout(15):
        while len(stamps) < 2:
            body = await stack.graphql(COUNT)
            stamp = body["extensions"]["dataAsOf"]  # type: ignore[index]
            if stamp is not None and (not stamps or stamp > stamps[-1]):
                stamps.append(stamp)
            await asyncio.sleep(0.3)
    first, second = (datetime.fromisoformat(s) for s in stamps)
    assert first < second <= datetime.now(UTC)
    assert (datetime.now(UTC) - second).total_seconds() < 5


async def test_a_cached_answer_never_hides_a_write_read_with_its_token(stack: Stack) -> None:
    await projector_running(stack)
    query = "{ industries { code } }"
    for code in ("AERO", "BATT", "CHEM"):
        cached = await stack.graphql(query)
        assert await stack.graphql(query) == cached  # now in the response cache
        r = await stack.catalog.post("/v1/industries", json={"code": code, "name_en": code, "name_ko": code})
        assert r.status_code == 201, r.text
        body = await read_after(stack, r.headers[WRITE_TOKEN_HEADER], query)
        assert {"code": code} in body["data"]["industries"]  # type: ignore[index]
