"""Write firms.json, the demo firms and their designations (see the Firms section of README.md).

Deterministic: no randomness, no clock. Every choice that looks random comes from a SHA-256
hash of a fixed key. The firms, their names, business registration numbers (BRNs), regions,
sizes and sales ratios are invented. The cohort sizes and designation dates follow SOURCES.md
and the press reports of the designation ceremonies. Technology codes come from catalog.json
beside this script: a firm only holds technologies that were listed on the day it first applied
and were never retired, so registering it today works. Run with
``uv run python deploy/demo/generate_firms.py``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal, NamedTuple

from mpe_events.brn import check_digit as brn_check_digit

Size = Literal["large", "mid", "sme"]
Kind = Literal["leading", "specialized"]

HERE = Path(__file__).resolve().parent
CATALOG = HERE / "catalog.json"
OUTPUT = HERE / "firms.json"

AS_OF = date(2026, 11, 25)
"""The dataset's "today": every date in it falls on or before this day."""

CONFIRMATION_YEARS = 3
"""Assumed validity of a key-strategic-technology confirmation certificate."""

SIZES: dict[str, Size] = {"L": "large", "M": "mid", "S": "sme"}


class Cohort(NamedTuple):
    """One round of leading-firm (으뜸기업) designations."""

    number: int
    apply_from: date
    apply_to: date
    review_on: date
    designated_on: date
    firms: str
    """Industry and size letters per firm, e.g. ``"SEMI:MMS"`` = three semiconductor firms."""


# Dates and per-industry splits: the designation ceremonies as reported in the press (see README).
COHORTS: tuple[Cohort, ...] = (
    Cohort(
        1,
        date(2020, 9, 21),
        date(2020, 10, 16),
        date(2020, 10, 19),
        date(2021, 1, 11),
        "SEMI:MMM DISP:LMSM ELEC:MLMM MACH:MSMSSMS AUTO:MMS CHEM:M",
    ),
    Cohort(
        2,
        date(2021, 10, 5),
        date(2021, 10, 29),
        date(2021, 11, 1),
        date(2022, 1, 10),
        "SEMI:LMSMSS DISP:MS MACH:MMSS ELEC:MSMSS AUTO:MS CHEM:SM",
    ),
    Cohort(
        3,
        date(2022, 11, 1),
        date(2022, 11, 30),
        date(2022, 12, 5),
        date(2023, 3, 22),
        "SEMI:MMMSMSSMS DISP:SMSS AUTO:MSM MACH:SMS ELEC:MS BIO:M CHEM:S",
    ),
    Cohort(
        4,
        date(2023, 12, 4),
        date(2024, 1, 12),
        date(2024, 1, 22),
        date(2024, 5, 9),
        "SEMI:MSMSSM DISP:SMSS ELEC:MS MACH:SMSMS CHEM:MS AUTO:S",
    ),
)

# The leading firms whose stories differ from "applied, reviewed, designated" (keys as in leading_plans()).
REJECTED_FIRST = "L4-SEMI-2"
"""Applied in the 3rd round and was rejected; applied again and was designated in the 4th."""
REVOKED = "L2-MACH-4"
"""Designated in the 2nd cohort, revoked in 2024."""
REJECTED_ON = date(2023, 3, 8)
REJECT_REASON = (
    "Rejected at the overall review: the technology was not shown to be the best in Korea in "
    "its field, and the global expansion plan lacked concrete targets."
)
REVOKED_ON = date(2024, 7, 15)
REVOKE_REASON = (
    "Revoked: the firm transferred the business unit holding its designated technology to a "
    "foreign-owned buyer and no longer holds the technology in Korea."
)


class Special(NamedTuple):
    """A specialized-firm (전문기업) application: of a leading firm, or of a firm of its own."""

    key: str
    industry: str
    size: Size
    applied_on: date
    review_on: date
    designated_on: date | None
    """None: still under review."""


