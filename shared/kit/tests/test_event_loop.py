"""A serving process runs on uvloop, as `uvicorn.run` would choose, not on asyncio's own loop."""

from __future__ import annotations

import asyncio

import uvloop

from mpe_kit.service import event_loop


async def _running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def test_the_serving_runner_runs_on_uvloop() -> None:
    with event_loop() as runner:
        loop = runner.run(_running_loop())
        assert isinstance(loop, uvloop.Loop)
        # The runner keeps one loop for everything it runs, as asyncio.run does for one coroutine.
        assert runner.run(_running_loop()) is loop
    assert loop.is_closed()
