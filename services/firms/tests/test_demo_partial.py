"""`make dev`'s demo loader on a firms service that holds part of the demo: it says so."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from mpe_devstack import demo
from mpe_devstack.ports import free_port

from .conftest import firm_body, token, valid_brn


@pytest.fixture
async def served(api: httpx.AsyncClient) -> AsyncIterator[str]:
    """The test's firms app on a real port, as the loader talks to it."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(api.app, host="127.0.0.1", port=port, log_config=None, lifespan="off")  # type: ignore[attr-defined]
    )
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_a_demo_stopped_half_way_is_reported_as_partly_loaded(
    api: httpx.AsyncClient, served: str
) -> None:
    # Found by a review: a load stopped by Ctrl-C left 201 of 512 projects, and every later
    # `make dev` said "already loaded" because some existing data was taken for all of it.
    for n in (1, 2):
        r = await api.post("/v1/firms", json=firm_body(valid_brn(f"12345678{n}")))
        assert r.status_code == 201, r.text
    want = len(json.loads(demo.firms_path().read_text(encoding="utf-8"))["firms"])
    said = await asyncio.to_thread(demo.load_firms, served, token("editor"))
    assert said.startswith(f"partly loaded (2 of {want} firms")
    assert "make clean" in said
    r = await api.get("/v1/firms", params={"limit": 200})
    assert len(r.json()["items"]) == 2  # it loaded nothing more
