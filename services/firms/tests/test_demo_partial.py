"""`make dev`'s demo loader on a firms service that holds part of the demo: it says so."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from mpe_devstack import demo
from mpe_devstack.testing import uvicorn_serving

from .conftest import firm_body, token, valid_brn


@pytest.fixture
async def served(api: httpx.AsyncClient) -> AsyncIterator[str]:
    """The test's firms app on a real port, as the loader talks to it."""
    async with uvicorn_serving(api.app, lifespan="off") as url:  # type: ignore[attr-defined]
        yield url


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
