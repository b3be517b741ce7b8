"""Write budget.json, the demo budget of fiscal years 2019 to 2026 (see the Budget section of README.md).

Deterministic: no randomness, no clock. Every choice that looks random comes from a SHA-256 hash
of a fixed key. The 2023 envelope, its continuing/new split and the first call's project counts and
totals per track follow SOURCES.md exactly, and the 2022 envelope is derived from its +11.5%; the
other envelopes, the programs' codes, names and per-program budgets, the projects, their titles,
amounts, firms, partners, dates, statuses and disbursements are invented.
Technology codes come from catalog.json and lead firms from firms.json beside this script. Run
with ``uv run python deploy/demo/generate_budget.py``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NamedTuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import generate_budget_years as years  # noqa: E402  - the other years, beside this script

CATALOG = HERE / "catalog.json"
FIRMS = HERE / "firms.json"
OUTPUT = HERE / "budget.json"

YEAR = 2023
BN = 1_000_000_000
MILLION = 1_000_000
CONTINUING_KRW = 837_030_000_000
"""SOURCES.md: ₩837.03bn of the 2023 program continues existing projects."""
NEW_KRW = 100_530_000_000
"""SOURCES.md: ₩100.53bn of it is new."""
ENVELOPE_KRW = CONTINUING_KRW + NEW_KRW
"""SOURCES.md: ₩937.56bn in all."""

# Government share cap (percent of the project's total) and private cash floor (percent of the
# private share) by the lead firm's size: National R&D Innovation Act, Enforcement Decree Art. 19.
CAPS: dict[str, tuple[int, int]] = {"large": (50, 15), "mid": (70, 13), "sme": (75, 10)}

# Transitions from proposed, in order, to reach each status.
PATHS: dict[str, tuple[str, ...]] = {
    "selected": ("selected",),
    "agreement_signed": ("selected", "agreement_signed"),
    "active": ("selected", "agreement_signed", "active"),
}
REASONS: dict[str, str] = {
    "selected": "Selected by the evaluation committee of the first 2023 new-project call.",
    "agreement_signed": "Research agreement signed with the managing agency (KEIT).",
    "active": "Research started under the signed agreement.",
}


class Track(NamedTuple):
    """A track of the first 2023 call, funded by a program of its own."""

    key: str
    """The program code's suffix and the project codes' middle part."""
    track: str
    name_en: str
    name_ko: str
    budget_krw: int
    """Ours: SOURCES.md gives no per-program budgets."""
    projects: int
    total_krw: int
    """SOURCES.md: the track's government money in the first call."""
    codes: tuple[str, ...]
    """The primary technology of each project, chosen by hand to fit the track."""
    titles: tuple[tuple[str, str], ...]
    """Title patterns (Korean, English) around the primary technology's name."""


