"""The rollup on the whole demo (2019-2026): its totals agree with programOverview, its filters and
partner countries with the demo's own records, and a firm's money with its consortia."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import httpx

from mpe_kit import db

from .conftest import gql, new_key
from .demo_events import DEMO

YEARS = range(2019, 2027)
BUDGET = json.loads((DEMO / "budget.json").read_text(encoding="utf-8"))
YEAR_OF = {p["program"]["code"]: p["program"]["fiscal_year"] for p in BUDGET["programs"]}
BORAM = "1388630249"  # a 1st-cohort leading firm of the demo, lead of a Korea-Denmark project


def status(p: dict[str, Any]) -> str:
    return p["transitions"][-1]["to"] if p["transitions"] else "proposed"


def foreign(p: dict[str, Any]) -> set[str]:
    return {m["country"] for m in p["project"].get("participants", []) if m.get("country", "KR") != "KR"}


# Every demo project is committed (none is proposed or terminated before payment): the checks
# below would need the counting rule otherwise, and say so rather than assume it.
assert all(status(p) not in ("proposed", "terminated") for p in BUDGET["projects"])


def _overview_query() -> str:
    years = " ".join(
        f"y{y}: programOverview(fiscalYear: {y}) {{ committedKrw disbursedKrw newProjectCount"
        " continuingProjectCount byIndustry { industry { code nameEn nameKo } committedKrw disbursedKrw projectCount } }"
        for y in YEARS
    )
    return f"""{{
      {years}
      byYear: spending(groupBy: [FISCAL_YEAR]) {{
        fiscalYear industry {{ code }} committedKrw disbursedKrw governmentKrw privateCashKrw
        privateInKindKrw projectCount overlaps
      }}
      byYearIndustry: spending(groupBy: [INDUSTRY, FISCAL_YEAR]) {{
        fiscalYear industry {{ code nameEn nameKo }} committedKrw disbursedKrw projectCount
      }}
      byYearKind: spending(groupBy: [FISCAL_YEAR, PROJECT_KIND]) {{
        fiscalYear committedKrw disbursedKrw governmentKrw privateCashKrw privateInKindKrw projectCount
      }}
    }}"""


async def test_totals_by_year_and_by_industry_equal_program_overview(demo_partner: httpx.AsyncClient) -> None:
    body = await gql(demo_partner, _overview_query())
    assert "errors" not in body, body
    data = body["data"]
    by_year = {r["fiscalYear"]: r for r in data["byYear"]}
    assert sorted(by_year) == list(YEARS)
    assert [r["fiscalYear"] for r in data["byYear"]] == list(YEARS)  # in year order
    government: dict[int, int] = defaultdict(int)
    for p in BUDGET["projects"]:
        government[YEAR_OF[p["project"]["program_code"]]] += p["project"]["government_krw"]
    for y in YEARS:
        overview, row = data[f"y{y}"], by_year[y]
        assert row["committedKrw"] == overview["committedKrw"]
        assert row["disbursedKrw"] == overview["disbursedKrw"]
        assert row["projectCount"] == overview["newProjectCount"] + overview["continuingProjectCount"]
        assert row["governmentKrw"] == str(government[y])
        assert row["industry"] is None
        assert row["overlaps"] is False
        for won in ("committedKrw", "disbursedKrw", "governmentKrw", "privateCashKrw", "privateInKindKrw"):
            assert row[won].isdigit(), (won, row[won])
        # Grouped by kind too, the rollup sums the projects themselves, not the kept sums that
        # byYear, byYearIndustry and programOverview read (migration 0013): the two must agree.
        kinds = [r for r in data["byYearKind"] if r["fiscalYear"] == y]
        for measure in (
            "committedKrw",
            "disbursedKrw",
            "governmentKrw",
            "privateCashKrw",
            "privateInKindKrw",
        ):
            assert sum(int(r[measure]) for r in kinds) == int(row[measure]), (y, measure)
        assert sum(r["projectCount"] for r in kinds) == row["projectCount"]
        cells = [r for r in data["byYearIndustry"] if r["fiscalYear"] == y]
        assert [{k: v for k, v in c.items() if k != "fiscalYear"} for c in cells] == overview["byIndustry"]
    # Whatever the order of groupBy, the rows run in the dimensions' declared order: year, then industry.
    order = [(r["fiscalYear"], r["industry"]["code"]) for r in data["byYearIndustry"]]
    assert order == sorted(order)
    assert any(r["industry"]["nameKo"] == "반도체" for r in data["byYearIndustry"])


FILTERED = """
query($country: String!) {
  newIn2023: spending(groupBy: [PROJECT_KIND], filter: {fiscalYear: 2023, projectKind: NEW}) {
    projectKind committedKrw projectCount
  }
  overview: programOverview(fiscalYear: 2023) { newProjectCount }
  months: spending(groupBy: [PAID_MONTH], filter: {fiscalYear: 2024}) {
    paidMonth committedKrw disbursedKrw governmentKrw projectCount
  }
  year: spending(groupBy: [], filter: {fiscalYear: 2024}) { disbursedKrw }
  countries: spending(groupBy: [PARTNER_COUNTRY]) { partnerCountry projectCount governmentKrw overlaps }
  joint: projects(filter: {partnerCountry: $country}, first: 50) {
    totalCount
    edges { node { code participants { role kind name country governmentKrw firm { brn } } } }
  }
}
"""


async def test_filters_paid_months_and_partner_countries(demo_partner: httpx.AsyncClient) -> None:
    body = await gql(demo_partner, FILTERED, country="DE")
    assert "errors" not in body, body
    data = body["data"]
    (new,) = data["newIn2023"]
    assert new["projectKind"] == "NEW"
    assert new["projectCount"] == data["overview"]["newProjectCount"]

    months = data["months"]
    assert [m["paidMonth"] for m in months] == sorted(m["paidMonth"] for m in months)
    assert all(m["committedKrw"] is None and m["governmentKrw"] is None for m in months)
    assert sum(int(m["disbursedKrw"]) for m in months) == int(data["year"][0]["disbursedKrw"])
    lines: dict[str, int] = defaultdict(int)
    for p in BUDGET["projects"]:
        if YEAR_OF[p["project"]["program_code"]] == 2024:
            for d in p["disbursements"]:
                lines[d["body"]["paid_on"][:7]] += d["body"]["amount_krw"]
    assert {m["paidMonth"]: int(m["disbursedKrw"]) for m in months} == lines

    countries = {r["partnerCountry"]: r for r in data["countries"]}
    expected: dict[str | None, int] = defaultdict(int)
    for p in BUDGET["projects"]:
        for c in foreign(p) or {None}:
            expected[c] += 1
    assert {c: r["projectCount"] for c, r in countries.items()} == expected
    assert {"DE", "DK"} <= countries.keys()
    several = any(len(foreign(p)) > 1 for p in BUDGET["projects"])
    assert any(r["overlaps"] for r in data["countries"]) is several

    joint = data["joint"]
    german = {p["project"]["code"]: p["project"] for p in BUDGET["projects"] if "DE" in foreign(p)}
    assert joint["totalCount"] == len(german)
    for edge in joint["edges"]:
        node = edge["node"]
        members = german[node["code"]]["participants"]
        assert [m["country"] for m in node["participants"]] == [m.get("country", "KR") for m in members]
        assert [m["governmentKrw"] for m in node["participants"]] == [
            str(m.get("government_krw", 0)) for m in members
        ]
        lead = node["participants"][0]
        assert lead["role"] == "LEAD"
        assert lead["firm"]["brn"] == german[node["code"]]["lead_firm_brn"]
        assert all(m["firm"] is None for m in node["participants"] if m["country"] != "KR")


FUNDING = """
query($brn: String!) {
  firm(brn: $brn) {
    funding {
      asLead { governmentKrw privateCashKrw privateInKindKrw committedKrw disbursedKrw projectCount }
      asParticipant { governmentKrw projectCount }
    }
  }
}
"""


async def test_a_firms_money_as_lead_and_as_participant(demo_partner: httpx.AsyncClient) -> None:
    body = await gql(demo_partner, FUNDING, brn=BORAM)
    assert "errors" not in body, body
    funding = body["data"]["firm"]["funding"]
    own = {"government_krw": 0, "private_cash_krw": 0, "private_in_kind_krw": 0}
    committed = disbursed = count = 0
    part_government = part_count = 0
    for p in BUDGET["projects"]:
        project = p["project"]
        members = project.get("participants") or [
            {"role": "lead", "brn": project["lead_firm_brn"], **project}
        ]
        for m in members:
            if m.get("brn") != BORAM:
                continue
            if m["role"] == "lead":
                count += 1
                committed += project["government_krw"]
                disbursed += sum(d["body"]["amount_krw"] for d in p["disbursements"])
                for k in own:
                    own[k] += m.get(k, 0)
            else:
                part_count += 1
                part_government += m.get("government_krw", 0)
    assert count > 0
    assert funding["asLead"] == {
        "governmentKrw": str(own["government_krw"]),
        "privateCashKrw": str(own["private_cash_krw"]),
        "privateInKindKrw": str(own["private_in_kind_krw"]),
        "committedKrw": str(committed),
        "disbursedKrw": str(disbursed),
        "projectCount": count,
    }
    assert funding["asParticipant"] == {"governmentKrw": str(part_government), "projectCount": part_count}


async def test_the_csv_export_parses_back_to_the_rollup_with_korean_names(
    demo_partner: httpx.AsyncClient, conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    r = await demo_partner.get("/export/spending.csv", params={"group_by": "industry,fiscal_year"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.content.startswith(b"\xef\xbb\xbf")  # the BOM a spreadsheet needs to read UTF-8
    table = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    industries = json.loads((DEMO / "catalog.json").read_text(encoding="utf-8"))["industries"]
    names = {i["code"]: (i["name_ko"], i["name_en"]) for i in industries}
    assert {(row["산업명"], row["산업명(영문)"]) for row in table} <= set(names.values())
    assert {row["산업명"] for row in table} >= {"반도체", "디스플레이"}
    for row in table:
        assert (row["산업명"], row["산업명(영문)"]) == names[row["산업코드"]]
    body = await gql(
        demo_partner,
        "{ spending(groupBy: [INDUSTRY, FISCAL_YEAR]) { fiscalYear industry { code } committedKrw"
        " disbursedKrw governmentKrw privateCashKrw privateInKindKrw projectCount overlaps } }",
    )
    graphql = [
        [str(g["industry"]["code"]), str(g["fiscalYear"]), g["committedKrw"], g["disbursedKrw"],
         g["governmentKrw"], g["privateCashKrw"], g["privateInKindKrw"], str(g["projectCount"]),
         "TRUE" if g["overlaps"] else "FALSE"]
        for g in body["data"]["spending"]
    ]  # fmt: skip
    measures = [
        "약정액(원)",
        "지급액(원)",
        "정부출연금(원)",
        "민간현금(원)",
        "민간현물(원)",
        "과제수",
        "중복집계",
    ]
    assert [[row["산업코드"], row["회계연도"], *(row[m] for m in measures)] for row in table] == graphql
    # Bad input is a problem, and the scope is budget:read, as for the GraphQL field.
    bad = await demo_partner.get("/export/spending.csv", params={"group_by": "industry,galaxy"})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert "galaxy" in bad.json()["detail"]
    bad = await demo_partner.get(
        "/export/spending.csv", params={"group_by": "region", "partner_country": "ZZ"}
    )
    assert bad.status_code == 422
    assert "ISO 3166-1" in bad.json()["detail"]
    # Found by a probe: the rollup's refusals named GraphQL's arguments (`partnerCountry`, `brn`)
    # and no field; they name the parameter sent, in `errors` too, as the other exports do.
    for param, value in [("partner_country", "ZZ"), ("paid_month", "2023-13"), ("fiscal_year", "99999"),
                         ("firm", "123"), ("firm_size", "huge")]:  # fmt: skip
        r = await demo_partner.get("/export/spending.csv", params={"group_by": "region", param: value})
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == [param], r.text
        assert not any(
            f"`{name}`" in r.json()["detail"] for name in ("partnerCountry", "paidMonth", "fiscalYear", "brn")
        )
    # Found by a review: a filter named as GraphQL names it was passed over, and the file held
    # the totals of every year.
    bad = await demo_partner.get(
        "/export/spending.csv", params={"group_by": "industry", "fiscalYear": "2023"}
    )
    assert bad.status_code == 422
    assert bad.json()["errors"] == [
        {"field": "fiscalYear", "message": "is not a parameter of this export; did you mean fiscal_year?"}
    ]
    catalog_only = gateway((await new_key(conn, "catalog:read")).secret)
    assert (await catalog_only.get("/export/spending.csv", params={"group_by": "track"})).status_code == 403
    # Which projects a firm leads is the firms' to tell: the firm filter needs firms:read too.
    budget_only = gateway((await new_key(conn, "budget:read")).secret)
    r = await budget_only.get("/export/spending.csv", params={"group_by": "track", "firm": "1234567891"})
    assert r.status_code == 403
    assert r.json()["scope"] == "firms:read"