SPECIALIZED: tuple[Special, ...] = (
    Special("L1-MACH-2", "MACH", "sme", date(2021, 5, 3), date(2021, 5, 24), date(2021, 6, 30)),
    Special("S-MACH", "MACH", "sme", date(2021, 10, 12), date(2021, 11, 1), date(2021, 12, 15)),
    Special("L2-ELEC-2", "ELEC", "sme", date(2022, 4, 4), date(2022, 4, 25), date(2022, 6, 8)),
    Special("S-BIO", "BIO", "sme", date(2023, 2, 6), date(2023, 2, 27), date(2023, 4, 12)),
    Special("L3-SEMI-4", "SEMI", "sme", date(2023, 8, 7), date(2023, 8, 28), date(2023, 10, 11)),
    Special("S-AERO", "AERO", "mid", date(2024, 6, 10), date(2024, 7, 1), date(2024, 8, 21)),
    Special("S-ELEC", "ELEC", "sme", date(2025, 2, 3), date(2025, 2, 24), date(2025, 4, 16)),
    Special("S-H2", "H2", "sme", date(2025, 7, 7), date(2025, 7, 28), date(2025, 9, 17)),
    Special("S-DEF", "DEF", "sme", date(2026, 10, 12), date(2026, 11, 2), None),
)

WITHDRAWN = "W-MACH"
WITHDRAWN_APPLIED_ON = date(2023, 12, 11)
WITHDRAWN_ON = date(2024, 1, 15)
WITHDRAW_REASON = "Withdrawn by the applicant: a merger with its parent company is under way."

# Invented firm-name roots: mostly native Korean words, with their romanization.
ROOTS: tuple[tuple[str, str], ...] = (
    ("Garam", "가람"),
    ("Gaon", "가온"),
    ("Goun", "고운"),
    ("Gureum", "구름"),
    ("Geuru", "그루"),
    ("Narae", "나래"),
    ("Narin", "나린"),
    ("Neoul", "너울"),
    ("Noeul", "노을"),
    ("Nuri", "누리"),
    ("Neulbom", "늘봄"),
    ("Neulpum", "늘품"),
    ("Dasom", "다솜"),
    ("Daon", "다온"),
    ("Daol", "다올"),
    ("Danbi", "단비"),
    ("Dodam", "도담"),
    ("Duri", "두리"),
    ("Maru", "마루"),
    ("Mir", "미르"),
    ("Mirinae", "미리내"),
    ("Bareum", "바름"),
    ("Byeori", "벼리"),
    ("Byeolha", "별하"),
    ("Boram", "보람"),
    ("Bitgaram", "빛가람"),
    ("Saetbyeol", "샛별"),
    ("Saebom", "새봄"),
    ("Saerom", "새롬"),
    ("Seum", "세움"),
    ("Sodam", "소담"),
    ("Solbit", "솔빛"),
    ("Seulgi", "슬기"),
    ("Sinabro", "시나브로"),
    ("Ara", "아라"),
    ("Areum", "아름"),
    ("Yeoul", "여울"),
    ("Yedam", "예담"),
    ("Onsaemi", "온새미"),
    ("Onnuri", "온누리"),
    ("Yunseul", "윤슬"),
    ("Eunsol", "은솔"),
    ("Eunha", "은하"),
    ("Irum", "이룸"),
    ("Jaram", "자람"),
    ("Chambit", "참빛"),
    ("Chorong", "초롱"),
    ("Keunsol", "큰솔"),
    ("Tarae", "타래"),
    ("Pureum", "푸름"),
    ("Hanui", "하늬"),
    ("Harang", "하랑"),
    ("Hangyeol", "한결"),
    ("Hanul", "한울"),
    ("Haedam", "해담"),
    ("Haeoreum", "해오름"),
    ("Haesol", "해솔"),
    ("Haetsal", "햇살"),
    ("Hyeyum", "혜윰"),
    ("Huindol", "흰돌"),
    ("Deoham", "더함"),
    ("Moa", "모아"),
    ("Bisol", "비솔"),
    ("Sandeul", "산들"),
    ("Seorin", "서린"),
    ("Ari", "아리"),
    ("Ieum", "이음"),
    ("Ipsae", "잎새"),
    ("Jieum", "지음"),
    ("Chansol", "찬솔"),
    ("Cheonga", "청아"),
    ("Choa", "초아"),
    ("Paran", "파란"),
    ("Hanareum", "한아름"),
    ("Haeram", "해람"),
    ("Huidam", "휘담"),
    ("Neulchan", "늘찬"),
    ("Roa", "로아"),
    ("Majung", "마중"),
    ("Binari", "비나리"),
    ("Saehim", "새힘"),
    ("Sechan", "세찬"),
    ("Solgil", "솔길"),
    ("Atti", "아띠"),
    ("Yeomyeong", "여명"),
    ("Onbit", "온빛"),
    ("Eungyeol", "은결"),
    ("Jisol", "지솔"),
    ("Chamsol", "참솔"),
    ("Taesol", "태솔"),
    ("Hanbit", "한빛"),
    ("Huisol", "휘솔"),
    ("Gabi", "가비"),
    ("Dana", "단아"),
    ("Bona", "보나"),
    ("Miso", "미소"),
    ("Cheongun", "청운"),
)

