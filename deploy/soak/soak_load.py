"""The soak's write load: REST writes to catalog, firms and budget in a fixed mix, and visibility probes.

Each service gets its share of the write rate (`MIX`) and a pool of workers. A worker runs the
service's round (a short chain of writes, as staff would make them: a revision and its
publication; a firm, its application and the start of its review; a project, three steps of its
life and two payments); every single write waits for a slot from the service's pacer, so the
offered rate holds however long a round takes, as long as some worker is free. Every
`probe_every`-th round, the write that creates the entity is followed by a visibility probe: a
GraphQL read of that entity sent with the write's `MPE-Write-Token` in `MPE-Wait-For`, repeated
until the gateway answers with the entity; the time from the write's answer to that GraphQL
answer is the write -> visible time.

How they talk HTTP (aiohttp, and why not httpx) is in soak_http.py.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import aiohttp
import asyncpg
from soak_http import NO_ANSWER, Answer, retry_after_s, send

from mpe_events import brn
from mpe_kit.writes import Written, decode

WRITE_SERVICES = ("catalog", "firms", "budget")
# Shares of the write rate; with the rounds' lengths (2, 3 and 6 writes) at 100 writes/s that is
# 5 revisions, 10 firms and 10 projects a second.
MIX = {"catalog": 0.1, "firms": 0.3, "budget": 0.6}
# Workers per service: enough to keep the rate while a write takes a few hundred milliseconds.
WORKERS = {"catalog": 8, "firms": 16, "budget": 24}
INDUSTRY = "SOK"
FISCAL_YEAR = 2026
PROGRAM = "SK26-RND"
TECHNOLOGY = "SEMI-001"  # in the demo catalog
PROBE_LIMIT_S = 60.0
# How often the watcher asks the gateway's database how far each probed write is projected.
WATCH_S = 0.025
WAIT_HEADER = "MPE-Wait-For"
TOKEN_HEADER = "MPE-Write-Token"  # noqa: S105 - a header name

PROBES = {
    "catalog": ("query($k: String!) { technology(code: $k) { code } }", "technology"),
    "firms": ("query($k: String!) { firm(brn: $k) { brn } }", "firm"),
    "budget": ("query($k: String!) { project(code: $k) { code } }", "project"),
}


@dataclass(frozen=True)
class WriteRecord:
    """One REST write: when it was answered (s from the run's start), what, its status (None: no answer)."""

    t: float
    service: str
    what: str
    status: int | None
    ms: float


@dataclass(frozen=True)
class ProbeRecord:
    """One probed write, in ms from its answer: projected (the gateway's read model has all of it) and
    answered (a GraphQL read of it came back with it); None when that did not happen within PROBE_LIMIT_S.
    """

    t: float
    service: str
    projected_ms: float | None
    ms: float | None
    detail: str = ""


class ProgressWatcher:
    """When the gateway's projector has applied every event of a write: its `write_progress` counts.

    The condition the gateway itself waits for before it answers a read sent with `MPE-Wait-For`,
    read straight from its database in one statement for all pending writes every WATCH_S, so
    that it does not include the time the read spends queued in a busy gateway.
    """

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.pending: list[tuple[list[Written], asyncio.Future[float]]] = []

    def watch(self, written: list[Written]) -> asyncio.Future[float]:
        """A future that gets the time.monotonic() at which all of `written` was seen projected."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.pending.append((written, future))
        return future

    async def run(self, stop: asyncio.Event) -> None:
        """Watch until `stop` is set and nothing is pending (or PROBE_LIMIT_S after `stop`)."""
        conn = await asyncpg.connect(self.dsn)
        stopped_at: float | None = None
        try:
            while True:
                if stop.is_set():
                    stopped_at = stopped_at or time.monotonic()
                    if not self.pending or time.monotonic() - stopped_at > PROBE_LIMIT_S:
                        return
                self.pending = [(w, f) for w, f in self.pending if not f.done()]
                if self.pending:
                    keys = {(w.source, w.txid) for written, _ in self.pending for w in written}
                    rows = await conn.fetch(
                        "select w.source, w.txid, w.events from write_progress w"
                        " join unnest($1::text[], $2::bigint[]) as k(source, txid) using (source, txid)",
                        [k[0] for k in keys],
                        [k[1] for k in keys],
                    )
                    seen = time.monotonic()
                    counts = {(r["source"], r["txid"]): r["events"] for r in rows}
                    for written, future in self.pending:
                        if all(counts.get((w.source, w.txid), 0) >= w.count for w in written):
                            future.set_result(seen)
                await asyncio.sleep(WATCH_S)
        finally:
            await conn.close()


class Pacer:
    """Slots at a fixed rate; a late taker gets the next slot at once, but at most 1 s of them is made up."""

    def __init__(self, per_s: float) -> None:
        self.interval = 1.0 / per_s
        self.next = time.monotonic()

    async def take(self) -> None:
        """Wait for this caller's slot."""
        now = time.monotonic()
        slot = max(self.next, now - 1.0)
        self.next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


def firm_number(n: int) -> str:
    """A valid business registration number of the soak's own range (8xxxxxxxx and its check digit)."""
    first_nine = f"8{n:08d}"
    return first_nine + str(brn.check_digit(first_nine))


@dataclass
class Load:
    """The write load and the probes; what they saw is in `writes` and `probes`."""

    urls: dict[str, str]
    gateway_url: str
    gateway_dsn: str
    token: str
    key: str
    writes_per_s: float
    probe_every: int
    t0: float  # time.monotonic() of the run's start: earlier records (the warm-up) get t < 0
    writes: list[WriteRecord] = field(default_factory=list)
    probes: list[ProbeRecord] = field(default_factory=list)
    # The first few answers of each kind of failed write: what the service said.
    failures: dict[str, list[str]] = field(default_factory=dict)
    # Probe reads the gateway answered 429 or 503 (nothing ran), waited for and asked again.
    busy_answers: int = 0
    _counters: dict[str, itertools.count[int]] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _watcher: ProgressWatcher | None = None

    def now(self) -> float:
        """Seconds since the run's start."""
        return time.monotonic() - self.t0

    async def seed(self) -> None:
        """What the rounds build on: an industry of their own, a fiscal year's envelope and a program."""
        auth = {"Authorization": f"Bearer {self.token}"}
        async with aiohttp.ClientSession(headers=auth, timeout=aiohttp.ClientTimeout(total=30)) as client:
            r = await send(
                client,
                f"{self.urls['catalog']}/v1/industries",
                {"code": INDUSTRY, "name_en": "Soak", "name_ko": "내구 시험"},
            )
            if r.status not in (201, 409):
                raise RuntimeError(f"soak industry: {r.status} {r.text}")
            r = await send(
                client,
                f"{self.urls['budget']}/v1/fiscal-years/{FISCAL_YEAR}",
                {"envelope_krw": 10**16},
                method="PUT",
            )
            if r.status >= 300:
                raise RuntimeError(f"soak envelope: {r.status} {r.text}")
            program = {
                "code": PROGRAM,
                "fiscal_year": FISCAL_YEAR,
                "name_en": "Soak R&D",
                "name_ko": "내구 시험 연구개발",
                "kind": "rnd",
                "track": None,
                "budget_krw": 10**15,
            }
            r = await send(client, f"{self.urls['budget']}/v1/programs", program)
            if r.status not in (201, 409):
                raise RuntimeError(f"soak program: {r.status} {r.text}")

    async def _post(
        self,
        client: aiohttp.ClientSession,
        pacer: Pacer,
        service: str,
        what: str,
        path: str,
        body: Any,
        headers: dict[str, str] | None = None,
    ) -> Answer | None:
        await pacer.take()
        started = time.monotonic()
        try:
            r = await send(client, path, body, headers)
        except NO_ANSWER:
            self.writes.append(
                WriteRecord(self.now(), service, what, None, 1000 * (time.monotonic() - started))
            )
            return None
        self.writes.append(
            WriteRecord(self.now(), service, what, r.status, 1000 * (time.monotonic() - started))
        )
        if 200 <= r.status < 300:
            return r
        seen = self.failures.setdefault(f"{service} {what}: {r.status}", [])
        if len(seen) < 3:
            seen.append(r.text[:300])
        return None

    def _probe_later(self, gateway: aiohttp.ClientSession, service: str, r: Answer, key: str) -> None:
        acked = time.monotonic()
        token = r.headers.get(TOKEN_HEADER)
        task = asyncio.create_task(self._probe(gateway, service, token, key, acked))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _probe(
        self, gateway: aiohttp.ClientSession, service: str, token: str | None, key: str, acked: float
    ) -> None:
        t = acked - self.t0
        if token is None or self._watcher is None:
            self.probes.append(
                ProbeRecord(t, service, None, None, "the write answered without a write token")
            )
            return
        projected = self._watcher.watch(decode(token))
        ms, detail = await self._answered(gateway, service, token, key, acked)
        try:
            seen = await asyncio.wait_for(
                asyncio.shield(projected), max(0.0, acked + PROBE_LIMIT_S - time.monotonic())
            )
            projected_ms: float | None = 1000 * (seen - acked)
        except TimeoutError:
            projected_ms = None
        self.probes.append(ProbeRecord(t, service, projected_ms, ms, detail))

    async def _answered(
        self, gateway: aiohttp.ClientSession, service: str, token: str, key: str, acked: float
    ) -> tuple[float | None, str]:
        """Read the entity with MPE-Wait-For until the gateway serves it: ms from the write's answer."""
        query, field_name = PROBES[service]
        detail = ""
        while time.monotonic() - acked < PROBE_LIMIT_S:
            try:
                r = await send(
                    gateway, "/graphql", {"query": query, "variables": {"k": key}}, {WAIT_HEADER: token}
                )
                if r.status in (429, 503):
                    # The gateway at capacity (or the key past its rate): nothing ran; as a
                    # partner would, wait what Retry-After says and ask again.
                    detail = f"HTTP {r.status}"
                    self.busy_answers += 1
                    await asyncio.sleep(retry_after_s(r.headers.get("retry-after")))
                    continue
                body = r.json()
            except (*NO_ANSWER, ValueError) as exc:
                detail = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(0.05)
                continue
            if r.status == 200 and not body.get("errors") and (body.get("data") or {}).get(field_name):
                return 1000 * (time.monotonic() - acked), ""
            codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]
            detail = f"HTTP {r.status}, {codes or 'no data'}"
            if codes != ["WRITE_NOT_YET_VISIBLE"]:
                # Applied (the wait returned) yet not readable: a real error, not a delay.
                break
        return None, detail

    async def _catalog(
        self, client: aiohttp.ClientSession, gateway: aiohttp.ClientSession, pacer: Pacer, n: int
    ) -> None:
        code = f"{INDUSTRY}-{n:05d}"
        today = date.today().isoformat()
        revision = {
            "title": f"soak revision {n}",
            "decided_on": today,
            "effective_on": today,
            "changes": [
                {
                    "op": "add",
                    "technology": {
                        "code": code,
                        "industry_code": INDUSTRY,
                        "kind": "part",
                        "name_en": f"Soak part {n}",
                        "name_ko": f"내구 부품 {n}",
                        "description": "Written by the soak run.",
                    },
                }
            ],
        }
        r = await self._post(client, pacer, "catalog", "revision", "/v1/revisions", revision)
        if r is None:
            return
        r = await self._post(
            client, pacer, "catalog", "publish", f"/v1/revisions/{r.json()['id']}/publish", None
        )
        if r is not None and n % self.probe_every == 0:
            self._probe_later(gateway, "catalog", r, code)

    async def _firms(
        self, client: aiohttp.ClientSession, gateway: aiohttp.ClientSession, pacer: Pacer, n: int
    ) -> None:
        number = firm_number(n)
        firm = {
            "brn": number,
            "name_en": f"Soak Firm {n}",
            "name_ko": f"내구 {n}",
            "size": "sme",
            "size_since": "2020-01-01",
            "region": "경기",
            "mpe_sales_ratio": 0.6,
            "technology_codes": [TECHNOLOGY],
        }
        r = await self._post(client, pacer, "firms", "firm", "/v1/firms", firm)
        if r is None:
            return
        if n % self.probe_every == 0:
            self._probe_later(gateway, "firms", r, number)
        today = date.today().isoformat()
        application = {"kind": "specialized", "technology_codes": [TECHNOLOGY], "effective_on": today}
        r = await self._post(
            client, pacer, "firms", "designation", f"/v1/firms/{number}/designations", application
        )
        if r is None:
            return
        step = {"to": "under_review", "reason": None, "effective_on": today}
        await self._post(
            client, pacer, "firms", "transition", f"/v1/designations/{r.json()['id']}/transitions", step
        )

    async def _budget(
        self, client: aiohttp.ClientSession, gateway: aiohttp.ClientSession, pacer: Pacer, n: int
    ) -> None:
        code = f"{PROGRAM}-{n:05d}"
        project = {
            "code": code,
            "program_code": PROGRAM,
            "title": f"내구 과제 {n} (soak project {n})",
            "kind": "new",
            "continues": None,
            "technology_codes": [TECHNOLOGY],
            "lead_firm_brn": None,
            "government_krw": 1_000_000_000,
            "private_cash_krw": 100_000_000,
            "private_in_kind_krw": 100_000_000,
            "start_on": f"{FISCAL_YEAR}-04-01",
            "end_on": f"{FISCAL_YEAR + 2}-12-31",
        }
        r = await self._post(client, pacer, "budget", "project", "/v1/projects", project)
        if r is None:
            return
        if n % self.probe_every == 0:
            self._probe_later(gateway, "budget", r, code)
        for to in ("selected", "agreement_signed", "active"):
            step = {"to": to, "reason": f"soak {to}"}
            if (
                await self._post(
                    client, pacer, "budget", "transition", f"/v1/projects/{code}/transitions", step
                )
                is None
            ):
                return
        for i in (1, 2):
            key = f"soak-{code}-{i}"
            payment = {"amount_krw": 10_000_000 * i, "paid_on": f"{FISCAL_YEAR}-0{4 + i}-01"}
            await self._post(
                client,
                pacer,
                "budget",
                "payment",
                f"/v1/projects/{code}/disbursements",
                payment,
                headers={"Idempotency-Key": key},
            )

    async def _worker(
        self,
        service: str,
        client: aiohttp.ClientSession,
        gateway: aiohttp.ClientSession,
        pacer: Pacer,
        stop: asyncio.Event,
    ) -> None:
        rounds: dict[
            str, Callable[[aiohttp.ClientSession, aiohttp.ClientSession, Pacer, int], Awaitable[None]]
        ] = {
            "catalog": self._catalog,
            "firms": self._firms,
            "budget": self._budget,
        }
        counter = self._counters.setdefault(service, itertools.count(1))
        while not stop.is_set():
            await rounds[service](client, gateway, pacer, next(counter))

    async def run(self, stop: asyncio.Event) -> None:
        """Write until `stop` is set, then wait for the probes still running."""
        auth = {"Authorization": f"Bearer {self.token}"}
        clients = {
            s: aiohttp.ClientSession(
                self.urls[s],
                headers=auth,
                timeout=aiohttp.ClientTimeout(total=10),
                connector=aiohttp.TCPConnector(limit=64),
            )
            for s in WRITE_SERVICES
        }
        # No cap on the probes' connections: a probe must never wait for a connection here, only
        # in the gateway (a cap of 64 did hold probes back when the gateway answered in 20 s).
        gateway = aiohttp.ClientSession(
            self.gateway_url,
            headers={"X-API-Key": self.key},
            timeout=aiohttp.ClientTimeout(total=PROBE_LIMIT_S),
            connector=aiohttp.TCPConnector(limit=0),
        )
        self._watcher = ProgressWatcher(self.gateway_dsn)
        watching = asyncio.create_task(self._watcher.run(stop))
        try:
            workers = []
            for service in WRITE_SERVICES:
                pacer = Pacer(self.writes_per_s * MIX[service])
                workers += [
                    self._worker(service, clients[service], gateway, pacer, stop)
                    for _ in range(WORKERS[service])
                ]
            await asyncio.gather(*workers)
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=PROBE_LIMIT_S + 5)
            await watching
        finally:
            for client in (*clients.values(), gateway):
                await client.close()
