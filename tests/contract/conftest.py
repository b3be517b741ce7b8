"""The gateway in this process over a read model filled through its projection handlers.

The dataset is a small slice of the demo dataset (`deploy/demo/`), with the demo's codes, BRNs
and names, so the partner guide's examples answer the same way on `make dev`. It adds what the
demo lacks and the guide asks about: a firm and projects on a technology the 2022 revision
retired, a continuing project, money paid out, and two fiscal years.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import BaseModel

from gateway.app import all_migrations, create_app
from gateway.partners import keys
from gateway.projector.handlers import HANDLERS, record_positions
from gateway.settings import GatewaySettings
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
    PROJECT_DISBURSED,
    PROJECT_EVENTS,
    REVISION_PUBLISHED,
    TECHNOLOGY_LISTED,
    TECHNOLOGY_RETIRED,
)
from mpe_events.registry import source as event_source
from mpe_kit import db, migrations
from mpe_kit.consumer import Event, Position

BORAM = "1388630249"  # Boram Materials, a 1st-cohort leading firm of the demo
SAEROM = "2148612036"  # invented here: holds a technology the 2022 revision retired
REVISION_2020 = uuid.UUID("00000000-0000-4000-8000-000000002020")
REVISION_2022 = uuid.UUID("00000000-0000-4000-8000-000000002022")
LISTED_2020 = date(2020, 4, 1)
REVISED_2022 = date(2022, 10, 18)
TERM_YEARS = {"leading": 5, "specialized": 3}


class Dataset:
    """Events in the order the services would publish them, each with its topic offset."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._offsets: dict[str, Iterator[int]] = {}

    def add(self, event_type: str, data: BaseModel, subject: str) -> None:
        topic = EVENT_TYPES[event_type].topic.name
        offset = next(self._offsets.setdefault(topic, itertools.count()))
        env = Envelope(
            id=uuid.uuid4(),
            source=event_source(event_type.split(".")[2]),
            type=event_type,
            subject=subject,
            time=datetime.now(UTC),
            data=data.model_dump(mode="json"),
        )
        self.events.append(Event(env, data, topic, 0, offset))

    def positions(self) -> list[Position]:
        """Every topic projected to its end, as the projector records it after a batch."""
        ends: dict[str, int] = {}
        for e in self.events:
            ends[e.topic] = max(ends.get(e.topic, 0), e.offset + 1)
        return [Position(topic, 0, end, end) for topic, end in ends.items()]


def _technology(
    code: str, kind: str, name_en: str, name_ko: str, *, listed_on: date = LISTED_2020, **fields: Any
) -> cev.TechnologyV1:
    return cev.TechnologyV1.model_validate(
        {
            "code": code,
            "industry_code": code.split("-")[0],
            "kind": kind,
            "name_en": name_en,
            "name_ko": name_ko,
            "description": "",
            "status": "listed",
            "listed_on": listed_on,
            "retired_on": None,
            "version": 1,
            "revision_id": REVISION_2020 if listed_on == LISTED_2020 else REVISION_2022,
            **fields,
        }
    )


def _firm(brn: str, name_en: str, name_ko: str, size: str, ratio: float, codes: list[str]) -> fev.FirmV1:
    return fev.FirmV1.model_validate(
        {
            "brn": brn,
            "brn_display": f"{brn[:3]}-{brn[3:5]}-{brn[5:]}",
            "name_en": name_en,
            "name_ko": name_ko,
            "size": size,
            "size_since": date(2017, 1, 1),
            "region": "경기",
            "mpe_sales_ratio": ratio,
            "technology_codes": codes,
            "confirmations": [
                {"technology_code": c, "issued_on": date(2020, 7, 29), "valid_until": date(2023, 7, 29)}
                for c in codes
            ],
            "version": 1 + len(codes),
        }
    )


