"""GET /export/{entity}.ndjson: the read model, whole, as GraphQL would give it, from one snapshot."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from gateway import store
from gateway.app import create_app
from gateway.http.export_entities import ENTITIES
from gateway.partners.keys import SCOPES
from gateway.settings import GatewaySettings
from mpe_events.registry import PROGRAM_UPDATED, PROJECT_DISBURSED
from mpe_kit import db, ops

from .conftest import (
    apply,
    brn,
    designation,
    designation_event,
    firm,
    firm_event,
    gql,
    new_key,
    program,
    program_event,
    project,
    project_event,
)

NDJSON = "application/x-ndjson"
BORAM, GAON, HANUL = brn(113_81_459), brn(220_86_123), brn(301_88_777)
DESIGNATIONS = [uuid.UUID(int=n) for n in (3, 1, 2, 4)]  # applied out of key order on purpose


def lines(r: httpx.Response) -> list[dict[str, Any]]:
    """The body's lines as objects; a complete export ends with a newline."""
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == NDJSON
    if not r.content:
        return []
    assert r.content.endswith(b"\n")
    return [json.loads(line) for line in r.content.decode().splitlines()]


@pytest.fixture
async def filled(conn: db.Conn, seeded: None) -> None:
    """The seeded technologies, three firms with four designations, two programs with three projects."""
    await apply(
        conn,
        firm_event(
            firm(BORAM, name_ko="주식회사 보람", size="mid", technology_codes=["SEMI-004", "SEMI-001"])
        ),
        firm_event(firm(GAON, mpe_sales_ratio=None, technology_codes=["SEMI-025"])),
        firm_event(firm(HANUL, size="large", mpe_sales_ratio=0.31)),
        designation_event(
            designation(
                DESIGNATIONS[0],
                BORAM,
                ("under_review", date(2020, 10, 19)),
                ("designated", date(2021, 1, 11)),
                ("revoked", date(2024, 7, 15)),
                reason="sold the business unit",
            )
        ),
        designation_event(designation(DESIGNATIONS[1], GAON, ("under_review", date(2020, 10, 19)))),
        designation_event(
            designation(
                DESIGNATIONS[2],
                GAON,
                ("under_review", date(2021, 3, 2)),
                ("designated", date(2021, 6, 30)),
                kind="specialized",
                codes=("SEMI-025", "SEMI-004"),
            )
        ),
        designation_event(designation(DESIGNATIONS[3], HANUL, ("withdrawn", date(2020, 11, 2)))),
        program_event(
            program(
                "MP23-ALC",
                version=2,
                kind="alchemist",
                budget_krw=20_530_000_000,
                themes=[
                    {
                        "code": "MP23-ALC-T01",
                        "title": "무탄소 암모니아 (Zero-carbon ammonia)",
                        "stages": [{"stage": "concept", "teams": 6}, {"stage": "main", "teams": 1}],
                    }
                ],
            ),
            PROGRAM_UPDATED.type,
        ),
        program_event(program("MP-2023", budget_krw=9_000_000_000_000_000_000, track="esg-carbon-neutral")),
        project_event(
            project(
                "MP23-001",
                version=5,
                status="active",
                lead_firm_brn=BORAM,
                technology_codes=["SEMI-004", "SEMI-001"],
                committed_krw=1_000_000_000,
                disbursed_krw=400_000_000,
            ),
            PROJECT_DISBURSED.type,
        ),
        project_event(project("MP23-002", status="selected", version=2, committed_krw=1_000_000_000)),
        project_event(project("MP23-003", program_code="MP23-ALC", kind="continuing", continues="MP22-009")),
    )


@pytest.fixture
async def all_scopes(gateway: Callable[..., httpx.AsyncClient], conn: db.Conn) -> httpx.AsyncClient:
    return gateway((await new_key(conn, *SCOPES)).secret)


TECHNOLOGY = "code nameEn nameKo description kind status listedOn retiredOn version industry { code }"
FIRM = "brn brnDisplay nameEn nameKo size sizeSince region mpeSalesRatio technologies { code }"
DESIGNATION = (
    "id kind cohort status appliedOn designatedOn validUntil firm { brn } technologies { code }"
    " history { fromStatus toStatus at effectiveOn actor reason }"
)
PROGRAM = (
    "code fiscalYear nameEn nameKo kind track budgetKrw committedKrw disbursedKrw projectCount"
    " themes { code title stages { stage teams fiscalYear projects { code } } }"
)
PROJECT = (
    "code title fiscalYear kind status continues governmentKrw privateCashKrw privateInKindKrw"
    " committedKrw disbursedKrw startOn endOn program { code } technologies { code } leadFirm { brn }"
)