# Name endings: first those of an industry (for the kind of the firm's main technology, or for
# any kind: "*"), then those of the kind.
INDUSTRY_SUFFIXES: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("SEMI", "*"): (("Semitech", "세미텍"),),
    ("DISP", "material"): (("Display Materials", "디스플레이소재"),),
    ("DISP", "*"): (("Display", "디스플레이"),),
    ("AUTO", "*"): (("Mobility", "모빌리티"), ("Automotive", "오토모티브")),
    ("MACH", "material"): (("Metal", "메탈"),),
    ("MACH", "part"): (("Machinery", "기계"),),
    ("MACH", "equipment"): (("Machinery", "기계"),),
    ("ELEC", "part"): (("Electronics", "일렉트로닉스"),),
    ("ELEC", "material"): (("Energy Materials", "에너지소재"),),
    ("CHEM", "*"): (("Chemical", "케미칼"),),
    ("BIO", "*"): (("Biotech", "바이오텍"), ("Bioscience", "바이오사이언스")),
    ("AERO", "*"): (("Aerospace", "에어로스페이스"),),
    ("DEF", "*"): (("Defense", "디펜스"),),
    ("H2", "*"): (("Hydrogen", "하이드로젠"), ("H2 Energy", "수소에너지")),
}
KIND_SUFFIXES: dict[str, tuple[tuple[str, str], ...]] = {
    "material": (("Materials", "머티리얼즈"), ("Advanced Materials", "첨단소재")),
    "part": (("Precision", "정밀"), ("Tech", "테크"), ("Components", "컴포넌츠")),
    "equipment": (("Engineering", "엔지니어링"), ("Systems", "시스템즈")),
}

REGIONS: dict[str, tuple[str, ...]] = {
    "SEMI": ("경기", "경기", "충남", "경기", "충북", "서울", "대전", "경북"),
    "DISP": ("충남", "경기", "경북", "충남", "경기", "인천"),
    "AUTO": ("울산", "경기", "경남", "대구", "충남", "광주"),
    "MACH": ("경남", "경기", "부산", "인천", "경북", "대구", "경남", "충북"),
    "ELEC": ("경기", "충북", "경북", "전북", "서울", "울산"),
    "CHEM": ("울산", "전남", "충남", "경기"),
    "BIO": ("인천", "충북", "경기"),
    "AERO": ("경남", "대전", "경기"),
    "DEF": ("경북", "대전"),
    "H2": ("울산", "전북", "경남", "강원"),
}
# BRN prefixes (the first three digits, a tax office in real BRNs) per region; invented.
OFFICES: dict[str, tuple[int, ...]] = {
    "서울": (104, 113, 120, 211, 214, 220),
    "경기": (124, 125, 129, 134, 135, 138, 140, 142, 144),
    "인천": (121, 122, 131, 137),
    "충남": (307, 308, 311, 312),
    "충북": (301, 303, 317),
    "대전": (305, 314, 318),
    "경북": (503, 505, 506, 513),
    "대구": (502, 504, 514),
    "경남": (608, 609, 612, 615),
    "부산": (602, 603, 605, 617),
    "울산": (610, 620),
    "전북": (401, 402, 403, 418),
    "전남": (411, 412, 416),
    "광주": (408, 409, 410),
    "강원": (221, 223, 224, 226),
}
# Korean public holidays that no date here may fall on: the fixed ones, then per year (2020-2026)
# Seollal, Chuseok, Buddha's birthday, substitute and temporary holidays, and election days.
FIXED_HOLIDAYS = frozenset(("01-01", "03-01", "05-05", "06-06", "08-15", "10-03", "10-09", "12-25"))
HOLIDAYS_BY_YEAR: dict[int, tuple[str, ...]] = {
    2020: ("01-24", "01-25", "01-26", "01-27", "04-15", "04-30", "08-17", "09-30", "10-01", "10-02"),
    2021: ("02-11", "02-12", "02-13", "05-19", "08-16", "09-20", "09-21", "09-22", "10-04", "10-11"),
    2022: ("01-31", "02-01", "02-02", "03-09", "06-01", "09-09", "09-12", "10-10"),
    2023: ("01-23", "01-24", "05-29", "09-28", "09-29", "10-02"),
    2024: ("02-09", "02-12", "04-10", "05-06", "05-15", "09-16", "09-17", "09-18", "10-01"),
    2025: ("01-27", "01-28", "01-29", "01-30", "03-03", "05-06", "06-03", "10-06", "10-07", "10-08"),
    2026: ("02-16", "02-17", "02-18", "03-02", "05-25", "06-03", "08-17", "09-24", "09-25", "10-05"),
}
HOLIDAYS = frozenset(
    date.fromisoformat(f"{year}-{day}") for year, days in HOLIDAYS_BY_YEAR.items() for day in days
)
CORPORATE_TYPES = ("81", "86", "87", "88")