TRACKS: tuple[Track, ...] = (
    Track(
        "SC",
        "supply-chain-stability",
        "Materials & Parts Technology Development: supply-chain stability (new projects)",
        "소재부품기술개발 공급망 안정화 (신규)",
        20 * BN,
        21,
        13_400_000_000,
        (
            "SEMI-001", "SEMI-002", "SEMI-003", "SEMI-004", "SEMI-008", "SEMI-012", "SEMI-034",
            "SEMI-018", "DISP-001", "DISP-004", "DISP-008", "CHEM-010", "CHEM-011", "CHEM-001",
            "MACH-014", "MACH-001", "MACH-008", "MACH-013", "ELEC-004", "ELEC-007", "ELEC-006",
        ),
        (
            ("{ko} 국산화 및 양산 기술 개발", "Localization and mass production of {en}"),
            ("수요기업 연계 {ko} 성능 평가 및 공급망 안정화", "Supply-chain stabilization of {en} with user-firm validation"),
            ("{ko} 핵심 공정 자립화 기술 개발", "Self-reliant core process technology for {en}"),
        ),
    ),
    Track(
        "NI",
        "new-industries",
        "Materials & Parts Technology Development: new industries (new projects)",
        "소재부품기술개발 신산업 창출 (신규)",
        30 * BN,
        41,
        19_490_000_000,
        (
            "SEMI-020", "SEMI-021", "SEMI-022", "SEMI-025", "SEMI-030", "SEMI-031", "SEMI-033",
            "SEMI-019", "SEMI-009", "SEMI-028", "DISP-011", "DISP-012", "DISP-014", "DISP-015",
            "DISP-016", "DISP-007", "AUTO-014", "AUTO-015", "AUTO-016", "AUTO-018", "AUTO-005",
            "AUTO-004", "AUTO-007", "AUTO-002", "ELEC-019", "ELEC-001", "ELEC-002", "ELEC-021",
            "ELEC-022", "ELEC-014", "ELEC-026", "ELEC-008", "BIO-001", "BIO-002", "BIO-003",
            "BIO-005", "MACH-039", "MACH-046", "MACH-043", "MACH-019", "CHEM-015",
        ),
        (
            ("차세대 {ko} 핵심 기술 개발", "Next-generation {en}: core technology"),
            ("신산업 적용을 위한 고성능 {ko} 개발", "High-performance {en}: development for new-industry applications"),
            ("{ko} 신시장 진출을 위한 고신뢰성 기술 개발", "High-reliability {en} for new markets"),
        ),
    ),
    Track(
        "ESG",
        "esg-carbon-neutral",
        "Materials & Parts Technology Development: ESG / carbon-neutral (new projects)",
        "소재부품기술개발 ESG·탄소중립 (신규)",
        30 * BN,
        34,
        19_630_000_000,
        (
            "MACH-048", "MACH-042", "MACH-044", "MACH-021", "MACH-026", "MACH-032", "MACH-033",
            "MACH-034", "MACH-045", "MACH-025", "MACH-015", "MACH-016", "MACH-017", "CHEM-005",
            "CHEM-014", "CHEM-013", "CHEM-012", "CHEM-007", "CHEM-008", "ELEC-027", "ELEC-020",
            "ELEC-013", "ELEC-025", "ELEC-012", "ELEC-016", "AUTO-008", "AUTO-009", "AUTO-017",
            "AUTO-001", "AUTO-010", "SEMI-010", "SEMI-026", "DISP-005", "DISP-013",
        ),
        (
            ("탄소중립을 위한 저탄소 {ko} 공정 기술 개발", "Low-carbon process for {en} toward carbon neutrality"),
            ("에너지 고효율 {ko} 친환경 제조 기술 개발", "Energy-efficient, eco-friendly manufacturing of {en}"),
            ("{ko} 자원순환 및 재활용 기술 개발", "Resource circulation and recycling of {en}"),
        ),
    ),
)  # fmt: skip

CONTINUING_PROGRAM: dict[str, Any] = {
    "code": "MP23-CONT",
    "fiscal_year": YEAR,
    "name_en": "Materials & Parts Technology Development: continuing projects",
    "name_ko": "소재부품기술개발 (계속과제)",
    "kind": "rnd",
    "track": None,
    "budget_krw": CONTINUING_KRW,
}
ALCHEMIST_PROGRAM: dict[str, Any] = {
    "code": "MP23-ALC",
    "fiscal_year": YEAR,
    "name_en": "Alchemist Project (new themes)",
    "name_ko": "알키미스트 프로젝트 (신규)",
    "kind": "alchemist",
    "track": None,
    "budget_krw": NEW_KRW - sum(t.budget_krw for t in TRACKS),
}
ALCHEMIST_THEMES: tuple[dict[str, Any], ...] = (
    {
        "theme_code": "MP23-ALC-T01",
        "body": {
            "title": "상온·상압 무탄소 암모니아 합성 촉매 (Zero-carbon ammonia synthesis catalyst "
            "at room temperature and pressure)",
            "stages": [
                {"stage": "concept", "teams": 6},
                {"stage": "preliminary", "teams": 3},
                {"stage": "main", "teams": 1},
            ],
        },
    },
)

START_DAYS = (date(YEAR, 4, 1), date(YEAR, 5, 1), date(YEAR, 6, 1))
"""New projects start on the first of a month in the spring after the call."""
INSTITUTE_LED = 10
"""About one project in INSTITUTE_LED is led by a research institute (no lead firm)."""
MAX_PROJECTS_PER_FIRM = 2
# Korean public holidays of 2023 besides the fixed ones (as in generate_firms.py).
FIXED_HOLIDAYS = frozenset(("01-01", "03-01", "05-05", "06-06", "08-15", "10-03", "10-09", "12-25"))
HOLIDAYS_2023 = frozenset(("01-23", "01-24", "05-29", "09-28", "09-29", "10-02"))


