"""Benchmark (not a test): headline query 1 through strawberry and through the compiled statement.

    uv run --frozen python services/gateway/tests/bench_compiled.py

Starts a throwaway Postgres, fills the read model with the whole demo dataset (deploy/demo/,
turned into events and applied through the projection handlers), then times, in this process:
strawberry's `schema.execute` plus `json.dumps`, and `compile_operation` plus `CompiledQuery.run`,
one request at a time; then the compiled path under an open-loop load of 200 requests/s.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from graphql import parse

from gateway.app import all_migrations
from gateway.partners.keys import Partner
from gateway.projector.handlers import HANDLERS
from gateway.read.compiled import CompiledQuery, compile_operation, inspect_operation
from gateway.read.schema import Context, schema
from mpe_devstack.ports import free_port
from mpe_devstack.postgres import PostgresServer
from mpe_events import budget as bev
from mpe_events import catalog as cev
from mpe_events import firms as fev
from mpe_events.envelope import Envelope
from mpe_events.registry import (
    DESIGNATION_EVENTS,
    EVENT_TYPES,
    FIRM_REGISTERED,
    FISCAL_YEAR_SET,
    INDUSTRY_CREATED,
    PROGRAM_CREATED,
    PROJECT_EVENTS,
    TECHNOLOGY_LISTED,
)
from mpe_events.registry import source as event_source
from mpe_kit import db, migrations
from mpe_kit.consumer import Event

DEMO = Path(__file__).resolve().parents[3] / "deploy" / "demo"
SCOPES = frozenset({"catalog:read", "firms:read", "firms:financials", "budget:read"})

QUERY_1 = """
query Page($after: String) {
  technologies(first: 50, after: $after) {
    totalCount
    edges {
      cursor
      node {
        code nameEn nameKo kind status listedOn
        industry { code nameEn nameKo }
        funding(fiscalYear: 2023) { committedKrw disbursedKrw projectCount }
        firms(first: 10) { brn brnDisplay nameEn nameKo size }
        designations(status: DESIGNATED, first: 10) {
          kind cohort status designatedOn validUntil firm { brn nameEn nameKo }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def _event(event_type: str, data: Any, subject: str) -> Event:
    env = Envelope(
        id=uuid.uuid4(),
        source=event_source(event_type.split(".")[2]),
        type=event_type,
        subject=subject,
        time=datetime.now(UTC),
        data=data.model_dump(mode="json"),
    )
    return Event(env, data, EVENT_TYPES[event_type].topic.name, 0, 0)


def demo_events() -> list[Event]:
    """The demo dataset as the services would publish it (final states only)."""
    events: list[Event] = []
    catalog = json.loads((DEMO / "catalog.json").read_text())
    for i in catalog["industries"]:
        events.append(_event(INDUSTRY_CREATED.type, cev.IndustryV1(**i, version=1), i["code"]))
    techs: dict[str, dict[str, Any]] = {}
    for rev in catalog["revisions"]:
        day, rid = date.fromisoformat(rev["effective_on"]), uuid.uuid4()
        for c in rev["changes"]:
            if c["op"] == "add":
                t = c["technology"]
                techs[t["code"]] = {
                    **t,
                    "status": "listed",
                    "listed_on": day,
                    "retired_on": None,
                    "version": 1,
                }
            else:
                t = techs[c["code"]]
                t.update({k: v for k, v in c.items() if k not in ("op", "code")})
                if c["op"] == "retire":
                    t.update(status="retired", retired_on=day)
                t["version"] += 1
            techs[t["code"]]["revision_id"] = rid
    for t in techs.values():
        events.append(_event(TECHNOLOGY_LISTED.type, cev.TechnologyV1.model_validate(t), t["code"]))
    for f in json.loads((DEMO / "firms.json").read_text())["firms"]:
        body = f["firm"]
        number = body["brn"]
        firm = fev.FirmV1.model_validate(
            {
                **body,
                "brn_display": f"{number[:3]}-{number[3:5]}-{number[5:]}",
                "confirmations": f["confirmations"],
                "version": 1,
            }
        )
        events.append(_event(FIRM_REGISTERED.type, firm, number))
        for d in f["designations"]:
            app = d["application"]
            applied = date.fromisoformat(app.get("effective_on") or "2021-01-01")
            history = [fev.TransitionV1(from_status=None, to_status="applied",
                                        at=datetime.combine(applied, datetime.min.time(), UTC),
                                        effective_on=applied, actor="demo", reason=None)]  # fmt: skip
            status, designated_on, valid_until = "applied", None, None
            for t in d["transitions"]:
                on = date.fromisoformat(t.get("effective_on") or applied.isoformat())
                history.append(fev.TransitionV1(from_status=status, to_status=t["to"],
                                                at=datetime.combine(on, datetime.min.time(), UTC),
                                                effective_on=on, actor="demo", reason=t.get("reason")))  # fmt: skip
                status = t["to"]
                if status == "designated":
                    years = 5 if app["kind"] == "leading" else 3
                    designated_on, valid_until = on, on.replace(year=on.year + years)
            des = fev.DesignationV1.model_validate(
                {
                    "id": uuid.uuid4(),
                    "brn": number,
                    "kind": app["kind"],
                    "cohort": app.get("cohort"),
                    "technology_codes": app["technology_codes"],
                    "status": status,
                    "applied_on": applied,
                    "designated_on": designated_on,
                    "valid_until": valid_until,
                    "history": history,
                    "version": len(history),
                }
            )
            events.append(_event(DESIGNATION_EVENTS[status].type, des, str(des.id)))
    budget = json.loads((DEMO / "budget.json").read_text())
    for y in budget["fiscal_years"]:
        events.append(
            _event(
                FISCAL_YEAR_SET.type, bev.FiscalYearV1(year=y["year"], **y["body"], version=1), str(y["year"])
            )
        )
    for p in budget["programs"]:
        themes = [{"code": t["theme_code"], **t["body"]} for t in p["themes"]]
        prog = bev.ProgramV1.model_validate({**p["program"], "themes": themes, "version": 1})
        events.append(_event(PROGRAM_CREATED.type, prog, prog.code))
    year_of = {p["program"]["code"]: p["program"]["fiscal_year"] for p in budget["programs"]}
    for p in budget["projects"]:
        status = p["transitions"][-1]["to"] if p["transitions"] else "proposed"
        # The consortium is the REST body's shape, not the event's; query 1 does not read it.
        body = {k: v for k, v in p["project"].items() if k != "participants"}
        proj = bev.ProjectV1.model_validate(
            {
                **body,
                "fiscal_year": year_of[body["program_code"]],
                "status": status,
                "committed_krw": body["government_krw"] if status != "proposed" else 0,
                "disbursed_krw": sum(d["body"]["amount_krw"] for d in p["disbursements"]),
                "version": 1 + len(p["transitions"]) + len(p["disbursements"]),
            }
        )
        events.append(_event(PROJECT_EVENTS[status].type, proj, proj.code))
    return events


def summary(name: str, samples: list[float]) -> str:
    s = sorted(samples)
    p = lambda q: s[min(len(s) - 1, int(q * len(s)))] * 1000  # noqa: E731
    return (
        f"{name}: n={len(s)} median {statistics.median(s) * 1000:.2f} ms, p90 {p(0.9):.2f}, p99 {p(0.99):.2f}"
    )


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = PostgresServer(Path(tmp) / "pg", port=free_port(), settings={"fsync": "off"})
        server.start()
        try:
            server.create_database("bench")
            dsn = server.dsn("bench")
            await migrations.migrate(dsn, all_migrations())
            conn = await db.connect(dsn)
            for e in demo_events():
                async with conn.transaction():
                    await HANDLERS[e.envelope.type](conn, e)
            counts = await conn.fetchrow(
                "select (select count(*) from technologies) t, (select count(*) from firms) f,"
                " (select count(*) from designations) d, (select count(*) from projects) p"
            )
            print(f"read model: {dict(counts)}")
            await conn.execute("analyze")
            await conn.close()
            await bench(dsn)
        finally:
            server.stop()


async def bench(dsn: str) -> None:
    pool = await db.create_pool(dsn, min_size=4, max_size=10)
    partner = Partner(key_id=uuid.uuid4(), agency="bench", scopes=SCOPES)
    document = parse(QUERY_1)

    async def strawberry_once() -> bytes:
        result = await schema.execute(
            QUERY_1, context_value=Context(pool=pool, partner=partner, max_page=100), operation_name="Page"
        )
        assert result.errors is None, result.errors
        return json.dumps({"data": result.data}).encode()

    # As the /graphql stage keeps it per app: the operation inspected once, compiled per call.
    operation = inspect_operation(document, "Page")

    async def compiled_once() -> bytes:
        compiled = compile_operation(operation, {}, scopes=SCOPES, max_page=100)
        assert isinstance(compiled, CompiledQuery)
        async with pool.acquire() as c:
            return b'{"data":' + await compiled.run(c) + b"}"

    a = json.loads(await strawberry_once())
    b = json.loads(await compiled_once())
    assert a == b
    fields = sum(1 for _ in _leaves(a))
    print(f"query 1: {len(a['data']['technologies']['edges'])} technologies, {fields} leaf values")

    for name, once, n in (("strawberry", strawberry_once, 200), ("compiled", compiled_once, 2000)):
        for _ in range(20):
            await once()
        samples = []
        cpu0 = time.process_time()
        for _ in range(n):
            t0 = time.perf_counter()
            await once()
            samples.append(time.perf_counter() - t0)
        cpu = (time.process_time() - cpu0) / n * 1000
        print(summary(f"{name}, one at a time", samples) + f"; Python CPU {cpu:.2f} ms/request")

    samples = []
    t0 = time.perf_counter()
    for _ in range(2000):
        compile_operation(operation, {}, scopes=SCOPES, max_page=100)
    print(f"compile_operation, cached: {(time.perf_counter() - t0) / 2000 * 1e6:.1f} µs")

    for rate, seconds in ((200, 10), (400, 5)):
        latencies = await open_loop(compiled_once, rate, seconds)
        print(summary(f"compiled, open loop {rate}/s for {seconds} s", latencies))
    await pool.close()


async def open_loop(once: Callable[[], Awaitable[bytes]], rate: int, seconds: int) -> list[float]:
    """Start `rate` requests a second whatever the answers' pace; each request's latency."""
    latencies: list[float] = []

    async def timed() -> None:
        t = time.perf_counter()
        await once()
        latencies.append(time.perf_counter() - t)

    tasks = []
    start = time.perf_counter()
    for i in range(rate * seconds):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(timed()))
    await asyncio.gather(*tasks)
    return latencies


def _leaves(value: Any) -> Any:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


if __name__ == "__main__":
    asyncio.run(main())