def num(key: str, salt: str, n: int) -> int:
    """A deterministic number in [0, n) for a key."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % n


def is_working_day(d: date) -> bool:
    """Neither a weekend nor a Korean public holiday of HOLIDAYS."""
    return d.weekday() < 5 and d.strftime("%m-%d") not in FIXED_HOLIDAYS and d not in HOLIDAYS


def working_day(d: date) -> date:
    """The day itself, or the next working day."""
    while not is_working_day(d):
        d += timedelta(days=1)
    return d


def add_years(d: date, years: int) -> date:
    """The same day `years` later; 29 Feb moves to 1 Mar (as the firms service does)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return date(d.year + years, 3, 1)


class Catalog(NamedTuple):
    """What the demo catalog says about each technology code."""

    listed_on: dict[str, date]
    """The day each code was first listed."""
    retired: frozenset[str]
    industry: dict[str, str]
    kind: dict[str, str]

    def pool(self, industry: str, on: date) -> list[str]:
        """Codes of an industry listed on a day and never retired, in code order."""
        return sorted(
            c
            for c, since in self.listed_on.items()
            if self.industry[c] == industry and since <= on and c not in self.retired
        )


def read_catalog() -> Catalog:
    """Replay catalog.json's revisions."""
    data: dict[str, Any] = json.loads(CATALOG.read_text(encoding="utf-8"))
    listed_on: dict[str, date] = {}
    retired: set[str] = set()
    industry: dict[str, str] = {}
    kind: dict[str, str] = {}
    for revision in data["revisions"]:
        on = date.fromisoformat(revision["effective_on"])
        for change in revision["changes"]:
            if change["op"] == "add":
                tech = change["technology"]
                listed_on[tech["code"]] = on
                industry[tech["code"]] = tech["industry_code"]
                kind[tech["code"]] = tech["kind"]
            else:
                retired.add(change["code"])
    return Catalog(listed_on, frozenset(retired), industry, kind)


class Transition(NamedTuple):
    to: str
    reason: str | None
    effective_on: date


class Application(NamedTuple):
    kind: Kind
    cohort: int | None
    applied_on: date
    transitions: tuple[Transition, ...]


class Plan(NamedTuple):
    """A firm before its name, BRN and technologies are chosen."""

    key: str
    industry: str
    size: Size
    applications: tuple[Application, ...]