def _designation(
    brn: str, kind: str, cohort: int | None, codes: list[str], applied_on: date, *moves: tuple[str, date]
) -> fev.DesignationV1:
    """Applied for on `applied_on`, then moved (status, effective day) in order, as the firms service does."""
    history = [
        fev.TransitionV1(
            from_status=None,
            to_status="applied",
            at=datetime.combine(applied_on, datetime.min.time(), UTC),
            effective_on=applied_on,
            actor="staff@motie.go.kr",
            reason=None,
        )
    ]
    status, designated_on, valid_until = "applied", None, None
    for to, on in moves:
        history.append(
            fev.TransitionV1(
                from_status=status,  # type: ignore[arg-type]
                to_status=to,  # type: ignore[arg-type]
                at=datetime.combine(on, datetime.min.time(), UTC),
                effective_on=on,
                actor="staff@motie.go.kr",
                reason=None,
            )
        )
        status = to
        if to == "designated":
            designated_on, valid_until = on, on.replace(year=on.year + TERM_YEARS[kind])
    return fev.DesignationV1.model_validate(
        {
            "id": uuid.uuid5(uuid.NAMESPACE_URL, f"designation:{brn}:{kind}:{cohort}"),
            "brn": brn,
            "kind": kind,
            "cohort": cohort,
            "technology_codes": codes,
            "status": status,
            "applied_on": applied_on,
            "designated_on": designated_on,
            "valid_until": valid_until,
            "history": history,
            "version": len(history),
        }
    )


def _program(code: str, year: int, name_en: str, name_ko: str, budget: int, **fields: Any) -> bev.ProgramV1:
    return bev.ProgramV1.model_validate(
        {
            "code": code,
            "fiscal_year": year,
            "name_en": name_en,
            "name_ko": name_ko,
            "kind": "rnd",
            "track": None,
            "budget_krw": budget,
            "themes": [],
            "version": 1,
            **fields,
        }
    )


def _project(code: str, program: str, year: int, status: str, **fields: Any) -> bev.ProjectV1:
    government = fields.pop("government_krw", 1_000_000_000)
    return bev.ProjectV1.model_validate(
        {
            "code": code,
            "program_code": program,
            "fiscal_year": year,
            "title": f"Project {code}",
            "kind": "new",
            "continues": None,
            "technology_codes": [],
            "lead_firm_brn": None,
            "government_krw": government,
            "private_cash_krw": government // 5,
            "private_in_kind_krw": government // 10,
            "start_on": date(year, 4, 1),
            "end_on": date(year, 12, 31),
            "status": status,
            "committed_krw": government,
            "disbursed_krw": 0,
            "version": 4,
            **fields,
        }
    )


