"""The demo budget (fiscal years 2019 to 2026) reproduces deploy/demo/SOURCES.md's 2023 figures and keeps the
budget service's rules: yearly records chained, consortia adding up, themes that never grow."""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit

DEMO = Path(__file__).resolve().parents[2] / "deploy" / "demo"
YEAR = 2023
ENVELOPE = 937_560_000_000
CONTINUING = 837_030_000_000
NEW = 100_530_000_000
FIRST_CALL = (96, 52_520_000_000)
TRACKS = {
    "supply-chain-stability": (21, 13_400_000_000),
    "new-industries": (41, 19_490_000_000),
    "esg-carbon-neutral": (34, 19_630_000_000),
}
CAPS = {"large": (50, 15), "mid": (70, 13), "sme": (75, 10)}
"""Government share cap and private cash floor, in percent (Enforcement Decree Art. 19)."""
PROGRAM_KINDS = {"rnd", "alchemist", "infrastructure", "other"}
STAGES = ["concept", "preliminary", "main"]
NEXT = {
    "proposed": {"selected", "terminated"},
    "selected": {"agreement_signed", "terminated"},
    "agreement_signed": {"active", "terminated"},
    "active": {"completed", "terminated"},
}
PAYABLE = {"agreement_signed", "active"}
TECH_CODE = re.compile(r"^[A-Z0-9]+-\d{3}$")
PROGRAM_FIELDS = ["code", "fiscal_year", "name_en", "name_ko", "kind", "track", "budget_krw"]
PROJECT_FIELDS = [
    "code",
    "program_code",
    "title",
    "kind",
    "continues",
    "technology_codes",
    "lead_firm_brn",
    "government_krw",
    "private_cash_krw",
    "private_in_kind_krw",
    "start_on",
    "end_on",
]