def leading_plans() -> dict[str, Plan]:
    """The 86 designated leading firms, keyed ``L<cohort>-<industry>-<n>``."""
    plans: dict[str, Plan] = {}
    for cohort in COHORTS:
        span = (cohort.apply_to - cohort.apply_from).days
        for token in cohort.firms.split():
            industry, letters = token.split(":")
            for n, letter in enumerate(letters, start=1):
                key = f"L{cohort.number}-{industry}-{n}"
                applied_on = working_day(cohort.apply_from + timedelta(days=num(key, "apply", span)))
                designated = Application(
                    "leading",
                    cohort.number,
                    min(applied_on, cohort.apply_to),
                    (
                        Transition("under_review", None, cohort.review_on),
                        Transition("designated", None, cohort.designated_on),
                    ),
                )
                applications = [designated]
                if key == REVOKED:
                    applications = [
                        designated._replace(
                            transitions=(
                                *designated.transitions,
                                Transition("revoked", REVOKE_REASON, REVOKED_ON),
                            )
                        )
                    ]
                if key == REJECTED_FIRST:
                    third = COHORTS[2]
                    applications.insert(
                        0,
                        Application(
                            "leading",
                            third.number,
                            date(2022, 11, 14),
                            (
                                Transition("under_review", None, third.review_on),
                                Transition("rejected", REJECT_REASON, REJECTED_ON),
                            ),
                        ),
                    )
                plans[key] = Plan(key, industry, SIZES[letter], tuple(applications))
    for key in (REJECTED_FIRST, REVOKED):
        if key not in plans:
            raise ValueError(f"no leading firm {key}")
    return plans


def all_plans() -> list[Plan]:
    """Every firm: the leading firms, the specialized-only firms and the withdrawn applicant."""
    plans = leading_plans()
    for special in SPECIALIZED:
        moves = [Transition("under_review", None, special.review_on)]
        if special.designated_on is not None:
            moves.append(Transition("designated", None, special.designated_on))
        application = Application("specialized", None, special.applied_on, tuple(moves))
        if special.key.startswith("L"):
            plan = plans[special.key]
            if (plan.industry, plan.size) != (special.industry, special.size):
                raise ValueError(f"{special.key} is a {plan.size} {plan.industry} firm")
            plans[special.key] = plan._replace(applications=(*plan.applications, application))
        else:
            plans[special.key] = Plan(special.key, special.industry, special.size, (application,))
    plans[WITHDRAWN] = Plan(
        WITHDRAWN,
        "MACH",
        "mid",
        (
            Application(
                "leading",
                COHORTS[3].number,
                WITHDRAWN_APPLIED_ON,
                (Transition("withdrawn", WITHDRAW_REASON, WITHDRAWN_ON),),
            ),
        ),
    )
    return sorted(plans.values(), key=lambda p: (p.applications[0].applied_on, p.key))


def check_dates(plans: list[Plan]) -> None:
    """Every planned date is a working day on or before AS_OF, and moves never go back in time."""
    for plan in plans:
        for application in plan.applications:
            days = [application.applied_on, *(t.effective_on for t in application.transitions)]
            if days != sorted(days) or days[-1] > AS_OF:
                raise ValueError(f"{plan.key}: dates out of order or after {AS_OF}: {days}")
            for day in days:
                if not is_working_day(day):
                    raise ValueError(f"{plan.key}: {day} is not a working day")


def sales_ratio(plan: Plan) -> float | None:
    """MPE sales as a share of total sales; None where the firm has not reported it."""
    if plan.key in ("L1-DISP-1", WITHDRAWN):
        return None
    low, high = {"large": (20, 45), "mid": (35, 88), "sme": (55, 97)}[plan.size]
    if any(a.kind == "specialized" for a in plan.applications):
        low = max(low, 55)
    return (low + num(plan.key, "ratio", high - low + 1)) / 100


def make_brn(plan: Plan, region: str, used: set[str]) -> str:
    """An invented, valid, unused BRN for a firm in a region."""
    offices = OFFICES[region]
    prefix = offices[num(plan.key, "office", len(offices))]
    kind = CORPORATE_TYPES[num(plan.key, "type", len(CORPORATE_TYPES))]
    serial = num(plan.key, "serial", 10000)
    while True:
        nine = f"{prefix:03d}{kind}{serial:04d}"
        brn = nine + str(brn_check_digit(nine))
        if brn not in used:
            used.add(brn)
            return brn
        serial = (serial + 1) % 10000


