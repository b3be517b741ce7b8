"""The soak's writers and probes against a small in-process HTTP server: what they record and retry."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from mpe_devstack.ports import free_port

sys.path.insert(0, str(Path(__file__).parent))  # deploy/soak is no package: its modules by name

import soak_load

# What the probe's server answers, in turn (each answer can be sent once).
GRAPHQL_ANSWERS: list[web.Response] = []
SEEN_WAIT_HEADERS: list[str | None] = []


async def _firms(request: web.Request) -> web.Response:
    body = await request.json()
    if body["brn"] == "taken":
        # As the services write it: UTF-8, not \u escapes.
        problem = {"title": "Conflict", "status": 409, "detail": "이미 등록된 사업자등록번호입니다"}
        return web.Response(
            text=json.dumps(problem, ensure_ascii=False), status=409, content_type="application/problem+json"
        )
    return web.json_response({"id": "d-1", **body}, status=201, headers={"MPE-Write-Token": "tok"})


async def _graphql(request: web.Request) -> web.Response:
    await request.json()
    SEEN_WAIT_HEADERS.append(request.headers.get("mpe-wait-for"))
    return GRAPHQL_ANSWERS.pop(0)


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/v1/firms", _firms)
    app.router.add_post("/graphql", _graphql)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    yield str(test_server.make_url("")).rstrip("/")
    await test_server.close()


def _load_for(url: str) -> soak_load.Load:
    return soak_load.Load(
        urls={"firms": url},
        gateway_url=url,
        gateway_dsn="",
        token="t",  # noqa: S106 - nothing checks it here
        key="k",
        writes_per_s=1000,
        probe_every=1,
        t0=time.monotonic(),
    )


async def test_a_write_answered_2xx_is_recorded_and_its_answer_read(server: str) -> None:
    load = _load_for(server)
    async with aiohttp.ClientSession(server) as client:
        r = await load._post(client, soak_load.Pacer(1000), "firms", "firm", "/v1/firms", {"brn": "1"})
    assert r is not None
    assert r.json()["id"] == "d-1"
    assert r.headers.get("mpe-write-token") == "tok"  # header names in any case
    [record] = load.writes
    assert (record.service, record.what, record.status) == ("firms", "firm", 201)
    assert record.ms > 0
    assert load.failures == {}


async def test_a_refused_write_keeps_the_services_words(server: str) -> None:
    load = _load_for(server)
    async with aiohttp.ClientSession(server) as client:
        r = await load._post(client, soak_load.Pacer(1000), "firms", "firm", "/v1/firms", {"brn": "taken"})
    assert r is None
    assert [w.status for w in load.writes] == [409]
    [text] = load.failures["firms firm: 409"]
    assert "이미 등록된 사업자등록번호입니다" in text


async def test_a_write_with_no_answer_is_recorded_without_a_status() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    load = _load_for(url)
    async with aiohttp.ClientSession(url) as client:
        r = await load._post(client, soak_load.Pacer(1000), "firms", "firm", "/v1/firms", {"brn": "1"})
    assert r is None
    [record] = load.writes
    assert record.status is None


async def test_a_probe_waits_out_a_busy_gateway_and_a_write_not_yet_visible(server: str) -> None:
    SEEN_WAIT_HEADERS.clear()
    GRAPHQL_ANSWERS[:] = [
        web.json_response({"title": "busy"}, status=503, headers={"Retry-After": "0"}),
        web.json_response({"data": None, "errors": [{"extensions": {"code": "WRITE_NOT_YET_VISIBLE"}}]}),
        web.json_response({"data": {"firm": {"brn": "1"}}}),
    ]
    load = _load_for(server)
    async with aiohttp.ClientSession(server) as gateway:
        ms, detail = await load._answered(gateway, "firms", "tok", "1", time.monotonic())
    assert ms is not None
    assert detail == ""
    assert load.busy_answers == 1
    assert SEEN_WAIT_HEADERS == ["tok", "tok", "tok"]


async def test_a_probe_stops_at_an_error_that_is_not_a_delay(server: str) -> None:
    GRAPHQL_ANSWERS[:] = [
        web.json_response({"data": None, "errors": [{"extensions": {"code": "NOT_FOUND"}}]})
    ]
    load = _load_for(server)
    async with aiohttp.ClientSession(server) as gateway:
        ms, detail = await load._answered(gateway, "firms", "tok", "1", time.monotonic())
    assert ms is None
    assert detail == "HTTP 200, ['NOT_FOUND']"
