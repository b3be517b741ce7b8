"""The faults, one kind at a time, each with its injection and recovery times."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from dataclasses import dataclass, field

import asyncpg

from mpe_devstack.chaos.common import PAUSE_S, WRITE_SERVICES, _say
from mpe_devstack.chaos.stack import Proc, Stack, _socket_ports
from mpe_devstack.kafka import KafkaCluster
from mpe_kit.relay import lock_key

# -- the faults -------------------------------------------------------------------------------


@dataclass
class Fault:
    """One injected fault."""

    kind: str
    target: str
    at: float
    recovered: float = 0.0
    # Wall-clock seconds of the same two moments, to set against timestamps in the databases.
    wall_at: float = field(default_factory=time.time)
    wall_recovered: float = 0.0


async def _leader_of_busiest(kafka: KafkaCluster) -> int:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        described = await admin.describe_topics(["mpe.budget.project", "mpe.catalog.technology"])
    finally:
        await admin.close()
    leaders = [p["leader"] for t in described for p in t["partitions"] if p["leader"] >= 0]
    # The broker leading most partitions of the two busiest topics: its loss moves the most leaders.
    return max(set(leaders), key=leaders.count) if leaders else 1


def _relay_leader(stack: Stack, service: str) -> Proc | None:
    """The worker process holding the service's relay leadership (its advisory lock)."""

    async def backend_port() -> int | None:
        conn = await asyncpg.connect(stack.pg.dsn(service))
        try:
            port = await conn.fetchval(
                "select a.client_port from pg_locks l join pg_stat_activity a on a.pid = l.pid"
                " where l.locktype = 'advisory' and l.granted and l.objid = $1",
                lock_key(service),
            )
            return int(port) if port is not None else None
        finally:
            await conn.close()

    port = asyncio.run(backend_port())
    for i in (1, 2):
        proc = stack.proc(f"{service}-worker-{i}")
        if port is not None and proc.pid is not None and port in _socket_ports(proc.pid):
            return proc
    return None


def inject(stack: Stack, kind: str, rng: random.Random) -> Fault:
    """Inject one fault and recover from it; return what was done."""
    now = time.monotonic()
    if kind == "kill-leader":
        node = asyncio.run(_leader_of_busiest(stack.kafka))
        fault = Fault(kind, f"broker {node}", now)
        stack.last_leader_killed = node
        stack.kafka.kill_node(node)
        time.sleep(8)
        stack.kafka.start_node(node, timeout=180)
    elif kind == "sigterm-broker":
        node = rng.choice([n for n in stack.kafka.node_ids if n != stack.last_leader_killed])
        fault = Fault(kind, f"broker {node}", now)
        stack.kafka.stop_node(node)
        time.sleep(5)
        stack.kafka.start_node(node, timeout=180)
    elif kind == "kill-relay":
        service = rng.choice(WRITE_SERVICES)
        leader = _relay_leader(stack, service)
        proc = leader or stack.proc(f"{service}-worker-{rng.choice((1, 2))}")
        fault = Fault(kind, f"{proc.name} ({'the relay leader' if leader else 'leader not found'})", now)
        proc.kill(signal.SIGKILL)
        time.sleep(2)
        proc.start()
    elif kind == "kill-projector":
        proc = stack.proc("gateway-projector")
        fault = Fault(kind, proc.name, now)
        proc.kill(signal.SIGKILL)
        time.sleep(2)
        proc.start()
    elif kind == "restart-postgres":
        fault = Fault(kind, "the shared Postgres", now)
        stack.pg.stop()
        time.sleep(3)
        stack.pg.start()
    elif kind == "pause-broker":
        node = rng.choice(stack.kafka.node_ids)
        fault = Fault(kind, f"broker {node}", now)
        stack.paused.add(node)
        stack.kafka.pause_node(node)
        time.sleep(PAUSE_S)
        stack.kafka.resume_node(node)
        stack.paused.discard(node)
    else:
        raise ValueError(kind)
    fault.recovered = time.monotonic()
    fault.wall_recovered = time.time()
    _say(f"fault {kind} on {fault.target}: recovered in {fault.recovered - fault.at:.1f}s")
    return fault
