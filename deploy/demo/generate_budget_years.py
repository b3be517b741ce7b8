"""The demo budget's other fiscal years (2019-2022 and 2024-2026), for generate_budget.py.

Deterministic like its caller: every choice that looks random is a SHA-256 hash of a fixed key.
Only the 2022 envelope is derived from a published figure (2023's ₩937.56bn was +11.5% on it);
every other envelope, program, project, partner, date and amount here is invented (see
deploy/demo/README.md).

What it builds:
- 2019-2022: a continuing and a new-projects program per year; new projects from 2019 on, each
  continued year by year until the end of 2022 (so 2023's continuing program holds no project and
  its first call keeps its exact published figures).
- 2024-2026: every 2023 first-call project continued each year until its end; new projects in
  space & aviation, defense and hydrogen; joint projects with German and Danish partners; and a
  new alchemist theme whose 6 : 3 : 1 teams run concept (2024), preliminary (2025), main (2026).
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any, NamedTuple

YEARS = range(2019, 2027)
FIRST_CALL_YEAR = 2023
AS_OF = date(2026, 11, 25)
"""The day the demo stands on: nothing is dated later (as in firms.json)."""
BN = 1_000_000_000
MILLION = 1_000_000

ENVELOPES: dict[int, int] = {
    2019: 612_400_000_000,  # invented
    2020: 702_150_000_000,  # invented
    2021: 781_300_000_000,  # invented
    2022: 840_860_000_000,  # derived: ₩937.56bn / 1.115, to ₩10m
    2024: 975_200_000_000,  # invented
    2025: 1_012_400_000_000,  # invented
    2026: 1_048_700_000_000,  # invented
}
CAPS: dict[str, tuple[int, int]] = {"large": (50, 15), "mid": (70, 13), "sme": (75, 10)}
FIXED_HOLIDAYS = frozenset(("01-01", "03-01", "05-05", "06-06", "08-15", "10-03", "10-09", "12-25"))

# New projects of 2019-2022, by primary technology: all on the 2020 list and never retired; 2019's
# answer the July 2019 export restrictions.
EARLY: dict[int, tuple[str, ...]] = {
    2019: ("SEMI-001", "SEMI-002", "DISP-001", "SEMI-003", "SEMI-004", "DISP-004", "CHEM-001", "MACH-001"),
    2020: ("ELEC-004", "MACH-008", "AUTO-002", "SEMI-008", "DISP-008", "CHEM-002"),
    2021: ("ELEC-007", "MACH-013", "AUTO-004", "SEMI-012"),
    2022: ("ELEC-006", "MACH-014", "CHEM-003"),
}
EARLY_TITLES = (
    ("{ko} 국산화 긴급 기술 개발", "Urgent localization of {en}"),
    ("{ko} 공급망 자립화 기술 개발", "Supply-chain self-reliance for {en}"),
)

# New projects of 2024-2026 in the industries listed in 2024: (primary, industry's firm or None).
NEW_INDUSTRY: dict[int, tuple[str, ...]] = {
    2024: ("AERO-007", "AERO-008", "AERO-013", "H2-001", "H2-012", "DEF-002"),
    2025: ("AERO-012", "AERO-010", "H2-014", "H2-007", "DEF-001"),
    2026: ("AERO-017", "H2-016", "H2-009"),
}
NEW_INDUSTRY_TITLES = (
    ("{ko} 국산화 및 실증", "Localization and demonstration of {en}"),
    ("차세대 {ko} 핵심 기술 개발", "Next-generation {en}: core technology"),
)


class Partner(NamedTuple):
    """A foreign partner of a joint project. Invented: no real organization is named."""

    name: str
    kind: str
    country: str


PARTNERS: tuple[Partner, ...] = (
    Partner("Rheintal Photonik GmbH", "firm", "DE"),
    Partner("Institut für Werkstoffsysteme Sachsen", "institute", "DE"),
    Partner("Hanse Wasserstofftechnik GmbH", "firm", "DE"),
    Partner("Nordsø Brint ApS", "firm", "DK"),
    Partner("Jysk Institut for Materialeforskning", "institute", "DK"),
    Partner("Øresund Power Electronics A/S", "firm", "DK"),
)
# Korean universities of the joint projects. Invented names.
UNIVERSITIES = (
    "한빛과학기술대학교 (Hanbit University of Science and Technology)",
    "남도공과대학교 (Namdo Institute of Technology)",
    "새누리대학교 (Saenuri University)",
)
# Joint projects with Germany and Denmark: (year, primary technology).
JOINT: tuple[tuple[int, str], ...] = (
    (2024, "SEMI-020"),
    (2024, "H2-003"),
    (2024, "ELEC-019"),
    (2024, "CHEM-015"),
    (2024, "H2-013"),
    (2025, "SEMI-025"),
    (2025, "H2-005"),
    (2025, "ELEC-022"),
    (2025, "AERO-002"),
    (2026, "H2-015"),
    (2026, "DISP-011"),
    (2026, "ELEC-026"),
)
JOINT_TITLE = ("한-{country} 공동 {ko} 기술 개발", "Korea-{country_en} joint development of {en}")
COUNTRY_NAMES = {"DE": ("독일", "Germany"), "DK": ("덴마크", "Denmark")}

ALCHEMIST_THEME = "MP24-ALC-T01"
ALCHEMIST_TITLE = (
    "저온 암모니아 분해 수소 추출 촉매 (Low-temperature ammonia-cracking catalyst for hydrogen extraction)"
)
ALCHEMIST_STAGES = (
    ("concept", 2024, 6, 200 * MILLION),
    ("preliminary", 2025, 3, 500 * MILLION),
    ("main", 2026, 1, 4 * BN),
)
ALCHEMIST_TECHNOLOGY = "H2-018"
STAGE_KO = {"concept": "개념연구", "preliminary": "선행연구", "main": "본연구"}
# Research institutes that lead the alchemist teams. Invented names.
ALCHEMIST_TEAMS = (
    "한국미래촉매연구원 (Korea Future Catalysis Institute)",
    "국립수소소재연구소 (National Hydrogen Materials Laboratory)",
    "동해에너지화학연구원 (East Sea Energy Chemistry Institute)",
    "한밭나노소재연구소 (Hanbat Nanomaterials Institute)",
    "서해청정에너지연구원 (West Sea Clean Energy Institute)",
    "중부첨단소재연구원 (Jungbu Advanced Materials Institute)",
)


def num(key: str, salt: str, n: int) -> int:
    """A deterministic number in [0, n) for a key."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % n