def as_graphql(line: dict[str, Any]) -> dict[str, Any]:
    """An export line in the shape of the GraphQL answer: references become the nested objects."""
    out = dict(line)
    if "industryCode" in out:
        out["industry"] = {"code": out.pop("industryCode")}
    if "firmBrn" in out:
        out["firm"] = {"brn": out.pop("firmBrn")}
    if "programCode" in out:
        out["program"] = {"code": out.pop("programCode")}
    if "leadFirmBrn" in out:
        lead = out.pop("leadFirmBrn")
        out["leadFirm"] = {"brn": lead} if lead else None
    if "themes" in out:
        out["themes"] = [
            {
                **theme,
                "stages": [
                    {
                        **{k: v for k, v in s.items() if k != "projectCodes"},
                        "projects": [{"code": c} for c in s["projectCodes"]],
                    }
                    for s in theme["stages"]
                ],
            }
            for theme in out["themes"]
        ]
    if "technologyCodes" in out:
        out["technologies"] = [{"code": c} for c in out.pop("technologyCodes")]
    return out


async def test_each_export_is_every_row_in_key_order_as_graphql_gives_it(
    filled: None, all_scopes: httpx.AsyncClient, conn: db.Conn
) -> None:
    exported = {name: lines(await all_scopes.get(f"/export/{name}.ndjson")) for name in ENTITIES}
    keys = {"firms": "brn"}
    for name, rows in exported.items():
        key = keys.get(name, "code" if name != "designations" else "id")
        assert [r[key] for r in rows] == sorted(r[key] for r in rows), name
    # Row counts, against the read model itself.
    assert len(exported["technologies"]) == 25
    assert len(exported["technologies"]) == await store.catalog.technologies_count(
        conn, store.catalog.TechnologyFilter()
    )
    assert len(exported["firms"]) == await store.firms.firms_count(conn, store.firms.FirmFilter()) == 3
    assert len(exported["programs"]) == await store.budget.programs_count(conn, fiscal_year=None) == 2
    assert (
        len(exported["projects"])
        == await store.budget.projects_count(conn, store.budget.ProjectFilter())
        == 3
    )
    assert len(exported["designations"]) == await conn.fetchval("select count(*) from designations") == 4
    assert [r["id"] for r in exported["designations"]] == [str(u) for u in sorted(DESIGNATIONS)]

    # Every row, field for field, against what GraphQL answers for it: one query a list, each
    # page holding every row, within the cost limit.
    data: dict[str, Any] = {}
    for query in (
        f"{{ technologies(first: 100) {{ edges {{ node {{ {TECHNOLOGY} }} }} }} }}",
        f"{{ firms(first: 50) {{ edges {{ node {{ {FIRM} designations(first: 20) {{ {DESIGNATION} }} }} }} }} }}",
        f"{{ programs(first: 20) {{ edges {{ node {{ {PROGRAM} }} }} }} }}",
        f"{{ projects(first: 100) {{ edges {{ node {{ {PROJECT} }} }} }} }}",
    ):
        body = await gql(all_scopes, query)
        assert "errors" not in body, body
        data.update(body["data"])
    nodes = {
        name: [e["node"] for e in data[name]["edges"]] for name in ("technologies", "programs", "projects")
    }
    nodes["firms"] = [
        {k: v for k, v in e["node"].items() if k != "designations"} for e in data["firms"]["edges"]
    ]
    nodes["designations"] = sorted(
        (d for e in data["firms"]["edges"] for d in e["node"]["designations"]), key=lambda d: d["id"]
    )
    for name in ENTITIES:
        assert [as_graphql(line) for line in exported[name]] == nodes[name], name

    # The formats, spelled out once.
    boram = next(f for f in exported["firms"] if f["brn"] == BORAM)
    assert boram["size"] == "MID"
    assert boram["technologyCodes"] == ["SEMI-004", "SEMI-001"]
    assert boram["mpeSalesRatio"] == 0.7
    big = next(p for p in exported["programs"] if p["code"] == "MP-2023")
    assert big["budgetKrw"] == "9000000000000000000"
    assert (big["committedKrw"], big["disbursedKrw"], big["projectCount"]) == ("2000000000", "400000000", 2)
    revoked = next(d for d in exported["designations"] if d["id"] == str(DESIGNATIONS[0]))
    assert [(t["fromStatus"], t["toStatus"]) for t in revoked["history"]] == [
        (None, "APPLIED"),
        ("APPLIED", "UNDER_REVIEW"),
        ("UNDER_REVIEW", "DESIGNATED"),
        ("DESIGNATED", "REVOKED"),
    ]
    assert revoked["history"][-1] == {
        "fromStatus": "DESIGNATED",
        "toStatus": "REVOKED",
        "at": "2024-07-15T00:00:00+00:00",
        "effectiveOn": "2024-07-15",
        "actor": "staff@motie.go.kr",
        "reason": "sold the business unit",
    }
    alchemist = next(p for p in exported["programs"] if p["code"] == "MP23-ALC")
    assert alchemist["themes"][0]["stages"] == [
        {"stage": "CONCEPT", "teams": 6, "fiscalYear": None, "projectCodes": []},
        {"stage": "MAIN", "teams": 1, "fiscalYear": None, "projectCodes": []},
    ]


