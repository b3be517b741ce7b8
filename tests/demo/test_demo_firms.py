"""The demo firms agree with deploy/demo/SOURCES.md's cohorts, the BRN checksum and the demo technology list."""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit

DEMO = Path(__file__).resolve().parents[2] / "deploy" / "demo"
TODAY = date(2026, 11, 25)
BRN = re.compile(r"^\d{10}$")
WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
COHORTS = {1: 22, 2: 21, 3: 23, 4: 20}
YEARS = {"leading": 5, "specialized": 3}
MOVES = {
    "applied": {"under_review", "withdrawn"},
    "under_review": {"designated", "rejected", "withdrawn"},
    "designated": {"revoked"},
}
REGIONS = {
    "서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기",
    "강원", "충북", "충남", "전북", "전남", "경북", "경남", "제주",
}  # fmt: skip
FIRM_FIELDS = [
    "brn",
    "name_en",
    "name_ko",
    "size",
    "size_since",
    "region",
    "mpe_sales_ratio",
    "technology_codes",
]


def brn_is_valid(brn: str) -> bool:
    """deploy/demo/SOURCES.md's checksum, written out again independently of generate_firms.py."""
    d = [int(c) for c in brn]
    total = sum(x * w for x, w in zip(d[:9], WEIGHTS, strict=True)) + (d[8] * 5) // 10
    return (10 - total % 10) % 10 == d[9]


def day(s: str) -> date:
    return date.fromisoformat(s)


