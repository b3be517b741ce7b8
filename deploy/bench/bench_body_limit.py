"""Benchmark (not a test): a small query's latency while 30 MB bodies are sent to the gateway.

    uv run --frozen python deploy/bench/bench_body_limit.py [--max-body-bytes N] [--seconds S]

Starts a throwaway Postgres and the gateway as its own process (`gateway api`, as deployed),
creates a key, then measures `{ __typename }` at 20 requests/s: first alone, then while two
clients keep posting a 30 MB GraphQL document (a comment) with that key. With the default
limit the big bodies are refused with 413 on their Content-Length; run it again with
`--max-body-bytes 40000000` to see what the gateway did before there was a limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from mpe_devstack.ports import free_port
from mpe_devstack.postgres import PostgresServer
from mpe_devstack.rawhttp import exchange

RATE = 20
BIG = 30_000_000
PART = 256 * 1024


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


async def small_queries(url: str, key: str, seconds: float) -> list[float]:
    """Latencies (ms) of `{ __typename }` sent open-loop at RATE per second."""
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, timeout=60) as client:

        async def one() -> None:
            start = time.perf_counter()
            r = await client.post("/graphql", json={"query": "{ __typename }"})
            assert r.status_code == 200, r.text
            latencies.append((time.perf_counter() - start) * 1000)

        tasks = []
        began = time.perf_counter()
        for i in range(int(seconds * RATE)):
            tasks.append(asyncio.create_task(one()))
            await asyncio.sleep(max(0.0, (i + 1) / RATE - (time.perf_counter() - began)))
        await asyncio.gather(*tasks)
    return latencies


async def big_bodies(port: int, key: str, stop: asyncio.Event, answers: list[int]) -> None:
    """Post 30 MB documents one after another until `stop`."""
    payload = json.dumps({"query": "{ __typename " + "#" * BIG + "\n}"}).encode()
    parts = [payload[i : i + PART] for i in range(0, len(payload), PART)]
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: gateway\r\nX-API-Key: {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    while not stop.is_set():
        answer = await exchange(port, head, parts, timeout_s=120)
        answers.append(answer.status)


def summary(name: str, ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=100)
    return f"{name}: n={len(ms)} p50={q[49]:.1f} ms p99={q[98]:.1f} ms max={max(ms):.1f} ms"


async def measure(url: str, port: int, key: str, seconds: float) -> None:
    await small_queries(url, key, 2)  # warm up: connections, the key lookup, the document cache
    alone = await small_queries(url, key, seconds)
    print(summary("small query alone", alone), flush=True)
    stop = asyncio.Event()
    answers: list[int] = []
    senders = [asyncio.create_task(big_bodies(port, key, stop, answers)) for _ in range(2)]
    await asyncio.sleep(0.5)
    loaded = await small_queries(url, key, seconds)
    stop.set()
    await asyncio.gather(*senders)
    print(summary("small query while 30 MB bodies are sent", loaded), flush=True)
    print(f"30 MB bodies sent: {len(answers)}, answered {sorted(set(answers))}", flush=True)


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--max-body-bytes", type=int, default=None, help="GATEWAY_MAX_BODY_BYTES (default: its own)"
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="Length of each phase.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mpe-bench-body-") as tmp:
        Path(tmp).chmod(0o755)
        pg = PostgresServer(Path(tmp) / "pg", port=free_port(), settings={"fsync": "off"})
        pg.start()
        gateway = None
        try:
            pg.create_database("gateway")
            port = free_port()
            env = {
                **os.environ,
                "GATEWAY_DATABASE_URL": pg.dsn("gateway"),
                "GATEWAY_PORT": str(port),
                "GATEWAY_KAFKA_BOOTSTRAP": "127.0.0.1:1",
                "GATEWAY_RATE_LIMIT_PER_S": "0",
                "GATEWAY_LOG_LEVEL": "WARNING",
            }
            if args.max_body_bytes is not None:
                env["GATEWAY_MAX_BODY_BYTES"] = str(args.max_body_bytes)
            subprocess.run([_bin("gateway"), "migrate"], env=env, check=True, capture_output=True)
            created = subprocess.run(
                [
                    _bin("gateway"),
                    "keys",
                    "create",
                    "--agency",
                    "bench",
                    "--scopes",
                    "catalog:read",
                    "--json",
                ],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            key = json.loads(created.stdout)["key"]
            gateway = subprocess.Popen([_bin("gateway"), "api"], env=env)
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the gateway did not start")
                time.sleep(0.2)
            asyncio.run(measure(url, port, key, args.seconds))
        finally:
            if gateway is not None:
                gateway.terminate()
                gateway.wait(15)
            pg.stop()


if __name__ == "__main__":
    main()
