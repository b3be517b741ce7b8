"""Request limits of a REST service behind a real HTTP server, served as `firms serve` serves it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import uvicorn
from asgi_lifespan import LifespanManager

from firms.app import create_app
from firms.settings import FirmsSettings
from mpe_devstack.ports import free_port
from mpe_devstack.rawhttp import Answer, exchange
from mpe_kit import bodylimit

from .conftest import firm_body, token, valid_brn

PART = 64 * 1024


@pytest.fixture
async def port(firms_settings: FirmsSettings) -> AsyncIterator[int]:
    assert (firms_settings.max_body_bytes, firms_settings.max_url_bytes) == (1024 * 1024, 8 * 1024)
    app = create_app(firms_settings, with_workers=False)
    p = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=p,
        log_config=None,
        lifespan="off",
        **bodylimit.server_options(firms_settings),
    )
    server = uvicorn.Server(config)
    async with LifespanManager(app):
        task = asyncio.create_task(server.serve())
        try:
            async with asyncio.timeout(10):
                while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
                    await asyncio.sleep(0.02)
            yield p
        finally:
            server.should_exit = True
            await task


def head(method: str, target: str, framing: str = "") -> str:
    return (
        f"{method} {target} HTTP/1.1\r\nHost: firms\r\nAuthorization: Bearer {token('editor')}\r\n"
        f"Content-Type: application/json\r\n{framing}\r\n"
    )


def problem(answer: Answer, status: int) -> dict[str, object]:
    assert answer.status == status, answer.body[:300]
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = answer.json()
    assert body["status"] == status
    return body


async def test_a_30_mb_body_is_refused_with_413_without_being_read(port: int) -> None:
    payload = json.dumps(firm_body(valid_brn("123456789"), region="x" * 30_000_000)).encode()
    parts = [payload[i : i + PART] for i in range(0, len(payload), PART)]
    declared = await exchange(port, head("POST", "/v1/firms", f"Content-Length: {len(payload)}\r\n"), parts)
    assert problem(declared, 413)["limit"] == 1024 * 1024
    assert declared.sent < len(payload) // 2
    chunks = [f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts] + [b"0\r\n\r\n"]
    counted = await exchange(port, head("POST", "/v1/firms", "Transfer-Encoding: chunked\r\n"), chunks)
    problem(counted, 413)
    # Counted while reading: what the kernel buffers aside, the rest was never sent.
    assert counted.sent < len(payload) // 2
    # Within the limit, the same route works.
    small = json.dumps(firm_body(valid_brn("123456789"))).encode()
    created = await exchange(port, head("POST", "/v1/firms", f"Content-Length: {len(small)}\r\n"), [small])
    assert created.status == 201, created.body


@pytest.mark.parametrize("length", [9 * 1024, 100_000, 900_000])
async def test_a_long_url_is_a_414_problem_not_a_plain_400(port: int, length: int) -> None:
    answer = await exchange(port, head("GET", "/v1/firms?q=" + "a" * length))
    body = problem(answer, 414)
    assert body["limit"] == 8 * 1024


async def test_a_url_within_the_limit_is_served(port: int) -> None:
    answer = await exchange(port, head("GET", "/v1/firms?region=" + "a" * 7000))
    assert answer.status == 200, answer.body[:300]