def choose_codes(plan: Plan, catalog: Catalog, usage: dict[str, int]) -> list[str]:
    """1-3 technologies of the firm's industry, listed when it first applied, least used first."""
    first = plan.applications[0].applied_on
    pool = catalog.pool(plan.industry, first)
    ranked = sorted(pool, key=lambda c: (usage.get(c, 0), num(plan.key + c, "code", 1000), c))
    count = min(len(ranked), (1, 2, 2, 3)[num(plan.key, "count", 4)])
    codes = ranked[:count]
    for code in codes:
        usage[code] = usage.get(code, 0) + 1
    return codes


def confirmations(plan: Plan, codes: list[str], catalog: Catalog) -> tuple[list[str], list[dict[str, str]]]:
    """The application codes and the confirmations backing them (with renewals, if any)."""
    application_codes = codes[:2] if len(codes) > 1 and num(plan.key, "two", 2) else codes[:1]
    first = plan.applications[0].applied_on
    out: list[dict[str, str]] = []
    for code in application_codes:
        issued = working_day(first - timedelta(days=21 + num(plan.key + code, "issued", 60)))
        if issued < catalog.listed_on[code]:
            issued = working_day(catalog.listed_on[code] + timedelta(days=6))
        if issued >= first:
            raise ValueError(f"{plan.key}: no room for a confirmation of {code} before {first}")
        until = add_years(issued, CONFIRMATION_YEARS)
        out.append(
            {
                "technology_code": code,
                "issued_on": issued.isoformat(),
                "valid_until": until.isoformat(),
            }
        )
        renewed = working_day(until)
        if renewed <= AS_OF and num(plan.key + code, "renew", 3):
            out.append(
                {
                    "technology_code": code,
                    "issued_on": renewed.isoformat(),
                    "valid_until": add_years(renewed, CONFIRMATION_YEARS).isoformat(),
                }
            )
    return application_codes, out


def name(plan: Plan, index: int, kind: str) -> tuple[str, str]:
    """Invented English and Korean names (주식회사 …) for the index-th firm."""
    root_en, root_ko = ROOTS[index * 37 % len(ROOTS)]
    options = (
        INDUSTRY_SUFFIXES.get((plan.industry, kind), ())
        + INDUSTRY_SUFFIXES.get((plan.industry, "*"), ())
        + KIND_SUFFIXES[kind]
    )
    suffix_en, suffix_ko = options[num(plan.key, "suffix", len(options))]
    form = "Corporation" if plan.size == "large" else "Co., Ltd."
    return f"{root_en} {suffix_en} {form}", f"주식회사 {root_ko}{suffix_ko}"


def build() -> dict[str, object]:
    """Return the dataset: each firm with its confirmations and designations, in API bodies."""
    catalog = read_catalog()
    plans = all_plans()
    check_dates(plans)
    if len(plans) > len(ROOTS) or len(ROOTS) % 37 == 0:
        raise ValueError("not enough name roots")
    used_brns: set[str] = set()
    usage: dict[str, int] = {}
    firms: list[dict[str, object]] = []
    for index, plan in enumerate(plans):
        region = REGIONS[plan.industry][num(plan.key, "region", len(REGIONS[plan.industry]))]
        codes = choose_codes(plan, catalog, usage)
        application_codes, certificates = confirmations(plan, codes, catalog)
        name_en, name_ko = name(plan, index, catalog.kind[codes[0]])
        firm = {
            "brn": make_brn(plan, region, used_brns),
            "name_en": name_en,
            "name_ko": name_ko,
            "size": plan.size,
            "size_since": date(2012 + num(plan.key, "since", 8), 1, 1).isoformat(),
            "region": region,
            "mpe_sales_ratio": sales_ratio(plan),
            "technology_codes": codes,
        }
        designations = [
            {
                "application": {
                    "kind": application.kind,
                    "technology_codes": application_codes,
                    "cohort": application.cohort,
                    "effective_on": application.applied_on.isoformat(),
                },
                "transitions": [
                    {"to": t.to, "reason": t.reason, "effective_on": t.effective_on.isoformat()}
                    for t in application.transitions
                ],
            }
            for application in plan.applications
        ]
        firms.append({"firm": firm, "confirmations": certificates, "designations": designations})
    return {"firms": firms}


def render() -> str:
    """Return firms.json's exact text."""
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Write firms.json beside this script."""
    OUTPUT.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