async def test_headers_name_the_file_and_say_how_current_the_data_is(
    filled: None, all_scopes: httpx.AsyncClient, conn: db.Conn
) -> None:
    r = await all_scopes.get("/export/firms.ndjson")
    assert r.headers["content-disposition"] == 'attachment; filename="firms.ndjson"'
    assert r.headers["cache-control"] == "no-store"
    # Nothing recorded yet of the sources' positions: no time to give, nothing known to be missing.
    assert "x-data-as-of" not in r.headers
    assert r.headers["x-data-lag"] == "0"

    newest = datetime(2026, 11, 25, 3, 4, 5, tzinfo=UTC)
    await store.changes.record_positions(
        conn,
        [
            ("mpe.firms.firm", 0, 40, 42, newest),
            ("mpe.catalog.technology", 0, 10, 10, datetime(2026, 1, 2, tzinfo=UTC)),
        ],
    )
    r = await all_scopes.get("/export/technologies.ndjson")
    assert r.headers["content-disposition"] == 'attachment; filename="technologies.ndjson"'
    assert datetime.fromisoformat(r.headers["x-data-as-of"]) == newest
    assert r.headers["x-data-lag"] == "2"


async def test_an_empty_read_model_exports_nothing(
    gateway: Callable[..., httpx.AsyncClient], conn: db.Conn
) -> None:
    client = gateway((await new_key(conn, *SCOPES)).secret)
    for name in ENTITIES:
        r = await client.get(f"/export/{name}.ndjson")
        assert lines(r) == []


async def test_each_export_needs_its_scope(
    filled: None, gateway: Callable[..., httpx.AsyncClient], conn: db.Conn
) -> None:
    catalog_only = gateway((await new_key(conn, "catalog:read")).secret)
    assert len(lines(await catalog_only.get("/export/technologies.ndjson"))) == 25
    for name, scope in [
        ("firms", "firms:read"),
        ("designations", "firms:read"),
        ("projects", "budget:read"),
        ("programs", "budget:read"),
    ]:
        r = await catalog_only.get(f"/export/{name}.ndjson")
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json() == {
            "type": "about:blank",
            "title": "Forbidden",
            "status": 403,
            "detail": f"This key lacks the {scope} scope.",
            "instance": f"/export/{name}.ndjson",
            "scope": scope,
        }
    budget_only = gateway((await new_key(conn, "budget:read")).secret)
    assert (await budget_only.get("/export/technologies.ndjson")).json()["scope"] == "catalog:read"