def working_day(d: date) -> date:
    """The day itself or the next one that is no weekend and no fixed public holiday."""
    while d.weekday() >= 5 or d.strftime("%m-%d") in FIXED_HOLIDAYS:
        d += timedelta(days=1)
    return d


def millions(krw: int) -> int:
    return krw // MILLION * MILLION


def private_shares(key: str, government: int, size: str) -> tuple[int, int]:
    """Private cash and in-kind money (whole millions) that keep the caps for the lead firm's size."""
    cap, floor = CAPS[size]
    share = cap - (0, 1, 2, 3, 5, 8)[num(key, "share", 6)]
    private = -(-government * (100 - share) // share)
    private = -(-private // MILLION) * MILLION
    cash = -(-private * (floor + num(key, "cash", 16)) // 100)
    cash = -(-cash // MILLION) * MILLION
    return cash, private - cash


class Record(NamedTuple):
    """One yearly record of a project, before it becomes API bodies."""

    code: str
    program: str
    year: int
    title: str
    continues: str | None
    codes: list[str]
    firm: dict[str, Any] | None
    government: int
    start: date
    end: date
    participants: list[dict[str, Any]] | None = None
    foreign_in_kind: int = 0


def moves(record: Record) -> list[dict[str, Any]]:
    """Selected, signed, active, and completed at the end of a past year; dated, never after AS_OF."""
    key, y = record.code, record.year
    if record.continues is None:
        selected = working_day(record.start - timedelta(days=20 + num(key, "sel", 10)))
    else:
        selected = working_day(date(y, 1, 5) + timedelta(days=num(key, "sel", 5)))
    signed = working_day(selected + timedelta(days=5 + num(key, "sign", 5)))
    active = working_day(max(signed + timedelta(days=1), record.start))
    out = [
        {
            "to": "selected",
            "reason": "Selected by the evaluation committee.",
            "effective_on": selected.isoformat(),
        },
        {
            "to": "agreement_signed",
            "reason": "Research agreement signed with KEIT.",
            "effective_on": signed.isoformat(),
        },
        {"to": "active", "reason": "Research started.", "effective_on": active.isoformat()},
    ]
    if y < AS_OF.year:
        done = working_day(date(y, 12, 20) + timedelta(days=num(key, "done", 5)))
        out.append(
            {
                "to": "completed",
                "reason": f"The {y} stage's results were accepted.",
                "effective_on": done.isoformat(),
            }
        )
    return out


def payments(record: Record, active_on: date) -> list[dict[str, Any]]:
    """A first instalment after the start and, for one record in three, a second in the autumn; a
    past year's record is paid in full (in one payment, when it has no second)."""
    key, y = record.code, record.year
    first_on = working_day(active_on + timedelta(days=14 + num(key, "first-day", 21)))
    second_on = working_day(date(y, 9, 1) + timedelta(days=num(key, "second-day", 60)))
    two = num(key, "two", 3) == 0 and second_on <= AS_OF
    first = millions(record.government * (50 + num(key, "first", 21)) // 100)
    if y < AS_OF.year and not two:
        first = record.government
    out = [(first_on, first)]
    if two:
        out.append(
            (
                second_on,
                record.government - first if y < AS_OF.year else millions((record.government - first) // 2),
            )
        )
    return [
        {
            "idempotency_key": f"demo-budget-{key}-{n}",
            "body": {"amount_krw": amount, "paid_on": on.isoformat()},
        }
        for n, (on, amount) in enumerate(out, start=1)
        if amount > 0
    ]


def entry(record: Record) -> dict[str, Any]:
    """The API bodies of one yearly record."""
    firm = record.firm
    cash, in_kind = (0, 0) if firm is None else private_shares(record.code, record.government, firm["size"])
    project: dict[str, Any] = {
        "code": record.code,
        "program_code": record.program,
        "title": record.title,
        "kind": "new" if record.continues is None else "continuing",
        "continues": record.continues,
        "technology_codes": record.codes,
        "lead_firm_brn": None if firm is None else firm["brn"],
        "government_krw": record.government,
        "private_cash_krw": cash,
        "private_in_kind_krw": in_kind + record.foreign_in_kind,
        "start_on": record.start.isoformat(),
        "end_on": record.end.isoformat(),
    }
    if record.participants is not None:
        assert firm is not None
        university_gov = millions(record.government * (20 + num(record.code, "uni", 11)) // 100)
        lead, university, partner = record.participants
        project["participants"] = [
            {**lead, "brn": firm["brn"], "government_krw": record.government - university_gov,
             "private_cash_krw": cash, "private_in_kind_krw": in_kind},
            {**university, "government_krw": university_gov},
            {**partner, "private_in_kind_krw": record.foreign_in_kind},
        ]  # fmt: skip
    steps = moves(record)
    return {
        "project": project,
        "transitions": steps,
        "disbursements": payments(record, date.fromisoformat(steps[2]["effective_on"])),
    }


def chain(first: Record, until: int) -> list[Record]:
    """The first record and one continuing record a year after it up to `until`, money growing a little."""
    out = [first]
    # A joint project stays in its global program; any other continues in the year's continuing one.
    family = "GLB" if first.program.endswith("-GLB") else "CONT"
    for y in range(first.year + 1, until + 1):
        prev = out[-1]
        code = f"MP{y % 100:02d}-{family}-{first.code.removeprefix('MP')}"
        growth = 100 + num(code, "growth", 31)
        out.append(
            prev._replace(
                code=code,
                program=f"MP{y % 100:02d}-{family}",
                year=y,
                continues=prev.code,
                government=millions(first.government * growth // 100),
                start=date(y, 1, 1),
            )
        )
    return out


def program(
    code: str, year: int, name_en: str, name_ko: str, kind: str, track: str | None, budget: int
) -> dict[str, Any]:
    return {
        "program": {
            "code": code,
            "fiscal_year": year,
            "name_en": name_en,
            "name_ko": name_ko,
            "kind": kind,
            "track": track,
            "budget_krw": budget,
        },
        "themes": [],
    }


def programs_of(year: int) -> list[dict[str, Any]]:
    """A year's programs: continuing, new, and from 2024 global joint and alchemist ones."""
    yy = f"{year % 100:02d}"
    envelope = ENVELOPES[year]
    extra = [
        program(f"MP{yy}-GLB", year, "Global joint technology development (Germany, Denmark)",
                "글로벌 공동기술개발 (독일·덴마크)", "rnd", "global-joint", 30 * BN),
        program(f"MP{yy}-ALC", year, "Alchemist Project", "알키미스트 프로젝트", "alchemist", None, 25 * BN),
    ] if year > FIRST_CALL_YEAR else []  # fmt: skip
    new_budget = 60 * BN if year > FIRST_CALL_YEAR else 40 * BN
    track = "new-industries" if year > FIRST_CALL_YEAR else "supply-chain-stability"
    rest = envelope - new_budget - sum(p["program"]["budget_krw"] for p in extra)
    return [
        program(f"MP{yy}-CONT", year, "Materials & Parts Technology Development: continuing projects",
                "소재부품기술개발 (계속과제)", "rnd", None, rest),
        program(f"MP{yy}-NEW", year, "Materials & Parts Technology Development: new projects",
                "소재부품기술개발 (신규)", "rnd", track, new_budget),
        *extra,
    ]  # fmt: skip


def firm_for(
    industry: str, firms: list[dict[str, Any]], load: dict[str, int], key: str
) -> dict[str, Any] | None:
    """A firm of the industry with the fewest projects here; None if the industry has none."""
    pool = [f for f in firms if f["technology_codes"][0].split("-")[0] == industry]
    if not pool:
        return None
    best = min(pool, key=lambda f: (load.get(f["brn"], 0), num(key + f["brn"], "lead", 10_000)))
    load[best["brn"]] = load.get(best["brn"], 0) + 1
    return best


def build(
    catalog: Any,
    firms: list[dict[str, Any]],
    first_call: list[dict[str, Any]],
    leads: dict[str, dict[str, Any] | None],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The other years' programs, and their projects' yearly records as API bodies."""
    programs = [p for y in YEARS if y != FIRST_CALL_YEAR for p in programs_of(y)]
    records: list[Record] = []
    load: dict[str, int] = {}
    for year, plans in EARLY.items():
        for n, primary in enumerate(plans, start=1):
            key = f"MP{year % 100:02d}-NEW-{n:03d}"
            name_ko, name_en = catalog.names[primary]
            t_ko, t_en = EARLY_TITLES[num(key, "title", len(EARLY_TITLES))]
            ko, en = t_ko.format(ko=name_ko), t_en.format(en=name_en)
            start = date(year, 8, 1) if year == 2019 else date(year, 4 + num(key, "start", 3), 1)
            firm = (
                None if num(key, "institute", 6) == 0 else firm_for(primary.split("-")[0], firms, load, key)
            )
            first = Record(key, key.rsplit("-", 1)[0], year, f"{ko} ({en})", None, [primary], firm,
                           (300 + num(key, "gov", 501)) * MILLION, start, date(2023, 1, 1))  # fmt: skip
            records += chain(first, 2022)
    for entry_ in first_call:
        p = entry_["project"]
        end = date.fromisoformat(p["end_on"])
        first = Record(p["code"], p["program_code"], FIRST_CALL_YEAR, p["title"], None, p["technology_codes"],
                       leads[p["code"]], p["government_krw"], date.fromisoformat(p["start_on"]), end)  # fmt: skip
        # Continued each year up to the one its last day falls in (end_on is the day after).
        records += chain(first, min((end - timedelta(days=1)).year, AS_OF.year))[1:]
    for year, primaries in NEW_INDUSTRY.items():
        for n, primary in enumerate(primaries, start=1):
            key = f"MP{year % 100:02d}-NEW-{n:03d}"
            ko, en = catalog.names[primary]
            t_ko, t_en = NEW_INDUSTRY_TITLES[num(key, "title", len(NEW_INDUSTRY_TITLES))]
            firm = firm_for(primary.split("-")[0], firms, load, key) if num(key, "institute", 3) else None
            start = date(year, 6, 1)
            first = Record(key, f"MP{year % 100:02d}-NEW", year, f"{t_ko.format(ko=ko)} ({t_en.format(en=en)})",
                           None, [primary], firm, (400 + num(key, "gov", 601)) * MILLION, start,
                           date(2028 + num(key, "end", 2), 1, 1))  # fmt: skip
            records += chain(first, AS_OF.year)
    for n, (year, primary) in enumerate(JOINT, start=1):
        key = f"MP{year % 100:02d}-GLB-{n:03d}"
        partner = PARTNERS[num(key, "partner", len(PARTNERS))]
        ko, en = catalog.names[primary]
        c_ko, c_en = COUNTRY_NAMES[partner.country]
        firm = firm_for(primary.split("-")[0], firms, load, key) or firm_for("MACH", firms, load, key)
        university = UNIVERSITIES[num(key, "university", len(UNIVERSITIES))]
        first = Record(
            key, f"MP{year % 100:02d}-GLB", year,
            f"{JOINT_TITLE[0].format(country=c_ko, ko=ko)} ({JOINT_TITLE[1].format(country_en=c_en, en=en)})",
            None, [primary], firm, (500 + num(key, "gov", 501)) * MILLION, date(year, 6, 1),
            date(2028 + num(key, "end", 2), 1, 1),
            participants=[
                {"role": "lead", "kind": "firm"},
                {"role": "participant", "kind": "university", "name": university},
                {"role": "participant", "kind": partner.kind, "name": partner.name, "country": partner.country},
            ],
            foreign_in_kind=(100 + num(key, "foreign", 201)) * MILLION,
        )  # fmt: skip
        records += chain(first, AS_OF.year)
    teams: dict[str, list[str]] = {stage: [] for stage, *_ in ALCHEMIST_STAGES}
    survivors = list(range(1, ALCHEMIST_STAGES[0][2] + 1))
    previous: dict[int, str] = {}
    for stage, year, count, government in ALCHEMIST_STAGES:
        survivors = sorted(survivors, key=lambda t: num(f"{stage}-{t}", "survives", 1000))[:count]
        for team in sorted(survivors):
            code = f"MP{year % 100:02d}-ALC-{team:03d}"
            name_ko, name_en = ALCHEMIST_TEAMS[team - 1].removesuffix(")").split(" (")
            records.append(
                Record(code, f"MP{year % 100:02d}-ALC", year,
                       f"{name_ko} 암모니아 분해 촉매 {STAGE_KO[stage]} ({name_en}: ammonia-cracking catalyst, {stage} stage)",
                       previous.get(team), [ALCHEMIST_TECHNOLOGY], None, government,
                       date(year, 5, 1) if previous.get(team) is None else date(year, 1, 1), date(2031, 1, 1))
            )  # fmt: skip
            teams[stage].append(code)
            previous[team] = code
    alchemist = next(p for p in programs if p["program"]["code"] == "MP24-ALC")
    alchemist["themes"].append(
        {
            "theme_code": ALCHEMIST_THEME,
            "body": {
                "title": ALCHEMIST_TITLE,
                "stages": [
                    {"stage": stage, "teams": count, "fiscal_year": year, "project_codes": teams[stage]}
                    for stage, year, count, _ in ALCHEMIST_STAGES
                ],
            },
        }
    )
    return programs, [entry(r) for r in records]


def load_order(e: dict[str, Any]) -> tuple[int, str]:
    """Year by year (a continuing record after the one it continues), then by code."""
    code: str = e["project"]["code"]
    return int(code[2:4]), code