def num(key: str, salt: str, n: int) -> int:
    """A deterministic number in [0, n) for a key."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % n


def working_day(d: date) -> date:
    """The day itself, or the next working day of 2023."""
    while d.weekday() >= 5 or d.strftime("%m-%d") in FIXED_HOLIDAYS | HOLIDAYS_2023:
        d += timedelta(days=1)
    return d


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def up_to_million(krw: int) -> int:
    return ceil_div(krw, MILLION) * MILLION


class Catalog(NamedTuple):
    """What the demo catalog says about each technology code."""

    listed_on: dict[str, date]
    retired: frozenset[str]
    names: dict[str, tuple[str, str]]
    """(name_ko, name_en) per code."""

    def pool(self, industry: str, on: date) -> list[str]:
        """Codes of an industry listed on a day and never retired, in code order."""
        return sorted(
            c
            for c, since in self.listed_on.items()
            if c.split("-")[0] == industry and since <= on and c not in self.retired
        )


def read_catalog() -> Catalog:
    """Replay catalog.json's revisions."""
    data: dict[str, Any] = json.loads(CATALOG.read_text(encoding="utf-8"))
    listed_on: dict[str, date] = {}
    retired: set[str] = set()
    names: dict[str, tuple[str, str]] = {}
    for revision in data["revisions"]:
        on = date.fromisoformat(revision["effective_on"])
        for change in revision["changes"]:
            if change["op"] == "add":
                tech = change["technology"]
                listed_on[tech["code"]] = on
                names[tech["code"]] = (tech["name_ko"], tech["name_en"])
            else:
                retired.add(change["code"])
    return Catalog(listed_on, frozenset(retired), names)