async def test_financial_and_firm_fields_are_null_without_their_scope(
    filled: None, gateway: Callable[..., httpx.AsyncClient], conn: db.Conn
) -> None:
    full = gateway((await new_key(conn, *SCOPES)).secret)
    basic = gateway((await new_key(conn, "firms:read", "budget:read")).secret)
    budget_only = gateway((await new_key(conn, "budget:read")).secret)

    with_ratio = lines(await full.get("/export/firms.ndjson"))
    without = lines(await basic.get("/export/firms.ndjson"))
    assert [f["mpeSalesRatio"] for f in with_ratio] == [0.7, None, 0.31]
    assert [f["mpeSalesRatio"] for f in without] == [None, None, None]
    assert [{**f, "mpeSalesRatio": None} for f in with_ratio] == without
    # As GraphQL: the field is there, null, and the rest of the firm is whole.
    body = await gql(basic, "query($brn: String!) { firm(brn: $brn) { nameEn mpeSalesRatio } }", brn=BORAM)
    assert body["data"]["firm"] == {"nameEn": f"Firm {BORAM}", "mpeSalesRatio": None}

    # A project's lead firm needs firms:read in GraphQL (leadFirm); so does its BRN here.
    assert [p["leadFirmBrn"] for p in lines(await basic.get("/export/projects.ndjson"))] == [
        BORAM,
        None,
        None,
    ]
    assert [p["leadFirmBrn"] for p in lines(await budget_only.get("/export/projects.ndjson"))] == [None] * 3


async def test_a_missing_or_revoked_key_is_401(
    gateway: Callable[..., httpx.AsyncClient], conn: db.Conn
) -> None:
    nobody = gateway("")
    r = await nobody.get("/export/technologies.ndjson", headers={"X-API-Key": ""})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'ApiKey header="X-API-Key"'
    assert r.json()["detail"] == "Send your partner API key in the X-API-Key header."
    # The key is checked first: a stranger learns nothing, not even which exports exist.
    r = await gateway("mpe_not-a-key").get("/export/widgets.ndjson")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == "The API key is not valid or has been revoked."


@pytest.mark.parametrize(
    "path", ["/export/widgets.ndjson", "/export/technologies.xlsx", "/export/technologies", "/export/.ndjson"]
)
async def test_an_unknown_export_is_404_listing_the_exports(all_scopes: httpx.AsyncClient, path: str) -> None:
    r = await all_scopes.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["entities"] == ["designations", "firms", "programs", "projects", "technologies"]
    assert "/export/technologies.ndjson" in body["detail"]
    assert body["instance"] == path


@contextlib.asynccontextmanager
async def counted(
    gateway_db: str, conn: db.Conn, **fields: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A gateway app of its own (its metrics start at 0) and a client with a key of every scope."""
    settings = GatewaySettings(
        database_url=gateway_db, log_json=False, kafka_bootstrap="127.0.0.1:1", **fields
    )
    key = await new_key(conn, *SCOPES)
    app = create_app(settings, with_workers=False)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app),
            base_url="http://gateway",
            headers={"X-API-Key": key.secret},
        ) as client,
    ):
        yield app, client


async def test_exports_spend_the_keys_rate_and_are_counted(
    filled: None, gateway_db: str, conn: db.Conn
) -> None:
    async with counted(gateway_db, conn, rate_limit_per_s=0.001, rate_limit_burst=2) as (app, client):
        assert (await client.get("/export/firms.ndjson")).status_code == 200
        assert (await client.get("/export/nothing.ndjson")).status_code == 404
        r = await client.get("/export/firms.ndjson")
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        metrics = await ops.scrape(app)
    # Counted with the GraphQL requests, under operation type "export" and the entity as operation.
    for operation, outcome in (("firms", "ok"), ("unknown", "not_found"), ("firms", "rate_limited")):
        assert (
            f'mpe_gateway_requests_total{{agency="KIAT",operation="{operation}",operation_type="export",'
            f'outcome="{outcome}"}} 1.0'
        ) in metrics
    assert 'mpe_gateway_rejections_total{agency="KIAT",limit="RATE_LIMITED"} 1.0' in metrics


async def test_an_export_that_matches_nothing_is_whole_and_counted_ok(
    filled: None, gateway_db: str, conn: db.Conn
) -> None:
    # Its rows end while the first chunk is read, before the status line: found by a review, it
    # was counted `client_disconnected`.
    async with counted(gateway_db, conn) as (app, client):
        r = await client.get("/export/technologies.ndjson?industry=NONE")
        assert r.status_code == 200
        assert r.content == b""
        metrics = await ops.scrape(app)
    assert (
        'mpe_gateway_requests_total{agency="KIAT",operation="technologies",operation_type="export",'
        'outcome="ok"} 1.0'
    ) in metrics
