"""The compiled path answers exactly what strawberry answers, or declines (None) and leaves it to strawberry."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import pytest
from graphql import parse, validate

from gateway.partners.keys import Partner
from gateway.read.compiled import MAX_PLANS, CompiledQuery, Declined, compile_operation, inspect_operation
from gateway.read.schema import Context, schema
from mpe_kit.pagination import encode_cursor

from .conftest import (
    ALL,
    F1,
    F2,
    F3,
    F4,
    F5,
    F6,
    MAX_PAGE,
    apply,
    brn,
    compile_query,
    program,
    program_event,
)


def partner(scopes: frozenset[str]) -> Partner:
    return Partner(key_id=uuid.uuid4(), agency="KIAT", scopes=scopes)


async def both(
    pool: asyncpg.Pool,
    query: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
    scopes: frozenset[str] = ALL,
) -> dict[str, Any]:
    """Run the query both ways; they must agree to the byte of their JSON, key order included."""
    document = parse(query)
    assert validate(schema._schema, document) == []
    compiled = compile_query(document, operation_name, variables, scopes=scopes, max_page=MAX_PAGE)
    assert isinstance(compiled, CompiledQuery), f"the compiler declined a query it should answer: {compiled}"
    async with pool.acquire() as c:
        got = json.loads(await compiled.run(c))
    expected = await schema.execute(
        query,
        variable_values=variables,
        operation_name=operation_name,
        context_value=Context(pool=pool, partner=partner(scopes), max_page=MAX_PAGE),
    )
    assert expected.errors is None, expected.errors
    assert json.dumps(got, ensure_ascii=False) == json.dumps(expected.data, ensure_ascii=False)
    data: dict[str, Any] = got
    return data


def declined(
    query: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
    scopes: frozenset[str] = ALL,
    max_page: int = MAX_PAGE,
) -> bool:
    document = parse(query)
    assert validate(schema._schema, document) == []
    found = compile_query(document, operation_name, variables, scopes=scopes, max_page=max_page)
    return isinstance(found, Declined)


# The three headline queries.

TECHNOLOGY_PAGE = """
query Page($first: Int!, $after: String, $year: Int) {
  technologies(first: $first, after: $after) {
    totalCount
    edges {
      cursor
      node {
        code nameEn nameKo kind status listedOn retiredOn version
        industry { code nameEn nameKo }
        funding(fiscalYear: $year) { committedKrw disbursedKrw projectCount }
        firms(first: 5) { brn brnDisplay nameKo size mpeSalesRatio }
        designations(status: DESIGNATED, first: 10) {
          id kind cohort status designatedOn validUntil firm { brn nameEn nameKo }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

OVERVIEW = """
{
  programOverview(fiscalYear: 2023) {
    fiscalYear envelopeKrw programmedKrw committedKrw disbursedKrw newProjectCount continuingProjectCount
    byIndustry { industry { code nameEn nameKo technologyCount } committedKrw disbursedKrw projectCount }
    byTrack { track committedKrw disbursedKrw projectCount }
  }
}
"""

FIRM = """
query Firm($brn: String!) {
  firm(brn: $brn) {
    brn brnDisplay nameEn nameKo size sizeSince region mpeSalesRatio
    technologies { code nameEn status industry { code } }
    designations(first: 20) {
      id kind cohort status appliedOn designatedOn validUntil
      technologies { code }
      history { fromStatus toStatus effectiveOn at actor reason }
    }
    projects(first: 50) {
      code fiscalYear title kind status continues startOn endOn
      program { code nameEn kind track budgetKrw }
      governmentKrw privateCashKrw privateInKindKrw committedKrw disbursedKrw
    }
  }
}
"""


async def test_technology_pages_agree_page_by_page(pool: asyncpg.Pool) -> None:
    after, pages, codes = None, 0, []
    while True:
        data = await both(pool, TECHNOLOGY_PAGE, {"first": 7, "after": after, "year": 2023})
        page = data["technologies"]
        codes += [e["node"]["code"] for e in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 4
    assert len(codes) == 25 == page["totalCount"]
    assert page["pageInfo"]["endCursor"] == encode_cursor(["SEMI-025"])


async def test_technology_page_of_fifty_with_every_year(pool: asyncpg.Pool) -> None:
    for year in (2022, 2023, 2024, None):
        data = await both(pool, TECHNOLOGY_PAGE, {"first": 50, "year": year})
    semi4 = next(e["node"] for e in data["technologies"]["edges"] if e["node"]["code"] == "SEMI-004")
    assert semi4["funding"] == {"committedKrw": "3000000000", "disbursedKrw": "1400000000", "projectCount": 3}
    semi10 = next(e["node"] for e in data["technologies"]["edges"] if e["node"]["code"] == "SEMI-010")
    assert semi10["industry"] is None
    semi24 = next(e["node"] for e in data["technologies"]["edges"] if e["node"]["code"] == "SEMI-024")
    assert semi24["funding"] == {"committedKrw": "0", "disbursedKrw": "0", "projectCount": 0}


async def test_program_overview(pool: asyncpg.Pool) -> None:
    data = await both(pool, OVERVIEW)
    assert data["programOverview"]["byIndustry"][-1]["industry"] is None
    # A year with no envelope, programs or projects.
    await both(pool, OVERVIEW.replace("2023", "1999"))
    await both(pool, OVERVIEW.replace("2023", "2022"))


async def test_firm_in_full(pool: asyncpg.Pool) -> None:
    for number in (F1, F2, F3, F4, F5, F6, f"{F1[:3]}-{F1[3:5]}-{F1[5:]}", brn(777)):
        data = await both(pool, FIRM, {"brn": number})
    assert data == {"firm": None}
    data = await both(pool, FIRM, {"brn": F5})
    assert data["firm"]["mpeSalesRatio"] == 1.0


# Other shapes: aliases, fragments, directives, __typename, filters, nulls, every compiled field.


async def test_aliases_and_fragments(pool: asyncpg.Pool) -> None:
    query = """
    query Q($semi: String) {
      __typename
      one: technology(code: "SEMI-004") { ...T code alias: nameEn ... on Technology { kind __typename } }
      two: technology(code: "SEMI-005") { ...T }
      missing: technology(code: "NOPE") { code }
      semi: technologies(filter: {industry: $semi}, first: 3) { ...Page }
      disp: technologies(filter: {industry: "DISP"}, first: 3) { ...Page totalCount }
    }
    fragment T on Technology {
      code
      fy23: funding(fiscalYear: 2023) { ...Money }
      all: funding { ...Money __typename }
      designations { status firm { ... on Firm { nameEn } } }
      designations { kind }
    }
    fragment Money on Funding { committedKrw projectCount }
    fragment Page on TechnologyConnection {
      __typename
      edges { __typename node { code } cursor }
      pageInfo { __typename endCursor hasNextPage }
    }
    """
    data = await both(pool, query, {"semi": "SEMI"}, "Q")
    assert list(data["one"]) == ["code", "fy23", "all", "designations", "alias", "kind", "__typename"]


async def test_response_keys_longer_than_a_column_name(pool: asyncpg.Pool) -> None:
    # An object over rows is a record whose columns are named by the response keys; Postgres
    # cuts a name past 63 bytes short, so such an object is built key by key instead.
    at_most = "k" * 63
    longer = "l" * 64
    query = f"""
    {{
      technology(code: "SEMI-004") {{
        {longer}: code
        {at_most}: industry {{ {longer}: code nameEn }}
        designations {{ {at_most}: id firm {{ {longer}: brn {at_most}: nameKo }} }}
      }}
      {longer}: technologies(first: 2) {{ edges {{ node {{ {at_most}: code }} }} }}
    }}
    """
    data = await both(pool, query)
    technology = data["technology"]
    assert list(technology) == [longer, at_most, "designations"]
    assert technology[at_most] == {longer: "SEMI", "nameEn": technology[at_most]["nameEn"]}
    assert technology["designations"], technology
    for designation in technology["designations"]:
        assert list(designation) == [at_most, "firm"]
        assert list(designation["firm"]) == [longer, at_most]
    assert [list(e["node"]) for e in data[longer]["edges"]] == [[at_most], [at_most]]


async def test_skip_and_include(pool: asyncpg.Pool) -> None:
    query = """
    query($yes: Boolean!, $no: Boolean = false) {
      technology(code: "SEMI-004") {
        code @skip(if: $yes)
        nameEn @include(if: $yes)
        industry @include(if: $no) { code }
        ... on Technology @skip(if: $no) { kind }
        ...F @include(if: $yes)
        firms(first: 2) @skip(if: false) { brn }
      }
    }
    fragment F on Technology { status funding(fiscalYear: 2023) @include(if: $yes) { projectCount } }
    """
    for yes in (True, False):
        for no in (True, False, None):
            variables: dict[str, Any] = {"yes": yes} if no is None else {"yes": yes, "no": no}
            await both(pool, query, variables)


async def test_filters(pool: asyncpg.Pool) -> None:
    query = """
    query($f: TechnologyFilter, $ff: FirmFilter, $pf: ProjectFilter) {
      technologies(filter: $f, first: 100) { totalCount edges { node { code status retiredOn } } }
      firms(filter: $ff, first: 100) { totalCount edges { cursor node { brn } } pageInfo { endCursor } }
      projects(filter: $pf, first: 100) { totalCount edges { node { code } } }
    }
    """
    cases: list[dict[str, Any]] = [
        {},
        {"f": {"status": "RETIRED"}, "ff": {"size": "SME"}, "pf": {"fiscalYear": 2023}},
        {
            "f": {"asOf": "2022-10-17"},
            "ff": {"designationKind": "LEADING", "designationStatus": "DESIGNATED"},
        },
        {
            "f": {"asOf": "2022-10-18", "kind": "PART"},
            "ff": {"technology": "SEMI-006"},
            "pf": {"kind": "CONTINUING"},
        },
        {
            "f": {"search": "oled"},
            "ff": {"search": "가람", "region": "충남"},
            "pf": {"firm": F1, "status": "SELECTED"},
        },
        {"f": {"search": "100%_"}, "ff": {"designationStatus": "REVOKED"}, "pf": {"technology": "SEMI-004"}},
        {
            "f": {"industry": "NONE"},
            "ff": {"size": "LARGE"},
            "pf": {"program": "MP-2023B", "firm": f"{F1[:3]}-{F1[3:5]}-{F1[5:]}"},
        },
    ]
    for variables in cases:
        await both(pool, query, variables)


async def test_every_compiled_field(pool: asyncpg.Pool) -> None:
    query = """
    {
      industries { __typename code nameEn nameKo technologyCount in2021: technologyCount(asOf: "2021-01-01") }
      coverageGaps(fiscalYear: 2023, first: 30) { totalCount edges { cursor node { code } } pageInfo { hasNextPage endCursor } }
      gaps99: coverageGaps(fiscalYear: 1999, first: 2) { totalCount pageInfo { hasNextPage endCursor } }
      programs(fiscalYear: 2023, first: 2) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { code fiscalYear nameEn nameKo kind track budgetKrw committedKrw disbursedKrw
                              projectCount themes { code title stages { stage teams } } projects(first: 2) { code } } }
      }
      allPrograms: programs(first: 100) { edges { node { code projectCount } } }
      program(code: "MP-ALC") { code themes { __typename code stages { __typename stage teams } } projects { code status } }
      noProgram: program(code: "MP-LATE") { code }
      project(code: "P23-004") {
        code title fiscalYear kind status continues governmentKrw privateCashKrw privateInKindKrw
        committedKrw disbursedKrw startOn endOn program { code } technologies { code } leadFirm { brn }
      }
      projects(first: 100) {
        edges { node { code continues program { code projectCount } leadFirm { brn nameEn }
                       technologies { code industry { code } } } }
      }
      technology(code: "SEMI-006") {
        description projects(first: 1) { code } allProjects: projects { code fiscalYear }
        designations { id status history { __typename fromStatus toStatus at effectiveOn actor reason }
                       technologies { code } firm { brn designations(first: 1) { id } } }
        firms { brn technologies { code } projects { code } }
      }
      empty: firms(filter: {region: "nowhere"}, first: 5) { totalCount edges { cursor } pageInfo { hasNextPage endCursor } }
    }
    """
    data = await both(pool, query)
    assert data["gaps99"] == {"totalCount": 0, "pageInfo": {"hasNextPage": False, "endCursor": None}}
    assert data["noProgram"] is None
    assert data["project"]["leadFirm"] is None


async def test_the_answers_fields(pool: asyncpg.Pool, conn: Any) -> None:
    """coverageGaps by what is missing, funding by year, theme stages by year with their projects."""
    theme = {
        "code": "T3",
        "title": "Years",
        "stages": [
            {"stage": "concept", "teams": 2, "fiscal_year": 2023, "project_codes": ["P23-005", "P23-LATE"]},
            {"stage": "main", "teams": 1, "fiscal_year": 2024, "project_codes": ["P24-001"]},
        ],
    }
    await apply(conn, program_event(program("MP-ALC3", kind="alchemist", themes=[theme])))
    query = """
    query($missing: CoverageMissing!) {
      lf: coverageGaps(fiscalYear: 2023, first: 30, missing: LEADING_FIRM) { totalCount edges { node { code } } }
      ap: coverageGaps(fiscalYear: 2023, first: 30, missing: ACTIVE_PROJECT) { totalCount edges { cursor } }
      v: coverageGaps(fiscalYear: 2023, first: 3, missing: $missing) { totalCount pageInfo { endCursor } }
      technologies(first: 30) { edges { node { code fundingByYear { __typename fiscalYear committedKrw disbursedKrw projectCount } } } }
      programs(first: 100) { edges { node { code themes { stages { stage fiscalYear teams projects { code fiscalYear } } } } } }
    }
    """
    data = await both(pool, query, {"missing": "EITHER"})
    assert data["lf"]["totalCount"] > 0
    assert data["v"]["totalCount"] >= data["lf"]["totalCount"]
    stages = next(e for e in data["programs"]["edges"] if e["node"]["code"] == "MP-ALC3")["node"]["themes"][0]
    assert [[p["code"] for p in s["projects"]] for s in stages["stages"]] == [["P23-005"], ["P24-001"]]


async def test_pagination_with_after(pool: asyncpg.Pool) -> None:
    query = """
    query($after: String, $n: Int!) {
      firms(first: $n, after: $after) { edges { cursor node { brn } } pageInfo { hasNextPage endCursor } }
      projects(first: $n, after: $after) { edges { node { code } } pageInfo { hasNextPage endCursor } }
      programs(first: $n, after: $after) { edges { node { code } } pageInfo { hasNextPage } }
      coverageGaps(fiscalYear: 2023, first: $n, after: $after) { edges { node { code } } pageInfo { endCursor } }
    }
    """
    for after in (
        None,
        encode_cursor([F3]),
        encode_cursor(["P23-003"]),
        encode_cursor(["SEMI-011"]),
        encode_cursor(["ZZZ"]),
        encode_cursor([""]),
    ):
        for n in (1, 2, 100):
            await both(pool, query, {"after": after, "n": n})


async def test_compilation_is_cached_and_variables_bound_per_call(pool: asyncpg.Pool) -> None:
    document = parse(FIRM)
    one = compile_query(document, None, {"brn": F1}, scopes=ALL, max_page=MAX_PAGE)
    two = compile_query(parse(FIRM), None, {"brn": F2}, scopes=ALL, max_page=MAX_PAGE)
    assert isinstance(one, CompiledQuery)
    assert isinstance(two, CompiledQuery)
    assert one.sql is two.sql
    assert one.values != two.values
    async with pool.acquire() as c:
        assert json.loads(await two.run(c))["firm"]["brn"] == F2


# Everything the compiler does not answer is left to strawberry.

FINANCIALS = '{ firm(brn: "F1") { nameEn mpeSalesRatio } }'.replace("F1", F1)


@pytest.mark.parametrize(
    ("query", "variables", "scopes", "max_page"),
    [
        ("{ dataAsOf { topic } }", None, ALL, MAX_PAGE),
        ('{ designationProgress(asOf: "2023-12-31") { designated } }', None, ALL, MAX_PAGE),
        ("{ industries { code } dataAsOf { lag } }", None, ALL, MAX_PAGE),
        ('{ __type(name: "Firm") { name } }', None, ALL, MAX_PAGE),
        ("{ __schema { queryType { name } } }", None, ALL, MAX_PAGE),
        # A scope the key lacks: FORBIDDEN stays strawberry's.
        (FINANCIALS, None, ALL - {"firms:financials"}, MAX_PAGE),
        ("{ industries { code } }", None, frozenset({"firms:read"}), MAX_PAGE),
        (
            '{ technology(code: "SEMI-001") { funding { projectCount } } }',
            None,
            ALL - {"budget:read"},
            MAX_PAGE,
        ),
        ('{ technology(code: "SEMI-001") { firms { brn } } }', None, ALL - {"firms:read"}, MAX_PAGE),
        ('{ project(code: "P23-001") { leadFirm { brn } } }', None, ALL - {"firms:read"}, MAX_PAGE),
        (
            '{ firm(brn: "F1") { projects { code } } }'.replace("F1", F1),
            None,
            ALL - {"budget:read"},
            MAX_PAGE,
        ),
        ("{ programOverview(fiscalYear: 2023) { committedKrw } }", None, frozenset(), MAX_PAGE),
        # Arguments strawberry refuses.
        ("{ technologies(first: 0) { totalCount } }", None, ALL, MAX_PAGE),
        ("{ technologies(first: 101) { totalCount } }", None, ALL, MAX_PAGE),
        ("{ technologies(first: 30) { totalCount } }", None, ALL, 20),
        ('{ technologies(after: "not a cursor") { totalCount } }', None, ALL, MAX_PAGE),
        ('{ technologies(after: "WzFd") { totalCount } }', None, ALL, MAX_PAGE),  # [1]: not text
        ('{ technology(code: "SEMI-001") { firms(first: 500) { brn } } }', None, ALL, MAX_PAGE),
        ('{ firm(brn: "F1") { designations(first: -1) { id } } }'.replace("F1", F1), None, ALL, MAX_PAGE),
        (
            '{ firm(brn: "F1") { brn } }'.replace("F1", F1[:9] + str((int(F1[9]) + 1) % 10)),
            None,
            ALL,
            MAX_PAGE,
        ),
        ('{ firm(brn: "12-345-67890") { brn } }', None, ALL, MAX_PAGE),
        ('{ projects(filter: {firm: "bad"}) { totalCount } }', None, ALL, MAX_PAGE),
        ("{ coverageGaps(fiscalYear: 0) { totalCount } }", None, ALL, MAX_PAGE),
        ("{ coverageGaps(fiscalYear: 10000) { totalCount } }", None, ALL, MAX_PAGE),
        ("{ programs(fiscalYear: 99999) { totalCount } }", None, ALL, MAX_PAGE),
        ("{ programOverview(fiscalYear: 20233) { committedKrw } }", None, ALL, MAX_PAGE),
        ("{ projects(filter: {fiscalYear: -5}) { totalCount } }", None, ALL, MAX_PAGE),
        ('{ technology(code: "SEMI-001") { funding(fiscalYear: 0) { committedKrw } } }', None, ALL, MAX_PAGE),
        ("query($n: Int!) { technologies(first: $n) { totalCount } }", {"n": 500}, ALL, MAX_PAGE),
        ("query($b: String!) { firm(brn: $b) { brn } }", {"b": "0000000001"}, ALL, MAX_PAGE),
        # Variables that do not coerce.
        ("query($n: Int!) { technologies(first: $n) { totalCount } }", {}, ALL, MAX_PAGE),
        ("query($n: Int!) { technologies(first: $n) { totalCount } }", {"n": "ten"}, ALL, MAX_PAGE),
        ("query($d: Date) { industries { technologyCount(asOf: $d) } }", {"d": "2022-13-01"}, ALL, MAX_PAGE),
        (
            "query($f: TechnologyFilter) { technologies(filter: $f) { totalCount } }",
            {"f": {"kind": "x"}},
            ALL,
            MAX_PAGE,
        ),
        ("query($s: Boolean!) { industries @skip(if: $s) { code } }", {"s": None}, ALL, MAX_PAGE),
    ],
)
def test_declines(
    query: str, variables: dict[str, Any] | None, scopes: frozenset[str], max_page: int
) -> None:
    assert declined(query, variables, scopes=scopes, max_page=max_page)


def test_declines_an_unknown_operation_and_answers_the_named_one() -> None:
    query = "query A { industries { code } } query B { dataAsOf { topic } }"
    assert declined(query, operation_name="B")
    assert declined(query, operation_name="C")
    assert not declined(query, operation_name="A")
    assert declined(query)  # two operations and no name


def test_the_same_operation_declines_only_the_calls_it_cannot_answer() -> None:
    query = "query($n: Int!) { technologies(first: $n) { totalCount } }"
    assert not declined(query, {"n": 100})
    assert declined(query, {"n": 101})
    assert not declined(query, {"n": 1})
    assert declined(FINANCIALS, scopes=frozenset({"firms:read"}))
    assert not declined(FINANCIALS, scopes=frozenset({"firms:read", "firms:financials"}))


def test_a_document_keeps_at_most_a_few_plans_whatever_its_include_variables() -> None:
    # Found by a review: a document with k @include variables kept a compiled plan for each of
    # the 2^k outcomes a client sent, without end (1,500 plans, 18 MB, from one document).
    k = 8
    query = (
        "query("
        + ", ".join(f"$v{i}: Boolean!" for i in range(k))
        + ") { "
        + " ".join(f"t{i}: technologies(first: 1) @include(if: $v{i}) {{ totalCount }}" for i in range(k))
        + " }"
    )
    doc = inspect_operation(parse(query), None)
    assert not isinstance(doc, Declined)
    for n in range(2**k):
        variables = {f"v{i}": bool(n >> i & 1) for i in range(k)}
        compiled = compile_operation(doc, variables, scopes=frozenset({"catalog:read"}), max_page=MAX_PAGE)
        assert isinstance(compiled, CompiledQuery)
    assert len(doc.plans) == MAX_PLANS
