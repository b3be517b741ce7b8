"""GET /export/{entity}.csv and the exports' filters: the same lines as NDJSON, for spreadsheets."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gateway.http.export_entities import ENTITIES
from mpe_kit import db

from .conftest import apply, new_key, program, program_event, project, project_event
from .test_export import BORAM, filled, lines  # noqa: F401

pytestmark = pytest.mark.usefixtures("filled")


@pytest.fixture
async def client(gateway: Callable[..., httpx.AsyncClient], conn: db.Conn) -> httpx.AsyncClient:
    return gateway((await new_key(conn, "catalog:read", "firms:read", "budget:read")).secret)


def records(r: httpx.Response) -> list[dict[str, str]]:
    """The CSV body's records by header, after checking the BOM."""
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.content.startswith(b"\xef\xbb\xbf")
    # utf-8-sig is how a reader that knows the BOM takes it off.
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))


def as_cells(line: dict[str, Any]) -> dict[str, str]:
    """An NDJSON line as the CSV writes it."""
    out: dict[str, str] = {}
    for k, v in line.items():
        if v is None:
            out[k] = ""
        elif isinstance(v, list) and all(isinstance(x, str) for x in v):
            out[k] = ";".join(v)
        elif isinstance(v, list):
            out[k] = json.dumps(v, ensure_ascii=False, separators=(",", ":"))
        else:
            out[k] = str(v)
    return out


async def test_each_csv_holds_the_ndjson_lines_under_a_header(client: httpx.AsyncClient) -> None:
    for name in ENTITIES:
        r = await client.get(f"/export/{name}.csv")
        assert r.headers["content-disposition"] == f'attachment; filename="{name}.csv"'
        got = records(r)
        expected = lines(await client.get(f"/export/{name}.ndjson"))
        assert got == [as_cells(line) for line in expected], name
        header = r.content.decode("utf-8-sig").split("\r\n", 1)[0]
        assert header.split(",") == list(expected[0]), name
    # Korean names come back as they were written, and lists are one cell.
    firms = records(await client.get("/export/firms.csv"))
    boram = next(f for f in firms if f["brn"] == BORAM)
    assert boram["nameKo"] == "주식회사 보람"
    assert boram["technologyCodes"] == "SEMI-004;SEMI-001"
    programs = records(await client.get("/export/programs.csv"))
    themes = json.loads(next(p for p in programs if p["code"] == "MP23-ALC")["themes"])
    assert themes[0]["title"] == "무탄소 암모니아 (Zero-carbon ammonia)"


async def test_an_empty_csv_is_its_header(client: httpx.AsyncClient) -> None:
    r = await client.get("/export/projects.csv?fiscal_year=1999")
    assert records(r) == []
    assert r.content.decode("utf-8-sig") == ",".join(ENTITIES["projects"].columns) + "\r\n"


@pytest.fixture
async def next_year(conn: db.Conn) -> None:
    """A 2024 program with one project on a display technology."""
    await apply(
        conn,
        program_event(program("MP-2024", fiscal_year=2024)),
        project_event(
            project("MP24-001", program_code="MP-2024", fiscal_year=2024, technology_codes=["SEMI-025"])
        ),
    )


@pytest.mark.usefixtures("next_year")
@pytest.mark.parametrize("suffix", [".ndjson", ".csv"])
@pytest.mark.parametrize(
    ("path", "keys"),
    [
        ("technologies?industry=DISP", ["SEMI-025"]),
        ("projects?fiscal_year=2024", ["MP24-001"]),
        ("projects?fiscal_year=2023", ["MP23-001", "MP23-002", "MP23-003"]),
        ("projects?program=MP23-ALC", ["MP23-003"]),
        ("projects?industry=DISP", ["MP24-001"]),  # by the primary technology's industry
        ("projects?industry=SEMI&fiscal_year=2023&program=MP-2023", ["MP23-001", "MP23-002"]),
        ("projects?industry=NONE", []),
        ("programs?fiscal_year=2024", ["MP-2024"]),
    ],
)
async def test_filters_narrow_both_formats(
    client: httpx.AsyncClient, suffix: str, path: str, keys: list[str]
) -> None:
    name, query = path.split("?")
    r = await client.get(f"/export/{name}{suffix}?{query}")
    rows: list[dict[str, Any]] = records(r) if suffix == ".csv" else lines(r)
    assert [row["code"] for row in rows] == keys


@pytest.mark.parametrize("suffix", [".ndjson", ".csv"])
@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("firms?industry=SEMI", 400, "industry"),
        ("designations?fiscal_year=2023", 400, "fiscal_year"),
        ("technologies?program=MP-2023", 400, "program"),
        ("projects?fiscal_year=twenty", 422, "fiscal_year"),
        ("projects?fiscal_year=0", 422, "fiscal_year"),
        ("programs?fiscal_year=2023&fiscal_year=2024", 422, "fiscal_year"),
        ("projects?industry=", 422, "industry"),
        # Found by a review: a NUL passed, and the stream broke after a 200 with no rows.
        ("technologies?industry=%00", 422, "industry"),
        ("projects?program=MP%00", 422, "program"),
        # Found by a review: a name the export does not know (GraphQL's camelCase, a typo) was
        # passed over, and the export answered every row.
        ("projects?fiscalYear=2023", 400, "fiscalYear"),
        ("programs?fiscal_yaer=2023", 400, "fiscal_yaer"),
    ],
)
async def test_a_bad_filter_is_a_problem(
    client: httpx.AsyncClient, suffix: str, path: str, status: int, field: str
) -> None:
    name, query = path.split("?")
    r = await client.get(f"/export/{name}{suffix}?{query}")
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert [e["field"] for e in body["errors"]] == [field]
    assert body["instance"] == f"/export/{name}{suffix}"
    if status == 400:
        assert body["filters"] == list(ENTITIES[name].filters)
    if field == "fiscalYear":
        assert body["errors"][0]["message"].endswith("did you mean fiscal_year?")


async def test_a_bad_filter_is_explained_in_korean_when_asked(client: httpx.AsyncClient) -> None:
    korean = {"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8"}
    r = await client.get("/export/projects.csv?fiscalYear=2023", headers=korean)
    assert r.status_code == 400
    assert r.headers["content-language"] == "ko"
    body = r.json()
    assert body["title"] == "잘못된 요청"
    assert body["detail"].startswith("projects 내보내기가 받는 필터는 ")
    assert body["errors"] == [
        {
            "field": "fiscalYear",
            "message": "이 내보내기의 매개변수가 아닙니다. fiscal_year을(를) 의도하셨습니까?",
        }
    ]
    r = await client.get("/export/projects.csv?fiscal_year=twenty", headers=korean)
    assert r.status_code == 422
    assert r.json()["errors"][0]["message"] == "2023처럼 1~9999의 연도여야 합니다. 받은 값: 'twenty'"
    english = await client.get("/export/projects.csv?fiscalYear=2023")
    assert english.json()["title"] == "Bad Request"
    assert "content-language" not in english.headers