def day(s: str) -> date:
    return date.fromisoformat(s)


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    with (DEMO / "budget.json").open(encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


@pytest.fixture(scope="module")
def all_programs(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["program"]["code"]: p["program"] for p in data["programs"]}


@pytest.fixture(scope="module")
def programs(all_programs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The 2023 programs."""
    return {c: p for c, p in all_programs.items() if p["fiscal_year"] == YEAR}


@pytest.fixture(scope="module")
def all_projects(data: dict[str, Any], all_programs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return list(data["projects"])


@pytest.fixture(scope="module")
def projects(all_projects: list[dict[str, Any]], programs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The 2023 yearly records: the first call's 96 projects."""
    return [e for e in all_projects if e["project"]["program_code"] in programs]


@pytest.fixture(scope="module")
def catalog() -> tuple[dict[str, date], set[str]]:
    """Replay catalog.json: the day each code was first listed, and the codes listed today."""
    with (DEMO / "catalog.json").open(encoding="utf-8") as f:
        revisions = sorted(json.load(f)["revisions"], key=lambda r: r["effective_on"])
    first_listed: dict[str, date] = {}
    listed: set[str] = set()
    for revision in revisions:
        for change in revision["changes"]:
            if change["op"] == "add":
                code = change["technology"]["code"]
                first_listed.setdefault(code, day(revision["effective_on"]))
                listed.add(code)
            else:
                listed.discard(change["code"])
    return first_listed, listed


@pytest.fixture(scope="module")
def firm_sizes() -> dict[str, str]:
    with (DEMO / "firms.json").open(encoding="utf-8") as f:
        return {e["firm"]["brn"]: e["firm"]["size"] for e in json.load(f)["firms"]}


def status(entry: dict[str, Any]) -> str:
    """Replay the transitions from proposed; every move must be allowed."""
    current = "proposed"
    for move in entry["transitions"]:
        assert move["to"] in NEXT[current], f"{entry['project']['code']}: {current} -> {move['to']}"
        if move["to"] == "terminated":
            assert move["reason"]
        current = move["to"]
    return current


def test_fiscal_year_envelopes(data: dict[str, Any]) -> None:
    years = {y["year"]: y["body"]["envelope_krw"] for y in data["fiscal_years"]}
    assert sorted(years) == list(range(2019, 2027))
    assert years[YEAR] == ENVELOPE
    assert CONTINUING + NEW == ENVELOPE
    # 2023's +11.5% gives 2022's envelope, to the nearest ₩10m.
    assert abs(years[2022] * 1115 // 1000 - ENVELOPE) < 10_000_000


def test_programs(data: dict[str, Any], programs: dict[str, dict[str, Any]]) -> None:
    assert len(programs) == len([p for p in data["programs"] if p["program"]["fiscal_year"] == YEAR])
    for program in programs.values():
        assert list(program) == PROGRAM_FIELDS
        assert program["fiscal_year"] == YEAR
        assert program["kind"] in PROGRAM_KINDS
        assert program["name_en"]
        assert program["name_ko"]
        assert isinstance(program["budget_krw"], int)
        assert program["budget_krw"] > 0
    assert sum(p["budget_krw"] for p in programs.values()) <= ENVELOPE
    continuing = [p for p in programs.values() if p["track"] is None and p["kind"] == "rnd"]
    assert [p["budget_krw"] for p in continuing] == [CONTINUING]
    new_programs = [p for p in programs.values() if p not in continuing]
    assert sum(p["budget_krw"] for p in new_programs) <= NEW
    assert sorted(p["track"] for p in new_programs if p["track"] is not None) == sorted(TRACKS)
    alchemist = [p for p in new_programs if p["kind"] == "alchemist"]
    assert len(alchemist) == 1
    assert len(new_programs) == len(TRACKS) + 1


def test_alchemist_theme(data: dict[str, Any]) -> None:
    themed = [
        (p["program"], t)
        for p in data["programs"]
        for t in p["themes"]
        if p["program"]["fiscal_year"] == YEAR
    ]
    assert len(themed) == 1
    program, theme = themed[0]
    assert program["kind"] == "alchemist"
    assert theme["theme_code"]
    assert theme["body"]["title"]
    stages = theme["body"]["stages"]
    assert [s["stage"] for s in stages] == STAGES
    teams = [s["teams"] for s in stages]
    assert teams == [6, 3, 1]
    assert all(a >= b for a, b in itertools.pairwise(teams))


def test_first_call_figures(projects: list[dict[str, Any]], programs: dict[str, dict[str, Any]]) -> None:
    assert (len(projects), sum(p["project"]["government_krw"] for p in projects)) == FIRST_CALL
    by_track: dict[str, list[int]] = defaultdict(list)
    for entry in projects:
        project = entry["project"]
        by_track[programs[project["program_code"]]["track"]].append(project["government_krw"])
    assert {track: (len(v), sum(v)) for track, v in by_track.items()} == TRACKS
    for amounts in by_track.values():
        assert len(set(amounts)) > len(amounts) // 2, "amounts vary from project to project"


def test_projects_are_well_formed(
    projects: list[dict[str, Any]], programs: dict[str, dict[str, Any]]
) -> None:
    codes = [e["project"]["code"] for e in projects]
    assert len(set(codes)) == len(codes)
    titles = [e["project"]["title"] for e in projects]
    assert len(set(titles)) == len(titles)
    for entry in projects:
        assert list(entry) == ["project", "transitions", "disbursements"]
        project = entry["project"]
        assert list(project) == PROJECT_FIELDS  # no consortium: the lead firm alone, or nobody
        program = programs[project["program_code"]]
        assert program["kind"] == "rnd"
        assert program["track"] in TRACKS, "first-call projects sit in the track programs only"
        assert project["kind"] == "new"
        assert project["continues"] is None
        assert re.search("[가-힣]", project["title"])
        assert re.search("[A-Za-z]{4}", project["title"])
        for field in ("government_krw", "private_cash_krw", "private_in_kind_krw"):
            assert isinstance(project[field], int)
            assert project[field] >= 0
        assert project["government_krw"] > 0
        start, end = day(project["start_on"]), day(project["end_on"])
        assert start.year == YEAR
        assert end > start


def test_technologies_are_currently_listed(
    projects: list[dict[str, Any]], catalog: tuple[dict[str, date], set[str]]
) -> None:
    first_listed, listed = catalog
    primaries = []
    for entry in projects:
        project = entry["project"]
        codes = project["technology_codes"]
        assert 1 <= len(codes) <= 3
        assert len(set(codes)) == len(codes)
        for code in codes:
            assert TECH_CODE.match(code)
            assert code in listed, f"{project['code']}: {code} is not currently listed"
            assert first_listed[code] <= day(project["start_on"]), f"{code} listed after the start"
        primaries.append(codes[0])
    assert len(set(primaries)) == len(primaries)


def test_lead_firms_and_cost_shares(projects: list[dict[str, Any]], firm_sizes: dict[str, str]) -> None:
    led = 0
    for entry in projects:
        project = entry["project"]
        brn = project["lead_firm_brn"]
        if brn is None:
            continue
        led += 1
        assert brn in firm_sizes, f"{project['code']}: unknown firm {brn}"
        cap, floor = CAPS[firm_sizes[brn]]
        gov, cash, in_kind = (
            project["government_krw"],
            project["private_cash_krw"],
            project["private_in_kind_krw"],
        )
        assert gov * 100 <= cap * (gov + cash + in_kind), project["code"]
        assert cash * 100 >= floor * (cash + in_kind), project["code"]
    assert len(projects) * 3 // 4 <= led < len(projects), "most, not all, projects have a lead firm"


def test_statuses(projects: list[dict[str, Any]]) -> None:
    statuses = Counter(status(entry) for entry in projects)
    assert set(statuses) == {"selected", "agreement_signed", "active"}
    assert all(n > 0 for n in statuses.values())


def test_commitments_within_program_budgets(
    projects: list[dict[str, Any]], programs: dict[str, dict[str, Any]]
) -> None:
    committed: Counter[str] = Counter()
    for entry in projects:
        if status(entry) != "proposed":
            committed[entry["project"]["program_code"]] += entry["project"]["government_krw"]
    for code, amount in committed.items():
        assert amount <= programs[code]["budget_krw"], code


def test_disbursements(projects: list[dict[str, Any]]) -> None:
    keys: list[str] = []
    paid = 0
    for entry in projects:
        project = entry["project"]
        total = 0
        for payment in entry["disbursements"]:
            assert status(entry) in PAYABLE
            assert list(payment) == ["idempotency_key", "body"]
            keys.append(payment["idempotency_key"])
            body = payment["body"]
            assert isinstance(body["amount_krw"], int)
            assert body["amount_krw"] > 0
            paid_on = day(body["paid_on"])
            assert paid_on.year == YEAR
            assert day(project["start_on"]) <= paid_on < day(project["end_on"])  # end_on is the day after
            total += body["amount_krw"]
        assert total <= project["government_krw"], project["code"]
        paid += total
    assert len(keys) == len(set(keys))
    assert keys
    assert 0 < paid < FIRST_CALL[1]


def test_budget_json_is_what_generate_budget_py_writes() -> None:
    spec = importlib.util.spec_from_file_location("demo_generate_budget", DEMO / "generate_budget.py")
    assert spec is not None
    assert spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    assert (DEMO / "budget.json").read_text(encoding="utf-8") == generate.render()


# over the years

AS_OF = date(2026, 11, 25)
FIRST_LIST = date(2020, 4, 1)
NEW_INDUSTRIES = {"AERO", "DEF", "H2"}


def year_of(entry: dict[str, Any], all_programs: dict[str, dict[str, Any]]) -> int:
    return int(all_programs[entry["project"]["program_code"]]["fiscal_year"])


def test_every_year_has_programs_within_its_envelope(
    data: dict[str, Any], all_programs: dict[str, dict[str, Any]]
) -> None:
    envelopes = {y["year"]: y["body"]["envelope_krw"] for y in data["fiscal_years"]}
    for year, envelope in envelopes.items():
        budgets = [p["budget_krw"] for p in all_programs.values() if p["fiscal_year"] == year]
        assert budgets, year
        assert sum(budgets) <= envelope, year
    for program in all_programs.values():
        assert list(program) == PROGRAM_FIELDS
        assert program["kind"] in PROGRAM_KINDS


def test_yearly_records_chain_year_to_year_once(
    all_projects: list[dict[str, Any]], all_programs: dict[str, dict[str, Any]]
) -> None:
    by_code = {e["project"]["code"]: e for e in all_projects}
    position = {e["project"]["code"]: i for i, e in enumerate(all_projects)}
    continued = Counter(e["project"]["continues"] for e in all_projects if e["project"]["continues"])
    assert max(continued.values()) == 1, "a record is continued by one record at most"
    for entry in all_projects:
        project = entry["project"]
        previous = project["continues"]
        assert (project["kind"] == "continuing") == (previous is not None)
        if previous is None:
            continue
        assert year_of(by_code[previous], all_programs) == year_of(entry, all_programs) - 1
        assert position[previous] < position[project["code"]], "loaded after the record it continues"
        assert by_code[previous]["project"]["lead_firm_brn"] == project["lead_firm_brn"]
    # The 2023 first-call projects run on to their end; 2023 itself continues nothing in the dataset.
    years = Counter(year_of(e, all_programs) for e in all_projects if e["project"]["continues"])
    assert set(years) == {2020, 2021, 2022, 2024, 2025, 2026}
    assert continued.keys() >= {
        e["project"]["code"] for e in all_projects if e["project"]["code"].startswith("MP23-")
    }


def test_moves_are_dated_in_order_and_payments_are_lines_with_dates(
    all_projects: list[dict[str, Any]], all_programs: dict[str, dict[str, Any]]
) -> None:
    statuses: Counter[str] = Counter()
    for entry in all_projects:
        days = [day(t["effective_on"]) for t in entry["transitions"]]
        assert days == sorted(days), entry["project"]["code"]
        assert days[-1] <= AS_OF
        final = status(entry)
        statuses[final] += 1
        year = year_of(entry, all_programs)
        total = 0
        for payment in entry["disbursements"]:
            paid_on = day(payment["body"]["paid_on"])
            assert paid_on.year == year
            assert paid_on <= AS_OF
            total += payment["body"]["amount_krw"]
        assert total <= entry["project"]["government_krw"]
        if final == "completed":
            assert total == entry["project"]["government_krw"], "a finished year is paid in full"
    assert statuses["completed"] > 100


def test_technologies_of_every_year_are_listed(
    all_projects: list[dict[str, Any]], catalog: tuple[dict[str, date], set[str]]
) -> None:
    first_listed, listed = catalog
    industries: Counter[str] = Counter()
    for entry in all_projects:
        project = entry["project"]
        for code in project["technology_codes"]:
            assert code in listed, f"{project['code']}: {code} is not on the current list"
            # 2019's projects answered the export restrictions before the first list named their technologies.
            assert first_listed[code] <= max(day(project["start_on"]), FIRST_LIST), project["code"]
        industries[project["technology_codes"][0].split("-")[0]] += 1
    assert all(industries[i] >= 2 for i in NEW_INDUSTRIES), industries


def test_joint_projects_with_german_and_danish_partners_add_up(
    all_projects: list[dict[str, Any]], firm_sizes: dict[str, str]
) -> None:
    joint = [e["project"] for e in all_projects if "participants" in e["project"]]
    new_joint = [p for p in joint if p["kind"] == "new"]
    assert len(new_joint) >= 10
    for project in joint:
        members = project["participants"]
        assert [m["role"] for m in members].count("lead") == 1
        assert members[0]["brn"] == project["lead_firm_brn"]
        assert {m.get("country", "KR") for m in members} & {"DE", "DK"}
        for column in ("government_krw", "private_cash_krw", "private_in_kind_krw"):
            assert sum(m.get(column, 0) for m in members) == project[column], project["code"]
        korean = [m for m in members if m.get("country", "KR") == "KR"]
        gov = sum(m.get("government_krw", 0) for m in korean)
        cash = sum(m.get("private_cash_krw", 0) for m in korean)
        in_kind = sum(m.get("private_in_kind_krw", 0) for m in korean)
        cap, floor = CAPS[firm_sizes[project["lead_firm_brn"]]]
        assert gov * 100 <= cap * (gov + cash + in_kind), project["code"]
        assert cash * 100 >= floor * (cash + in_kind), project["code"]
    assert {m["country"] for p in new_joint for m in p["participants"] if "country" in m} == {"DE", "DK"}


def test_an_alchemist_theme_runs_over_three_years_and_never_grows(
    data: dict[str, Any], all_projects: list[dict[str, Any]], all_programs: dict[str, dict[str, Any]]
) -> None:
    by_code = {e["project"]["code"]: e for e in all_projects}
    themes = [t["body"] for p in data["programs"] for t in p["themes"] if p["program"]["fiscal_year"] != YEAR]
    assert len(themes) == 1
    stages = themes[0]["stages"]
    assert [(s["stage"], s["fiscal_year"], s["teams"]) for s in stages] == [
        ("concept", 2024, 6),
        ("preliminary", 2025, 3),
        ("main", 2026, 1),
    ]
    for earlier, later in itertools.pairwise(stages):
        assert later["teams"] <= earlier["teams"]
        # Every team of a stage continues a team of the stage before.
        assert {by_code[c]["project"]["continues"] for c in later["project_codes"]} <= set(
            earlier["project_codes"]
        )
    for stage in stages:
        assert len(stage["project_codes"]) == stage["teams"]
        for code in stage["project_codes"]:
            program = all_programs[by_code[code]["project"]["program_code"]]
            assert (program["kind"], program["fiscal_year"]) == ("alchemist", stage["fiscal_year"])