def dataset() -> Dataset:
    """The events of the contract tests' read model."""
    d = Dataset()
    for code, en, ko in (("SEMI", "Semiconductors", "반도체"), ("DISP", "Display", "디스플레이")):
        d.add(INDUSTRY_CREATED.type, cev.IndustryV1(code=code, name_en=en, name_ko=ko, version=1), code)
    d.add(
        REVISION_PUBLISHED.type,
        cev.RevisionV1(
            id=REVISION_2020,
            title="2020 key strategic technology list",
            decided_on=LISTED_2020,
            effective_on=LISTED_2020,
            status="published",
            changes=[],
            published_at=datetime(2020, 4, 1, tzinfo=UTC),
            version=2,
        ),
        str(REVISION_2020),
    )
    technologies = [
        _technology("SEMI-001", "material", "Photoresist", "포토레지스트"),
        _technology(
            "SEMI-011", "equipment", "Wafer inspection and metrology system", "웨이퍼 검사·계측 장비"
        ),
        _technology("SEMI-013", "part", "Silicon carbide focus ring", "SiC 포커스 링"),
        _technology(
            "SEMI-016",
            "equipment",
            "Batch wet cleaning equipment for 200 mm wafers",
            "200mm 웨이퍼용 배치식 습식 세정 장비",
        ),
        _technology("DISP-001", "material", "Fluorinated polyimide", "불화 폴리이미드"),
    ]
    for t in technologies:
        d.add(TECHNOLOGY_LISTED.type, t, t.code)
    d.add(
        REVISION_PUBLISHED.type,
        cev.RevisionV1(
            id=REVISION_2022,
            title="2022 revision, 10th MPE Competitiveness Committee",
            decided_on=REVISED_2022,
            effective_on=REVISED_2022,
            status="published",
            changes=[
                cev.RetireChangeV1(op="retire", code="SEMI-016"),
                cev.AddChangeV1(
                    op="add",
                    technology=cev.TechnologyFieldsV1(
                        code="SEMI-018",
                        industry_code="SEMI",
                        kind="material",
                        name_en="Sputtering target for advanced interconnects",
                        name_ko="첨단 배선용 스퍼터링 타깃",
                        description="",
                    ),
                ),
            ],
            published_at=datetime(2022, 10, 18, tzinfo=UTC),
            version=2,
        ),
        str(REVISION_2022),
    )
    retired = technologies[3].model_copy(
        update={"status": "retired", "retired_on": REVISED_2022, "version": 2, "revision_id": REVISION_2022}
    )
    d.add(TECHNOLOGY_RETIRED.type, retired, retired.code)
    added = _technology(
        "SEMI-018",
        "material",
        "Sputtering target for advanced interconnects",
        "첨단 배선용 스퍼터링 타깃",
        listed_on=REVISED_2022,
    )
    d.add(TECHNOLOGY_LISTED.type, added, added.code)

    boram = _firm(
        BORAM, "Boram Materials Co., Ltd.", "주식회사 보람머티리얼즈", "mid", 0.59, ["SEMI-001", "SEMI-013"]
    )
    saerom = _firm(
        SAEROM, "Saerom Cleantech Co., Ltd.", "주식회사 새롬클린텍", "sme", 0.72, ["SEMI-001", "SEMI-016"]
    )
    for f in (boram, saerom):
        d.add(FIRM_REGISTERED.type, f, f.brn)
    designations = [
        _designation(
            BORAM,
            "leading",
            1,
            ["SEMI-001", "SEMI-013"],
            date(2020, 10, 13),
            ("under_review", date(2020, 10, 19)),
            ("designated", date(2021, 1, 11)),
        ),
        _designation(
            SAEROM,
            "specialized",
            None,
            ["SEMI-016"],
            date(2020, 11, 2),
            ("under_review", date(2020, 11, 16)),
            ("designated", date(2021, 3, 2)),
        ),
        _designation(
            SAEROM,
            "leading",
            2,
            ["SEMI-001"],
            date(2021, 9, 1),
            ("under_review", date(2021, 9, 15)),
            ("designated", date(2022, 5, 2)),
        ),
    ]
    for g in designations:
        d.add(DESIGNATION_EVENTS[g.status].type, g, str(g.id))

    for year, envelope in ((2022, 838_000_000_000), (2023, 937_560_000_000)):
        d.add(FISCAL_YEAR_SET.type, bev.FiscalYearV1(year=year, envelope_krw=envelope, version=1), str(year))
    programs = [
        _program(
            "MP22-RND", 2022, "Materials & Parts Technology Development", "소재부품기술개발", 838_000_000_000
        ),
        _program(
            "MP23-CONT",
            2023,
            "Materials & Parts Technology Development: continuing projects",
            "소재부품기술개발 (계속과제)",
            837_030_000_000,
        ),
        _program(
            "MP23-SC",
            2023,
            "Materials & Parts Technology Development: supply-chain stability (new projects)",
            "소재부품기술개발 공급망 안정화 (신규)",
            20_000_000_000,
            track="supply-chain-stability",
        ),
        _program(
            "MP23-ALC",
            2023,
            "Alchemist Project (new themes)",
            "알키미스트 프로젝트 (신규)",
            20_530_000_000,
            kind="alchemist",
            themes=[
                {
                    "code": "MP23-ALC-T01",
                    "title": "상온·상압 무탄소 암모니아 합성 촉매 (Zero-carbon ammonia synthesis catalyst)",
                    "stages": [
                        {"stage": "concept", "teams": 6},
                        {"stage": "preliminary", "teams": 3},
                        {"stage": "main", "teams": 1},
                    ],
                }
            ],
        ),
    ]
    for p in programs:
        d.add(PROGRAM_CREATED.type, p, p.code)
    projects = [
        _project(
            "MP22-RND-004",
            "MP22-RND",
            2022,
            "completed",
            technology_codes=["SEMI-016"],
            lead_firm_brn=SAEROM,
            government_krw=800_000_000,
            disbursed_krw=800_000_000,
        ),
        _project(
            "MP23-CONT-004",
            "MP23-CONT",
            2023,
            "active",
            kind="continuing",
            continues="MP22-RND-004",
            technology_codes=["SEMI-016", "SEMI-001"],
            lead_firm_brn=SAEROM,
            government_krw=800_000_000,
            disbursed_krw=400_000_000,
        ),
        _project(
            "MP23-SC-001",
            "MP23-SC",
            2023,
            "active",
            title="포토레지스트 국산화 및 양산 기술 개발 (Localization and mass production of photoresist)",
            technology_codes=["SEMI-001", "SEMI-011"],
            lead_firm_brn=BORAM,
            government_krw=627_000_000,
            private_cash_krw=73_000_000,
            private_in_kind_krw=196_000_000,
            start_on=date(2023, 4, 1),
            end_on=date(2026, 12, 31),
            disbursed_krw=300_000_000,
        ),
        _project(
            "MP23-ALC-T01-C1",
            "MP23-ALC",
            2023,
            "agreement_signed",
            technology_codes=["DISP-001"],
            government_krw=200_000_000,
        ),
    ]
    for j in projects:
        d.add(PROJECT_DISBURSED.type if j.disbursed_krw else PROJECT_EVENTS[j.status].type, j, j.code)
    return d


