"""The demo technology list replays into the counts of deploy/demo/SOURCES.md, revision by revision."""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit

DEMO = Path(__file__).resolve().parents[2] / "deploy" / "demo"
KINDS = {"material", "part", "equipment"}
CODE = re.compile(r"^[A-Z0-9]+-\d{3}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INDUSTRY_NAMES_KO = {
    "반도체",
    "디스플레이",
    "자동차",
    "기계금속",
    "전기전자",
    "기초화학",
    "바이오",
    "우주항공",
    "방산",
    "수소",
}
COUNTS_2020 = {"SEMI": 17, "DISP": 10, "AUTO": 13, "MACH": 38, "ELEC": 18, "CHEM": 4}
COUNTS_2022 = {
    "SEMI": 32,
    "DISP": 14,
    "AUTO": 15,
    "MACH": 44,
    "ELEC": 25,
    "CHEM": 15,
    "BIO": 5,
}
NEW_INDUSTRIES_2024 = {"AERO": 20, "DEF": 2, "H2": 18}
JAPAN_2019 = {
    "Photoresist": "포토레지스트",
    "Fluorinated polyimide": "불화 폴리이미드",
    "High-purity hydrogen fluoride": "고순도 불화수소",
}


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    with (DEMO / "catalog.json").open(encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


def replay(data: dict[str, Any]) -> list[dict[str, dict[str, Any]]]:
    """Replay the revisions in order; the listed technologies by code after each one."""
    listed: dict[str, dict[str, Any]] = {}
    after: list[dict[str, dict[str, Any]]] = []
    for revision in data["revisions"]:
        for change in revision["changes"]:
            if change["op"] == "add":
                tech = change["technology"]
                assert tech["code"] not in listed
                listed[tech["code"]] = tech
            else:
                assert change["op"] == "retire"
                assert change["code"] in listed, f"retire of unlisted {change['code']}"
                del listed[change["code"]]
        after.append(dict(listed))
    return after


@pytest.fixture(scope="module")
def snapshots(data: dict[str, Any]) -> list[dict[str, dict[str, Any]]]:
    return replay(data)


def added(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [c["technology"] for r in data["revisions"] for c in r["changes"] if c["op"] == "add"]


def retired_per_revision(data: dict[str, Any]) -> list[list[str]]:
    return [[c["code"] for c in r["changes"] if c["op"] == "retire"] for r in data["revisions"]]


def by_industry(listed: dict[str, dict[str, Any]]) -> dict[str, int]:
    return dict(Counter(t["industry_code"] for t in listed.values()))


def test_ten_industries_with_unique_codes(data: dict[str, Any]) -> None:
    industries = data["industries"]
    codes = [i["code"] for i in industries]
    assert len(industries) == 10
    assert len(set(codes)) == 10
    assert {i["name_ko"] for i in industries} == INDUSTRY_NAMES_KO
    assert all(set(i) == {"code", "name_en", "name_ko"} for i in industries)


def test_technology_codes_unique_and_never_reused(data: dict[str, Any]) -> None:
    codes = [t["code"] for t in added(data)]
    assert len(codes) == len(set(codes)) == 213
    assert all(CODE.match(c) for c in codes)
    assert all(t["code"].startswith(t["industry_code"] + "-") for t in added(data))


def test_every_retire_refers_to_a_code_listed_at_that_point(data: dict[str, Any]) -> None:
    assert len(replay(data)) == 3


def test_technologies_are_well_formed(data: dict[str, Any]) -> None:
    industries = {i["code"] for i in data["industries"]}
    techs = added(data)
    fields = ["code", "industry_code", "kind", "name_en", "name_ko", "description"]
    for tech in techs:
        assert list(tech) == fields
        assert tech["industry_code"] in industries
        assert tech["kind"] in KINDS
        assert all(isinstance(tech[f], str) and tech[f].strip() for f in fields)
    assert len({t["name_en"].lower() for t in techs}) == len(techs)
    assert len({t["name_ko"] for t in techs}) == len(techs)
    assert set(Counter(t["kind"] for t in techs)) == KINDS


def test_three_revisions_in_date_order(data: dict[str, Any]) -> None:
    revisions = data["revisions"]
    assert len(revisions) == 3
    for revision in revisions:
        assert list(revision) == ["title", "decided_on", "effective_on", "changes"]
        assert DATE.match(revision["decided_on"])
        assert revision["decided_on"] <= revision["effective_on"]
    assert [r["decided_on"][:4] for r in revisions] == ["2020", "2022", "2024"]
    assert revisions[1]["decided_on"] == revisions[1]["effective_on"] == "2022-10-18"
    assert revisions[2]["decided_on"] == revisions[2]["effective_on"] == "2024-04-03"
    assert [r["effective_on"] for r in revisions] == sorted(r["effective_on"] for r in revisions)


def test_2020_list(data: dict[str, Any], snapshots: list[dict[str, dict[str, Any]]]) -> None:
    assert len(snapshots[0]) == 100
    assert by_industry(snapshots[0]) == COUNTS_2020
    assert retired_per_revision(data)[0] == []


def test_2022_revision(data: dict[str, Any], snapshots: list[dict[str, dict[str, Any]]]) -> None:
    changes = data["revisions"][1]["changes"]
    assert len(snapshots[1]) == 150
    assert by_industry(snapshots[1]) == COUNTS_2022
    assert len(retired_per_revision(data)[1]) == 13
    assert sum(c["op"] == "add" for c in changes) == 63


def test_2024_revision(data: dict[str, Any], snapshots: list[dict[str, dict[str, Any]]]) -> None:
    changes = data["revisions"][2]["changes"]
    final = by_industry(snapshots[2])
    assert len(snapshots[2]) == 200
    assert sum(c["op"] == "add" for c in changes) == 50
    assert retired_per_revision(data)[2] == []
    assert {k: final[k] for k in NEW_INDUSTRIES_2024} == NEW_INDUSTRIES_2024
    assert set(final) == {i["code"] for i in data["industries"]}
    extra = {k: final[k] - COUNTS_2022[k] for k in COUNTS_2022}
    assert sum(extra.values()) == 10
    assert all(n >= 0 for n in extra.values())


def test_japan_2019_items_listed_from_2020_to_the_end(
    snapshots: list[dict[str, dict[str, Any]]],
) -> None:
    codes = []
    for listed in snapshots:
        named = {t["name_en"]: t for t in listed.values()}
        assert {n: named[n]["name_ko"] for n in JAPAN_2019 if n in named} == JAPAN_2019
        codes.append(sorted(named[n]["code"] for n in JAPAN_2019))
    assert codes[0] == codes[1] == codes[2]


def test_catalog_json_is_what_generate_py_writes() -> None:
    spec = importlib.util.spec_from_file_location("demo_generate", DEMO / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    assert (DEMO / "catalog.json").read_text(encoding="utf-8") == generate.render()