def plus_years(d: date, years: int) -> date:
    return d.replace(year=d.year + years)


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    with (DEMO / "firms.json").open(encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


@pytest.fixture(scope="module")
def firms(data: dict[str, Any]) -> list[dict[str, Any]]:
    return list(data["firms"])


@pytest.fixture(scope="module")
def listed_on() -> Callable[[date], set[str]]:
    """A function: the codes listed on a day, replaying catalog.json's revisions."""
    with (DEMO / "catalog.json").open(encoding="utf-8") as f:
        catalog = json.load(f)
    revisions = sorted(catalog["revisions"], key=lambda r: r["effective_on"])

    def listed(on: date) -> set[str]:
        codes: set[str] = set()
        for revision in revisions:
            if day(revision["effective_on"]) > on:
                break
            for change in revision["changes"]:
                if change["op"] == "add":
                    codes.add(change["technology"]["code"])
                else:
                    codes.discard(change["code"])
        return codes

    return listed


def designations(firms: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(f["firm"], d) for f in firms for d in f["designations"]]


def designated_on(designation: dict[str, Any]) -> date | None:
    days = [day(t["effective_on"]) for t in designation["transitions"] if t["to"] == "designated"]
    return days[0] if days else None


def leading_designated(firms: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        (firm, d)
        for firm, d in designations(firms)
        if d["application"]["kind"] == "leading" and designated_on(d) is not None
    ]


def test_firms_are_well_formed(firms: list[dict[str, Any]]) -> None:
    assert len(firms) >= 90
    for entry in firms:
        assert list(entry) == ["firm", "confirmations", "designations"]
        firm = entry["firm"]
        assert list(firm) == FIRM_FIELDS
        assert firm["size"] in {"large", "mid", "sme"}
        assert firm["region"] in REGIONS
        assert firm["name_ko"].startswith("주식회사 ")
        assert firm["name_en"].endswith((" Co., Ltd.", " Corporation"))
        ratio = firm["mpe_sales_ratio"]
        assert ratio is None or 0 <= ratio <= 1
        assert firm["technology_codes"]
        assert len(set(firm["technology_codes"])) == len(firm["technology_codes"])
        assert entry["designations"], "every demo firm has applied for something"
        first = min(day(d["application"]["effective_on"]) for d in entry["designations"])
        assert day(firm["size_since"]) <= first
    assert len({f["firm"]["name_en"] for f in firms}) == len(firms)
    assert len({f["firm"]["name_ko"] for f in firms}) == len(firms)


def test_brns_are_valid_and_unique(firms: list[dict[str, Any]]) -> None:
    brns = [f["firm"]["brn"] for f in firms]
    assert all(BRN.match(b) for b in brns)
    assert all(brn_is_valid(b) for b in brns)
    assert len(set(brns)) == len(brns)
    assert not brn_is_valid("1234567890")  # the checksum does reject something


def test_technologies_listed_when_applied_and_today(
    firms: list[dict[str, Any]], listed_on: Callable[[date], set[str]]
) -> None:
    today = listed_on(TODAY)
    assert len(today) == 200
    for entry in firms:
        codes = set(entry["firm"]["technology_codes"])
        assert codes <= today, entry["firm"]["brn"]
        for d in entry["designations"]:
            applied = day(d["application"]["effective_on"])
            assert codes <= listed_on(applied), (entry["firm"]["brn"], applied)
            assert d["application"]["technology_codes"]
            assert set(d["application"]["technology_codes"]) <= codes
        for c in entry["confirmations"]:
            assert c["technology_code"] in codes
            assert c["technology_code"] in listed_on(day(c["issued_on"]))
            assert day(c["issued_on"]) < day(c["valid_until"])
            assert day(c["issued_on"]).weekday() < 5
            assert day(c["issued_on"]) <= TODAY


def test_leading_applications_hold_a_valid_confirmation(firms: list[dict[str, Any]]) -> None:
    for entry in firms:
        for d in entry["designations"]:
            application = d["application"]
            if application["kind"] != "leading":
                continue
            on = day(application["effective_on"])
            assert any(
                c["technology_code"] in application["technology_codes"]
                and day(c["issued_on"]) <= on < day(c["valid_until"])
                for c in entry["confirmations"]
            ), (entry["firm"]["brn"], on)


def test_moves_are_allowed_and_dated_in_order(firms: list[dict[str, Any]]) -> None:
    finals: Counter[str] = Counter()
    for _, d in designations(firms):
        application = d["application"]
        assert list(application) == ["kind", "technology_codes", "cohort", "effective_on"]
        status, last = "applied", day(application["effective_on"])
        for t in d["transitions"]:
            assert list(t) == ["to", "reason", "effective_on"]
            assert t["to"] in MOVES[status], (status, t["to"])
            assert day(t["effective_on"]) >= last
            if t["to"] in {"rejected", "revoked"}:
                assert isinstance(t["reason"], str)
                assert t["reason"].strip()
            status, last = t["to"], day(t["effective_on"])
        assert last <= TODAY
        assert all(day(x["effective_on"]).weekday() < 5 for x in [application, *d["transitions"]]), (
            "applications and moves happen on weekdays"
        )
        finals[status] += 1
    assert finals["rejected"] >= 1
    assert finals["withdrawn"] >= 1
    assert finals["under_review"] >= 1
    assert finals["revoked"] >= 1


def test_cohorts(firms: list[dict[str, Any]]) -> None:
    for _, d in designations(firms):
        cohort = d["application"]["cohort"]
        if d["application"]["kind"] == "leading":
            assert cohort in COHORTS
        else:
            assert cohort is None
    leading = leading_designated(firms)
    assert Counter(d["application"]["cohort"] for _, d in leading) == COHORTS
    second = Counter(firm["size"] for firm, d in leading if d["application"]["cohort"] == 2)
    assert second == {"large": 1, "mid": 9, "sme": 11}
    by_cohort: dict[int, set[date | None]] = defaultdict(set)
    for _, d in leading:
        by_cohort[d["application"]["cohort"]].add(designated_on(d))
    assert {k: len(v) for k, v in by_cohort.items()} == dict.fromkeys(COHORTS, 1)
    first, second_on, third, fourth = (next(iter(by_cohort[n])) for n in COHORTS)
    assert first is not None
    assert (first.year, first.month) == (2021, 1)
    assert second_on is not None
    assert second_on.year == 2022
    assert third is not None
    assert (third.year, third.month) == (2023, 3)
    assert fourth is not None
    assert (fourth.year, fourth.month) == (2024, 5)


def test_cumulative_leading_firms(firms: list[dict[str, Any]]) -> None:
    leading = leading_designated(firms)
    days = [designated_on(d) for _, d in leading]
    assert sum(d is not None and d <= date(2023, 12, 31) for d in days) == 66
    assert sum(d is not None and d <= TODAY for d in days) == 86
    assert len({firm["brn"] for firm, _ in leading}) == 86


def test_first_cohort_expired_in_january_2026(firms: list[dict[str, Any]]) -> None:
    for _, d in leading_designated(firms):
        if d["application"]["cohort"] != 1:
            continue
        start = designated_on(d)
        assert start is not None
        until = plus_years(start, 5)
        assert (until.year, until.month) == (2026, 1)
        assert until < TODAY


def test_specialized_firms(firms: list[dict[str, Any]]) -> None:
    designated = 0
    for firm, d in designations(firms):
        if d["application"]["kind"] != "specialized":
            continue
        assert firm["mpe_sales_ratio"] is not None
        assert firm["mpe_sales_ratio"] >= 0.5
        designated += designated_on(d) is not None
    assert designated >= 8


def test_no_overlapping_designated_periods(firms: list[dict[str, Any]]) -> None:
    for entry in firms:
        periods: dict[str, list[tuple[date, date]]] = defaultdict(list)
        for d in entry["designations"]:
            start = designated_on(d)
            if start is None:
                continue
            kind = d["application"]["kind"]
            end = plus_years(start, YEARS[kind])
            for t in d["transitions"]:
                if t["to"] == "revoked":
                    end = min(end, day(t["effective_on"]))
            periods[kind].append((start, end))
        for spans in periods.values():
            spans.sort()
            assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
            assert len(spans) == 1, "each firm is designated at most once per kind"


def test_firms_json_is_what_generate_firms_py_writes() -> None:
    spec = importlib.util.spec_from_file_location("demo_generate_firms", DEMO / "generate_firms.py")
    assert spec is not None
    assert spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    assert (DEMO / "firms.json").read_text(encoding="utf-8") == generate.render()