DIGITS = re.compile(r"[0-9]+")


def assert_won_are_digits(data: Any, context: str) -> None:
    """Every `…Krw` value (the Won scalar) anywhere in an answer is null or a string of digits."""

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif key.endswith("Krw"):
            assert value is None or (isinstance(value, str) and DIGITS.fullmatch(value)), (
                f"{key} = {value!r} for:\n{context}"
            )

    walk(data, "")


@dataclass
class Partner:
    """A client of the running gateway that sends a key with every scope."""

    client: httpx.AsyncClient
    settings: GatewaySettings

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        """POST one GraphQL request."""
        return await self.client.post("/graphql", json={"query": query, "variables": variables or {}})


@pytest.fixture(scope="package")
async def partner(pg: PostgresServer) -> AsyncIterator[Partner]:
    """The gateway app (no projector) over the dataset, and a client with a key of every scope."""
    name = f"gateway_contract_{uuid.uuid4().hex[:10]}"
    pg.create_database(name)
    dsn = pg.dsn(name)
    try:
        await migrations.migrate(dsn, all_migrations())
        data = dataset()
        conn = await db.connect(dsn)
        try:
            async with conn.transaction():
                for e in data.events:
                    await HANDLERS[e.envelope.type](conn, e)
                await record_positions(conn, data.events, data.positions())
            key = await keys.create(conn, agency="KEIT", scopes=list(keys.SCOPES))
        finally:
            await conn.close()
        # No rate limit: the fuzz tests send hundreds of requests a few seconds apart.
        settings = GatewaySettings(
            database_url=dsn, log_json=False, kafka_bootstrap="127.0.0.1:1", rate_limit_per_s=0
        )
        app = create_app(settings, with_workers=False)
        async with (
            LifespanManager(app) as manager,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app, raise_app_exceptions=False),
                base_url="http://gateway",
                headers={"X-API-Key": key.secret},
            ) as client,
        ):
            yield Partner(client, settings)
    finally:
        pg.drop_database(name)