def split_total(total: int, keys: list[str], salt: str) -> list[int]:
    """Split a total (a whole number of millions) into varied whole-million amounts, one per key."""
    units = total // MILLION
    if units * MILLION != total:
        raise ValueError(f"{total} is not a whole number of millions")
    weights = [60 + num(key, salt, 81) for key in keys]
    whole = sum(weights)
    shares = [units * w // whole for w in weights]
    rest = units - sum(shares)
    by_fraction = sorted(range(len(keys)), key=lambda i: (-(units * weights[i] % whole), i))
    for i in by_fraction[:rest]:
        shares[i] += 1
    return [s * MILLION for s in shares]


def english_phrase(name_en: str) -> str:
    """The technology's English name inside a sentence: lower-case unless it starts with an acronym."""
    first = name_en.split()[0]
    if first[0].isupper() and first[1:] == first[1:].lower():
        return name_en[0].lower() + name_en[1:]
    return name_en


def secondary_codes(code: str, catalog: Catalog, on: date) -> list[str]:
    """0-2 more technologies of the primary one's industry."""
    pool = [c for c in catalog.pool(code.split("-")[0], on) if c != code]
    ranked = sorted(pool, key=lambda c: (num(code + c, "also", 10_000), c))
    return ranked[: (0, 1, 1, 2)[num(code, "also-count", 4)]]


def firm_industry(firm: dict[str, Any]) -> str:
    return str(firm["technology_codes"][0].split("-")[0])


def choose_firm(
    project_code: str, codes: list[str], firms: list[dict[str, Any]], load: dict[str, int]
) -> dict[str, Any] | None:
    """A firm of the primary technology's industry, preferring one that holds the project's codes."""
    industry = codes[0].split("-")[0]
    candidates = [
        f for f in firms if firm_industry(f) == industry and load.get(f["brn"], 0) < MAX_PROJECTS_PER_FIRM
    ]
    if not candidates:
        return None
    best = min(
        candidates,
        key=lambda f: (
            codes[0] not in f["technology_codes"],
            not set(codes) & set(f["technology_codes"]),
            load.get(f["brn"], 0),
            num(project_code + f["brn"], "lead", 10_000),
        ),
    )
    load[best["brn"]] = load.get(best["brn"], 0) + 1
    return best


def private_shares(project_code: str, government: int, size: str) -> tuple[int, int]:
    """Private cash and in-kind amounts (whole millions) that keep within the caps for the size."""
    cap, floor = CAPS[size]
    share = cap - (0, 0, 1, 2, 3, 5, 8)[num(project_code, "share", 7)]
    private = up_to_million(ceil_div(government * (100 - share), share))
    cash_pct = floor + num(project_code, "cash", 16)
    cash = up_to_million(ceil_div(private * cash_pct, 100))
    return cash, private - cash


def disbursements(code: str, status: str, government: int, start: date) -> list[dict[str, Any]]:
    """Payments in 2023: a first instalment after the start, and for some a second in the autumn."""
    payments: list[tuple[date, int]] = []
    if status == "active" or (status == "agreement_signed" and num(code, "advance", 2)):
        first_pct = 30 + num(code, "first-pct", 31)
        paid_on = working_day(start + timedelta(days=14 + num(code, "first-day", 21)))
        payments.append((paid_on, government * first_pct // 100 // MILLION * MILLION))
        if status == "active" and num(code, "second", 3):
            second_pct = 20 + num(code, "second-pct", 21)
            paid_on = working_day(date(YEAR, 9, 1) + timedelta(days=num(code, "second-day", 90)))
            payments.append((paid_on, government * second_pct // 100 // MILLION * MILLION))
    return [
        {
            "idempotency_key": f"demo-budget-{code}-{n}",
            "body": {"amount_krw": amount, "paid_on": paid_on.isoformat()},
        }
        for n, (paid_on, amount) in enumerate(payments, start=1)
    ]


def first_call_moves(code: str, status: str, start: date) -> list[dict[str, Any]]:
    """The moves of a first-call project, dated: selected in March, signed and started at its start."""
    days = {
        "selected": working_day(date(YEAR, 3, 13) + timedelta(days=num(code, "selected", 5))),
        "agreement_signed": working_day(start - timedelta(days=7 + num(code, "signed", 5))),
        "active": working_day(start),
    }
    return [{"to": to, "reason": REASONS[to], "effective_on": days[to].isoformat()} for to in PATHS[status]]


def status_of(code: str) -> str:
    """Where the project stands: about 2 in 10 selected, 3 agreement signed, 5 active."""
    bucket = num(code, "status", 10)
    return "selected" if bucket < 2 else "agreement_signed" if bucket < 5 else "active"


def build() -> dict[str, object]:
    """Return the dataset: the fiscal year, the programs and the projects, in API bodies."""
    catalog = read_catalog()
    firms = [entry["firm"] for entry in json.loads(FIRMS.read_text(encoding="utf-8"))["firms"]]
    if ALCHEMIST_PROGRAM["budget_krw"] <= 0:
        raise ValueError("the track programs leave nothing for the alchemist program")
    programs: list[dict[str, Any]] = [
        {"program": CONTINUING_PROGRAM, "themes": []},
        *(
            {
                "program": {
                    "code": f"MP23-{track.key}",
                    "fiscal_year": YEAR,
                    "name_en": track.name_en,
                    "name_ko": track.name_ko,
                    "kind": "rnd",
                    "track": track.track,
                    "budget_krw": track.budget_krw,
                },
                "themes": [],
            }
            for track in TRACKS
        ),
        {"program": ALCHEMIST_PROGRAM, "themes": list(ALCHEMIST_THEMES)},
    ]
    load: dict[str, int] = {}
    firsts: dict[str, dict[str, Any] | None] = {}
    projects: list[dict[str, Any]] = []
    seen: set[str] = set()
    for track in TRACKS:
        if len(track.codes) != track.projects or seen & set(track.codes):
            raise ValueError(f"track {track.key}: wrong or repeated primary technologies")
        seen |= set(track.codes)
        keys = [f"MP23-{track.key}-{n:03d}" for n in range(1, track.projects + 1)]
        amounts = split_total(track.total_krw, keys, "government")
        for code, primary, government in zip(keys, track.codes, amounts, strict=True):
            start = START_DAYS[num(code, "start", len(START_DAYS))]
            if primary not in catalog.pool(primary.split("-")[0], start):
                raise ValueError(f"{code}: {primary} is not listed on {start} or was retired")
            codes = [primary, *secondary_codes(primary, catalog, start)]
            firm = (
                None if num(code, "institute", INSTITUTE_LED) == 0 else choose_firm(code, codes, firms, load)
            )
            cash, in_kind = (0, 0) if firm is None else private_shares(code, government, firm["size"])
            name_ko, name_en = catalog.names[primary]
            title_ko, title_en = track.titles[num(code, "title", len(track.titles))]
            status = status_of(code)
            firsts[code] = firm
            project = {
                "code": code,
                "program_code": f"MP23-{track.key}",
                "title": f"{title_ko.format(ko=name_ko)} ({title_en.format(en=english_phrase(name_en))})",
                "kind": "new",
                "continues": None,
                "technology_codes": codes,
                "lead_firm_brn": None if firm is None else firm["brn"],
                "government_krw": government,
                "private_cash_krw": cash,
                "private_in_kind_krw": in_kind,
                "start_on": start.isoformat(),
                # end_on is the first day after the project: one that runs through Dec 31 ends on Jan 1.
                "end_on": date(YEAR + 4 + num(code, "years", 2), 1, 1).isoformat(),
            }
            projects.append(
                {
                    "project": project,
                    "transitions": first_call_moves(code, status, start),
                    "disbursements": disbursements(code, status, government, start),
                }
            )
    other_programs, other_projects = years.build(catalog, firms, projects, firsts)
    return {
        "fiscal_years": [
            {"year": y, "body": {"envelope_krw": ENVELOPE_KRW if y == YEAR else years.ENVELOPES[y]}}
            for y in years.YEARS
        ],
        "programs": sorted(
            [*programs, *other_programs], key=lambda p: (p["program"]["fiscal_year"], p["program"]["code"])
        ),
        "projects": sorted([*projects, *other_projects], key=years.load_order),
    }


def render() -> str:
    """Return budget.json's exact text."""
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Write budget.json beside this script."""
    OUTPUT.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
