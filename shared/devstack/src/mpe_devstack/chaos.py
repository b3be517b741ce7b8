"""`make chaos`: the whole system on a three-broker cluster, under steady writes and scheduled faults.

Starts one Postgres (a database per service), a three-node KRaft cluster (replication 3,
min.insync.replicas 2), each write service as one API process plus two worker processes (two
relay instances: one leader, one standby), and the gateway as an API process plus a projector
process. Three writer threads post through the REST APIs; a fault thread injects faults in
turn; at the end the verdict compares every database and prints a table. Every process it
started is stopped on the way out, whatever happened.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

import asyncpg
import httpx

from mpe_devstack import demo
from mpe_devstack.kafka import KafkaCluster
from mpe_devstack.ports import free_port, free_port_range, wait_for_port_closed
from mpe_devstack.postgres import PostgresServer
from mpe_events import brn
from mpe_events.topics import TOPICS
from mpe_kit.auth import issue_token
from mpe_kit.relay import lock_key

WRITE_SERVICES = ("catalog", "firms", "budget")
FAULTS = ("kill-leader", "sigterm-broker", "kill-relay", "kill-projector", "restart-postgres", "pause-broker")
# aiokafka's default consumer session timeout is 10 s; the pause must outlast it.
PAUSE_S = 15.0
# Between one fault's recovery and the next fault: long enough to see the system settle.
FAULT_GAP_S = 6.0
# Columns that only say when a row was written in that database: they differ by design.
_LOCAL_COLUMNS = frozenset({"updated_at", "created_at"})
# (read-model table, source service, source table, key column)
COMPARED = (
    ("industries", "catalog", "industries", "code"),
    ("technologies", "catalog", "technologies", "code"),
    ("revisions", "catalog", "revisions", "id"),
    ("firms", "firms", "firms", "brn"),
    ("designations", "firms", "designations", "id"),
    ("fiscal_years", "budget", "fiscal_years", "year"),
    ("programs", "budget", "programs", "code"),
    ("projects", "budget", "projects", "code"),
)


def _say(msg: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


# -- processes --------------------------------------------------------------------------------


@dataclass
class Proc:
    """One service process (`<service> api|worker`) the harness owns and may kill and restart."""

    name: str
    service: str
    command: str
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it in its own process group, appending to its log."""
        handle: BinaryIO
        with self.log.open("ab") as handle:
            self.popen = subprocess.Popen(
                [_bin(self.service), self.command],
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int | None:
        """The pid while it runs."""
        if self.popen is None or self.popen.poll() is not None:
            return None
        return self.popen.pid

    def kill(self, sig: signal.Signals = signal.SIGKILL, timeout: float = 15) -> None:
        """Signal its group and wait for it; SIGKILL if a gentler signal is not enough."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)


def _socket_ports(pid: int) -> set[int]:
    """The local TCP ports of the sockets process pid holds (from /proc, no extra dependency)."""
    inodes: set[str] = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if len(cols) > 9 and cols[9] in inodes:
                    ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


# -- the stack --------------------------------------------------------------------------------


class Stack:
    """Postgres, three brokers and every service process; stop() ends all of them."""

    def __init__(self, home: Path, *, first_port: int | None = None) -> None:
        self.home = home
        self.logs = home / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        # Either eleven consecutive ports from first_port (a port block of one's own), or free ones.
        block = iter(range(first_port, first_port + 5)) if first_port else None
        self.pg = PostgresServer(
            home / "pg",
            port=next(block) if block else free_port(),
            settings={"max_connections": "300", "fsync": "off", "full_page_writes": "off"},
        )
        kafka_base = first_port + 5 if first_port else free_port_range(6)
        self.kafka = KafkaCluster(home / "kafka", nodes=3, base_port=kafka_base, heap="384m")
        self.secret = uuid.uuid4().hex
        self.ports = {name: next(block) if block else free_port() for name in (*WRITE_SERVICES, "gateway")}
        self.procs: list[Proc] = []
        self.paused: set[int] = set()
        self.last_leader_killed = 0
        self.token = issue_token(self.secret, sub="chaos-staff", roles=["editor"], ttl_s=24 * 3600)

    def url(self, service: str) -> str:
        """Where a service's API answers."""
        return f"http://127.0.0.1:{self.ports[service]}"

    def env(self, service: str) -> dict[str, str]:
        """A service's environment, as mpe-dev sets it, with topics replicated three times."""
        prefix = service.upper()
        env = {
            f"{prefix}_KAFKA_BOOTSTRAP": self.kafka.bootstrap,
            f"{prefix}_JWT_SECRET": self.secret,
            f"{prefix}_HOST": "127.0.0.1",
            f"{prefix}_PORT": str(self.ports[service]),
            f"{prefix}_DATABASE_URL": self.pg.dsn(service),
            f"{prefix}_TOPIC_REPLICATION": "3",
            f"{prefix}_LOG_JSON": "true",
        }
        if service in ("firms", "budget"):
            env[f"{prefix}_CATALOG_URL"] = self.url("catalog")
            env[f"{prefix}_SERVICE_TOKEN"] = issue_token(
                self.secret, sub=f"svc-{service}", roles=["viewer"], ttl_s=24 * 3600
            )
        if service == "budget":
            env["BUDGET_FIRMS_URL"] = self.url("firms")
        if service == "gateway":
            env["GATEWAY_RATE_LIMIT_PER_S"] = "0"
        return env

    def start(self) -> None:
        """Start the servers, migrate, start every process and wait until the APIs are ready."""
        _say(f"starting Postgres on {self.pg.port} and three brokers at {self.kafka.bootstrap}")
        self.pg.start()
        services = [*WRITE_SERVICES, "gateway"]
        for svc in services:
            self.pg.create_database(svc)
        for svc in services:
            subprocess.run(
                [_bin(svc), "migrate"],
                env={**os.environ, **self.env(svc)},
                check=True,
                capture_output=True,
            )
        self.kafka.start(timeout=180)
        for svc in services:
            self.procs.append(Proc(f"{svc}-api", svc, "api", self.env(svc), self.logs / f"{svc}-api.log"))
        for svc in WRITE_SERVICES:
            for i in (1, 2):
                name = f"{svc}-worker-{i}"
                self.procs.append(Proc(name, svc, "worker", self.env(svc), self.logs / f"{name}.log"))
        self.procs.append(
            Proc(
                "gateway-projector",
                "gateway",
                "worker",
                self.env("gateway"),
                self.logs / "gateway-projector.log",
            )
        )
        for proc in self.procs:
            proc.start()
        for svc in services:
            self.wait_ready(svc)

    def wait_ready(self, service: str, timeout: float = 120) -> None:
        """Block until a service's API answers /readyz with 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url(service)}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"{service} not ready after {timeout:g}s; see {self.logs}")

    def proc(self, name: str) -> Proc:
        """The process called name."""
        return next(p for p in self.procs if p.name == name)

    def supervise(self) -> None:
        """Restart a service process that died, as a process manager would."""
        for proc in self.procs:
            if proc.popen is not None and proc.popen.poll() is not None:
                _say(f"{proc.name} exited with {proc.popen.returncode}: restarting it")
                proc.start()

    def stop(self) -> None:
        """Stop everything this stack started: services first, then the brokers, then Postgres."""
        for node_id in list(self.paused):
            self.kafka.resume_node(node_id)
        for proc in self.procs:
            with contextlib.suppress(Exception):
                proc.kill(signal.SIGTERM, timeout=15)
        for svc in ("gateway", *WRITE_SERVICES):
            with contextlib.suppress(TimeoutError):
                wait_for_port_closed("127.0.0.1", self.ports[svc], timeout=5)
        with contextlib.suppress(Exception):
            self.kafka.stop(timeout=20)
        with contextlib.suppress(Exception):
            self.pg.stop()


# -- the writers ------------------------------------------------------------------------------


@dataclass
class Write:
    """One REST write and its answer (status None: no answer, e.g. a timeout)."""

    service: str
    what: str
    key: str
    status: int | None


@dataclass
class Ledger:
    """Every write the writers made, shared between threads."""

    writes: list[Write] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, service: str, what: str, key: str, status: int | None) -> bool:
        """Note one write; True if it was answered 2xx."""
        with self.lock:
            self.writes.append(Write(service, what, key, status))
        return status is not None and 200 <= status < 300


def _post(
    client: httpx.Client,
    ledger: Ledger,
    service: str,
    what: str,
    path: str,
    body: Any,
    key: str | None,
    **kw: Any,
) -> httpx.Response | None:
    """POST and record the answer; the key None means the id the service answers with."""
    try:
        r = client.post(path, json=body, **kw)
    except httpx.HTTPError:
        ledger.record(service, what, key or "", None)
        return None
    ok = 200 <= r.status_code < 300
    if key is None:
        key = str(r.json()["id"]) if ok else ""
    ledger.record(service, what, key, r.status_code)
    return r if ok else None


TODAY = date.today()
CHAOS_INDUSTRY = "CHX"
FISCAL_YEAR = 2026
PROGRAM = "CX26-RND"


def seed(stack: Stack) -> None:
    """What the writers build on: the demo catalog, the chaos industry, a fiscal year and a program."""
    demo.load(stack.url("catalog"), stack.token, log=_say)
    auth = {"Authorization": f"Bearer {stack.token}"}
    with httpx.Client(headers=auth, timeout=30) as client:
        r = client.post(
            f"{stack.url('catalog')}/v1/industries",
            json={"code": CHAOS_INDUSTRY, "name_en": "Chaos", "name_ko": "카오스"},
        )
        if r.status_code not in (201, 409):
            raise RuntimeError(f"chaos industry: {r.status_code} {r.text}")
        r = client.put(f"{stack.url('budget')}/v1/fiscal-years/{FISCAL_YEAR}", json={"envelope_krw": 10**15})
        r.raise_for_status()
        program = {
            "code": PROGRAM,
            "fiscal_year": FISCAL_YEAR,
            "name_en": "Chaos R&D",
            "name_ko": "카오스 연구개발",
            "kind": "rnd",
            "track": None,
            "budget_krw": 10**14,
        }
        r = client.post(f"{stack.url('budget')}/v1/programs", json=program)
        if r.status_code not in (201, 409):
            raise RuntimeError(f"program: {r.status_code} {r.text}")


def _catalog_round(client: httpx.Client, ledger: Ledger, n: int) -> None:
    code = f"{CHAOS_INDUSTRY}-{n:05d}"
    revision = {
        "title": f"chaos revision {n}",
        "decided_on": TODAY.isoformat(),
        "effective_on": TODAY.isoformat(),
        "changes": [
            {
                "op": "add",
                "technology": {
                    "code": code,
                    "industry_code": CHAOS_INDUSTRY,
                    "kind": "part",
                    "name_en": f"Chaos part {n}",
                    "name_ko": f"카오스 부품 {n}",
                    "description": "Written by the chaos run.",
                },
            }
        ],
    }
    r = _post(client, ledger, "catalog", "revision", "/v1/revisions", revision, None)
    if r is None:
        return
    rid = str(r.json()["id"])
    _post(client, ledger, "catalog", "publish", f"/v1/revisions/{rid}/publish", None, rid)


def _firm_number(n: int) -> str:
    first_nine = f"9{n:08d}"
    return first_nine + str(brn.check_digit(first_nine))


def _firms_round(client: httpx.Client, ledger: Ledger, n: int) -> None:
    number = _firm_number(n)
    firm = {
        "brn": number,
        "name_en": f"Chaos Firm {n}",
        "name_ko": f"카오스 {n}",
        "size": "sme",
        "size_since": "2020-01-01",
        "region": "서울",
        "mpe_sales_ratio": 0.5,
        "technology_codes": ["SEMI-001"],
    }
    if _post(client, ledger, "firms", "firm", "/v1/firms", firm, number) is None:
        return
    application = {"kind": "specialized", "technology_codes": ["SEMI-001"], "effective_on": TODAY.isoformat()}
    r = _post(client, ledger, "firms", "designation", f"/v1/firms/{number}/designations", application, None)
    if r is None:
        return
    did = str(r.json()["id"])
    step = {"to": "under_review", "reason": None, "effective_on": TODAY.isoformat()}
    _post(client, ledger, "firms", "transition", f"/v1/designations/{did}/transitions", step, did)


def _budget_round(client: httpx.Client, ledger: Ledger, n: int) -> None:
    code = f"{PROGRAM}-{n:05d}"
    project = {
        "code": code,
        "program_code": PROGRAM,
        "title": f"카오스 과제 {n} (chaos project {n})",
        "kind": "new",
        "continues": None,
        "technology_codes": ["SEMI-001"],
        "lead_firm_brn": None,
        "government_krw": 1_000_000_000,
        "private_cash_krw": 100_000_000,
        "private_in_kind_krw": 100_000_000,
        "start_on": f"{FISCAL_YEAR}-04-01",
        "end_on": f"{FISCAL_YEAR + 2}-12-31",
    }
    if _post(client, ledger, "budget", "project", "/v1/projects", project, code) is None:
        return
    for to in ("selected", "agreement_signed", "active"):
        body = {"to": to, "reason": f"chaos {to}"}
        if (
            _post(client, ledger, "budget", "transition", f"/v1/projects/{code}/transitions", body, code)
            is None
        ):
            return
    for i in (1, 2):
        key = f"chaos-{code}-{i}"
        payment = {"amount_krw": 10_000_000 * i, "paid_on": f"{FISCAL_YEAR}-0{4 + i}-01"}
        _post(
            client,
            ledger,
            "budget",
            "payment",
            f"/v1/projects/{code}/disbursements",
            payment,
            key,
            headers={"Idempotency-Key": key},
        )


ROUNDS: dict[str, Callable[[httpx.Client, Ledger, int], None]] = {
    "catalog": _catalog_round,
    "firms": _firms_round,
    "budget": _budget_round,
}


def writer(stack: Stack, service: str, ledger: Ledger, stop: threading.Event, per_minute: float) -> None:
    """Post rounds of writes to one service at about per_minute writes a minute until stop."""
    auth = {"Authorization": f"Bearer {stack.token}"}
    n = 0
    with httpx.Client(base_url=stack.url(service), headers=auth, timeout=10) as client:
        while not stop.is_set():
            t0 = time.monotonic()
            before = len(ledger.writes)
            n += 1
            ROUNDS[service](client, ledger, n)
            made = max(1, len(ledger.writes) - before)
            stop.wait(max(0.0, made * 60.0 / per_minute - (time.monotonic() - t0)))


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


# -- the verdict ------------------------------------------------------------------------------


@dataclass
class Verdict:
    """What the checks found; ok when every list is empty."""

    events: int = 0
    # Messages on the topics: more than events means re-sends, which the inboxes absorbed.
    messages: int = 0
    missing_writes: list[str] = field(default_factory=list)
    unsent: list[str] = field(default_factory=list)
    missing_events: list[str] = field(default_factory=list)
    mismatched_rows: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    seq_gaps: list[str] = field(default_factory=list)
    # The gaps with a projector kill or a Postgres restart between their neighbours' commits.
    explained_gaps: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        """Writes, events or rows that did not arrive where they should."""
        return (
            len(self.missing_writes) + len(self.unsent) + len(self.missing_events) + len(self.mismatched_rows)
        )

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing twice, no gap."""
        return not (self.lost or self.duplicates or self.seq_gaps)


_WRITE_CHECKS = {
    ("catalog", "revision"): "select 1 from revisions where id = $1::uuid",
    ("catalog", "publish"): "select 1 from revisions where id = $1::uuid and status = 'published'",
    ("firms", "firm"): "select 1 from firms where brn = $1",
    ("firms", "designation"): "select 1 from designations where id = $1::uuid",
    ("firms", "transition"): "select 1 from designations where id = $1::uuid and status = 'under_review'",
    ("budget", "project"): "select 1 from projects where code = $1",
    ("budget", "transition"): "select 1 from projects where code = $1 and status <> 'proposed'",
    ("budget", "payment"): "select 1 from idempotency_keys where key = $1 and state = 'done'",
}


def _norm(value: Any) -> Any:
    """A value in a form both databases agree on when they mean the same thing."""
    # jsonb comes back as text on a plain connection: compare it decoded.
    if isinstance(value, str) and value[:1] in "[{":
        with contextlib.suppress(ValueError):
            return _norm(json.loads(value))
    # A timestamp inside jsonb is text, and each side may spell UTC differently (Z or +00:00).
    if isinstance(value, str) and len(value) >= 20 and value[4:5] == "-" and value[10:11] == "T":
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    return value


async def _rows(
    conn: asyncpg.Connection, table: str, columns: list[str], key: str
) -> dict[str, dict[str, Any]]:
    cols = ", ".join(columns)
    rows = await conn.fetch(f"select {cols} from {table}")
    return {str(r[key]): {c: _norm(r[c]) for c in columns} for r in rows}


async def _columns(conn: asyncpg.Connection, table: str) -> list[str]:
    rows = await conn.fetch(
        "select column_name from information_schema.columns where table_schema = 'public' and table_name = $1",
        table,
    )
    return [r["column_name"] for r in rows]


async def _messages(bootstrap: str) -> int:
    """How many messages the service topics hold, all partitions together."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        described = await admin.describe_topics([t for t in TOPICS if t in existing])
    finally:
        await admin.close()
    partitions = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        return sum(ends[tp] - starts[tp] for tp in partitions)
    finally:
        await consumer.stop()


_ABORTS_A_BATCH = frozenset({"kill-projector", "restart-postgres"})


async def judge(stack: Stack, writes: list[Write], faults: list[Fault]) -> Verdict:
    """Check every promise against the databases, as they are now."""
    v = Verdict(messages=await _messages(stack.kafka.bootstrap))
    conns = {svc: await asyncpg.connect(stack.pg.dsn(svc)) for svc in (*WRITE_SERVICES, "gateway")}
    try:
        for w in writes:
            if w.status is None or not 200 <= w.status < 300:
                continue
            sql = _WRITE_CHECKS[(w.service, w.what)]
            if await conns[w.service].fetchval(sql, w.key) is None:
                v.missing_writes.append(f"{w.service} {w.what} {w.key}")
        gateway = conns["gateway"]
        inbox = {str(r["event_id"]) for r in await gateway.fetch("select event_id from inbox")}
        for svc in WRITE_SERVICES:
            for r in await conns[svc].fetch("select id, topic, published_at from outbox"):
                v.events += 1
                if r["published_at"] is None:
                    v.unsent.append(f"{svc} outbox {r['id']} ({r['topic']})")
                if str(r["id"]) not in inbox and r["topic"] in TOPICS:
                    v.missing_events.append(f"{svc} event {r['id']} ({r['topic']})")
        for rm_table, svc, src_table, key in COMPARED:
            rm_cols = set(await _columns(gateway, rm_table))
            src_cols = set(await _columns(conns[svc], src_table))
            shared = sorted((rm_cols & src_cols) - _LOCAL_COLUMNS)
            read_model = await _rows(gateway, rm_table, shared, key)
            source = await _rows(conns[svc], src_table, shared, key)
            for k in sorted(set(read_model) | set(source)):
                mine, theirs = read_model.get(k), source.get(k)
                if mine is None or theirs is None:
                    where = "read model" if mine is None else "source"
                    v.mismatched_rows.append(f"{rm_table} {k}: missing from the {where}")
                elif mine != theirs:
                    diff = {c: (mine[c], theirs[c]) for c in shared if mine[c] != theirs[c]}
                    v.mismatched_rows.append(f"{rm_table} {k}: (read model, source) {diff}")
        twice = await gateway.fetch(
            "select entity_type, entity_key, version, count(*) as n from changes"
            " group by 1, 2, 3 having count(*) > 1"
        )
        v.duplicates += [
            f"change {r['entity_type']} {r['entity_key']} v{r['version']} x{r['n']}" for r in twice
        ]
        paid_twice = await conns["budget"].fetch(
            "select project_code, paid_on, amount_krw, count(*) as n from disbursements"
            " group by 1, 2, 3 having count(*) > 1"
        )
        v.duplicates += [f"disbursement {r['project_code']} {r['paid_on']} x{r['n']}" for r in paid_twice]
        first = await gateway.fetchval("select min(seq) from changes")
        if first is not None and first != 1:
            v.seq_gaps.append(f"feed starts at seq {first}")
        gaps = await gateway.fetch(
            "select c.seq + 1 as missing, extract(epoch from c.applied_at)::float8 as before,"
            " (select extract(epoch from n.applied_at)::float8 from changes n where n.seq > c.seq"
            "  order by n.seq limit 1) as after"
            " from changes c where c.seq < (select max(seq) from changes)"
            " and not exists (select 1 from changes n where n.seq = c.seq + 1) order by 1"
        )
        for r in gaps:
            gap = f"seq {r['missing']} missing"
            # A batch that dies before its commit has drawn seq values from the identity, which a
            # rollback does not return: such a gap hides no change, but breaks the promise.
            cause = [
                f
                for f in faults
                if f.kind in _ABORTS_A_BATCH and r["before"] <= f.wall_recovered and f.wall_at <= r["after"]
            ]
            if cause:
                gap += f" (a batch rolled back by {cause[0].kind} at {time.strftime('%H:%M:%S', time.gmtime(cause[0].wall_at))} UTC)"
                v.explained_gaps.append(gap)
            v.seq_gaps.append(gap)
    finally:
        for conn in conns.values():
            await conn.close()
    return v


async def _outbox_ids(stack: Stack) -> set[str]:
    ids: set[str] = set()
    for svc in WRITE_SERVICES:
        conn = await asyncpg.connect(stack.pg.dsn(svc))
        try:
            ids |= {str(r["id"]) for r in await conn.fetch("select id from outbox")}
        finally:
            await conn.close()
    return ids


async def _caught_up(stack: Stack, ids: set[str] | None) -> bool:
    """Whether the gateway's inbox holds these event ids (None: every outbox event, all sent)."""
    if ids is None:
        for svc in WRITE_SERVICES:
            conn = await asyncpg.connect(stack.pg.dsn(svc))
            try:
                if await conn.fetchval("select count(*) from outbox where published_at is null"):
                    return False
            finally:
                await conn.close()
        ids = await _outbox_ids(stack)
    conn = await asyncpg.connect(stack.pg.dsn("gateway"))
    try:
        inbox = {str(r["event_id"]) for r in await conn.fetch("select event_id from inbox")}
    finally:
        await conn.close()
    return ids <= inbox


def wait_caught_up(stack: Stack, timeout: float, ids: set[str] | None = None) -> float | None:
    """Seconds until the gateway's inbox holds ids (default: every outbox event, all sent); None on timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        stack.supervise()
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            if asyncio.run(_caught_up(stack, ids)):
                return time.monotonic() - t0
        time.sleep(0.5)
    return None


# -- the run ----------------------------------------------------------------------------------


@dataclass
class Result:
    """A run's outcome: the faults, the writes, the verdict and the catch-up time."""

    faults: list[Fault]
    writes: list[Write]
    verdict: Verdict
    catch_up_s: float | None
    # Seconds from the writers' stop until every outbox event was in the gateway's inbox.
    drain_s: float | None = None

    def table(self) -> str:
        """The short table the run prints."""
        answered = sum(1 for w in self.writes if w.status is not None and 200 <= w.status < 300)
        kinds = ", ".join(f"{k} {sum(1 for f in self.faults if f.kind == k)}" for k in FAULTS)
        catch_up = f"{self.catch_up_s:.1f} s" if self.catch_up_s is not None else "did not catch up"
        rows = [
            ("faults injected", f"{len(self.faults)} ({kinds})"),
            ("writes", f"{len(self.writes)} ({answered} answered 2xx, {self._refused()})"),
            ("events", f"{self.verdict.events} ({self.verdict.messages} messages on Kafka)"),
            ("lost", str(self.verdict.lost)),
            ("duplicated", str(len(self.verdict.duplicates))),
            (
                "feed seq gaps",
                f"{len(self.verdict.seq_gaps)} ({len(self.verdict.explained_gaps)} at a rolled-back batch)",
            ),
            ("catch-up after the last fault", catch_up),
            (
                "drained after the writes stopped",
                f"{self.drain_s:.1f} s" if self.drain_s is not None else "no",
            ),
            ("verdict", "PASS" if self.passed else "FAIL"),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"  {k.ljust(width)}  {val}" for k, val in rows)

    @property
    def passed(self) -> bool:
        """Nothing lost or twice, no gap, and the gateway caught up."""
        return self.verdict.ok and self.catch_up_s is not None and self.drain_s is not None

    def _refused(self) -> str:
        """The other answers, by kind: refusals during an outage are expected, and never counted as lost."""
        kinds = {"4xx": 0, "5xx": 0, "no answer": 0}
        for w in self.writes:
            if w.status is None:
                kinds["no answer"] += 1
            elif w.status >= 500:
                kinds["5xx"] += 1
            elif w.status >= 400:
                kinds["4xx"] += 1
        return ", ".join(f"{n} {k}" for k, n in kinds.items())

    def details(self, limit: int = 20) -> str:
        """The first few findings of each kind, for a failed run."""
        out: list[str] = []
        v = self.verdict
        for name, items in (
            ("write answered 2xx but not in its database", v.missing_writes),
            ("outbox event never sent", v.unsent),
            ("event not in the gateway's inbox", v.missing_events),
            ("read model differs from the source", v.mismatched_rows),
            ("applied twice", v.duplicates),
            ("feed seq gap", v.seq_gaps),
        ):
            if items:
                out.append(f"{name}: {len(items)}")
                out += [f"    {item}" for item in items[:limit]]
        return "\n".join(out)


@contextlib.contextmanager
def running_stack(home: Path, first_port: int | None = None) -> Iterator[Stack]:
    """A started stack, stopped on the way out whatever happened."""
    stack = Stack(home, first_port=first_port)
    try:
        stack.start()
        yield stack
    finally:
        _say("stopping everything")
        stack.stop()


def run(
    home: Path,
    *,
    duration_s: float,
    per_minute: float,
    seed_value: int,
    catch_up_timeout_s: float,
    first_port: int | None = None,
) -> Result:
    """Run the whole scenario in home and return its result."""
    rng = random.Random(seed_value)  # noqa: S311 - it picks fault targets, not secrets
    with running_stack(home, first_port) as stack:
        seed(stack)
        ledger = Ledger()
        stop = threading.Event()
        threads = [
            threading.Thread(target=writer, args=(stack, svc, ledger, stop, per_minute / 3), daemon=True)
            for svc in WRITE_SERVICES
        ]
        for t in threads:
            t.start()
        faults: list[Fault] = []
        started = time.monotonic()
        # A quiet start, the faults in turn (every kind at least once), then a quiet end.
        end_of_faults = started + duration_s * 0.85
        time.sleep(min(10.0, duration_s * 0.1))
        try:
            while True:
                stack.supervise()
                faults.append(inject(stack, FAULTS[len(faults) % len(FAULTS)], rng))
                stack.supervise()
                if time.monotonic() >= end_of_faults and len(faults) >= len(FAULTS):
                    break
                time.sleep(FAULT_GAP_S)
            # Catch-up: from the last fault's recovery until the gateway holds every event written
            # by then, while the writes go on.
            last = faults[-1].recovered
            written = asyncio.run(_outbox_ids(stack))
            waited = wait_caught_up(stack, catch_up_timeout_s, written)
            catch_up = None if waited is None else time.monotonic() - last
            while time.monotonic() < started + duration_s:
                stack.supervise()
                time.sleep(1)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        drained = wait_caught_up(stack, catch_up_timeout_s)
        # The projector may still be committing the batch that holds the last event: a moment more.
        time.sleep(2)
        # The evidence, kept beside the logs: every write with its answer, every fault with its times.
        (home / "writes.json").write_text(json.dumps([vars(w) for w in ledger.writes]))
        (home / "faults.json").write_text(json.dumps([vars(f) for f in faults]))
        verdict = asyncio.run(judge(stack, ledger.writes, faults))
        return Result(faults, ledger.writes, verdict, catch_up, drained)


def _terminate(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m mpe_devstack.chaos`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--duration", type=float, default=600, help="seconds of writes and faults (default 600)"
    )
    parser.add_argument("--rate", type=float, default=300, help="writes a minute, all services together")
    parser.add_argument("--seed", type=int, default=13, help="seed of the fault targets' choice")
    parser.add_argument(
        "--dir", type=Path, default=None, help="where the run's data and logs go (default: a new temp dir)"
    )
    parser.add_argument(
        "--ports",
        type=int,
        default=None,
        help="first of eleven consecutive ports to use (default: free ones)",
    )
    args = parser.parse_args(argv)
    # SIGTERM (make's, a CI's timeout) must unwind through the stack's cleanup like Ctrl-C does.
    signal.signal(signal.SIGTERM, _terminate)
    home = args.dir or Path(tempfile.mkdtemp(prefix="mpehub-chaos-"))
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)
    _say(f"data and logs in {home}")
    result = run(
        home,
        duration_s=args.duration,
        per_minute=args.rate,
        seed_value=args.seed,
        catch_up_timeout_s=180,
        first_port=args.ports,
    )
    print(result.table(), flush=True)
    details = result.details()
    if details:
        print(details, flush=True)
    sys.exit(0 if result.passed else 1)


if __name__ == "__main__":
    main()
