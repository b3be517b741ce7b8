"""Query limits (depth, aliases, tokens, cost) at their exact boundaries, and introspection.

A refused operation is answered HTTP 200 with `data: null` and one error naming the limit, and
no resolver runs: no statement reaches the database (the key's own lookup aside).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import strawberry
from graphql import DocumentNode, GraphQLObjectType, parse

from gateway.http.limits import Measure, declared_size, measure, unpaged_list
from gateway.http.prepared import PreparedOperations
from gateway.read.describe import INDUSTRIES, most
from gateway.read.schema import schema
from gateway.settings import GatewaySettings
from mpe_kit import db

from .conftest import new_key
from .test_access import Served, serving

pytestmark = pytest.mark.usefixtures("seeded")


class Statements:
    """Stands in for the app's pool and notes the statements of its borrowed connections."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self.seen: list[str] = []

    def _log(self, record: Any) -> None:
        # The key lookup and `extensions.dataAsOf` are the route's statements, not the query's.
        if "api_keys" not in record.query and "from source_positions" not in record.query:
            self.seen.append(record.query)

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        async with self._pool.acquire() as conn:
            conn.add_query_logger(self._log)
            try:
                yield conn
            finally:
                conn.remove_query_logger(self._log)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


@contextlib.asynccontextmanager
async def limited(conn: db.Conn, gateway_db: str, **settings: Any) -> AsyncIterator[tuple[Served, str]]:
    """A gateway with some limits set, its pool noting statements, and a key for it."""
    key = await new_key(conn, "catalog:read", "firms:read")
    async with serving(gateway_db, **settings) as served:
        served.app.state.pool = Statements(served.app.state.pool)
        yield served, key.secret


async def ask(served: Served, secret: str, query: str, **variables: Any) -> dict[str, Any]:
    """A query's answer, with `statements`: how many the database ran for it."""
    spy: Statements = served.app.state.pool
    before = len(spy.seen)
    r = await served.query(secret, query, **variables)
    await asyncio.sleep(0)  # the query logger reports through call_soon
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    body["statements"] = len(spy.seen) - before
    assert "dataAsOf" in body.pop("extensions")
    return body


def refused(body: dict[str, Any], code: str, limit: int, actual: int) -> None:
    """The answer of an operation refused by a limit before execution."""
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": code, "limit": limit, "actual": actual}
    assert body["statements"] == 0


DEPTH_4 = "{ technologies(first: 1) { edges { node { code } } } }"
DEPTH_5 = "{ technologies(first: 1) { edges { node { industry { code } } } } }"
DEPTH_5_BY_FRAGMENT = """
{ technologies(first: 1) { edges { node { ...T } } } }
fragment T on Technology { code industry { code } }
"""


async def test_depth_at_the_limit_passes_and_one_more_is_refused(conn: db.Conn, gateway_db: str) -> None:
    async with limited(conn, gateway_db, max_query_depth=4) as (served, key):
        ok = await ask(served, key, DEPTH_4)
        deep = await ask(served, key, DEPTH_5)
        by_fragment = await ask(served, key, DEPTH_5_BY_FRAGMENT)
        introspected = await ask(served, key, "{ technologies(first: 1) { edges { node { __typename } } } }")
    assert ok["data"]["technologies"]["edges"] == [{"node": {"code": "SEMI-001"}}]
    assert ok["statements"] > 0
    refused(deep, "QUERY_TOO_DEEP", 4, 5)
    assert deep["errors"][0]["message"] == "The operation nests fields 5 deep; the limit is 4."
    refused(by_fragment, "QUERY_TOO_DEEP", 4, 5)
    assert "errors" not in introspected  # __typename adds no depth


def aliased(n: int) -> str:
    return "{ " + " ".join(f"a{i}: industries {{ code }}" for i in range(n)) + " }"


async def test_aliases_at_the_limit_pass_and_one_more_is_refused(conn: db.Conn, gateway_db: str) -> None:
    spread = "{ industries { ...I } firms(first: 1) { edges { node { ...F ...F } } } }"
    fragments = " fragment I on Industry { c: code } fragment F on Firm { n: nameEn }"
    async with limited(conn, gateway_db, max_aliases=3) as (served, key):
        ok = await ask(served, key, aliased(3))
        many = await ask(served, key, aliased(4))
        by_fragments = await ask(served, key, spread + fragments)
    assert set(ok["data"]) == {"a0", "a1", "a2"}
    refused(many, "TOO_MANY_ALIASES", 3, 4)
    assert many["errors"][0]["message"] == "The operation uses 4 aliases; the limit is 3."
    # An alias counts at every spread of its fragment: 1 + 2.
    assert "errors" not in by_fragments


async def test_tokens_at_the_limit_pass_and_one_more_is_refused(conn: db.Conn, gateway_db: str) -> None:
    six = "{ industries { code } }"  # { industries { code } }
    async with limited(conn, gateway_db, max_tokens=6) as (served, key):
        ok = await ask(served, key, six)
        seven = await ask(served, key, "{ industries { code __typename } }")
        commented = await ask(served, key, "# a\n{ industries { code } }")
        too_commented = await ask(served, key, "# a\n" * 7 + six)
        long = await ask(served, key, "{ " + "industries { code } " * 100 + "}")
    assert ok["data"]["industries"]
    refused(seven, "TOO_MANY_TOKENS", 6, 7)
    assert seven["errors"][0]["message"] == "The document has 7 tokens; the limit is 6."
    # A comment counts as a token: it is text the lexer reads.
    refused(commented, "TOO_MANY_TOKENS", 6, 7)
    refused(too_commented, "TOO_MANY_TOKENS", 6, 13)
    assert too_commented["errors"][0]["message"] == "The document has 13 tokens; the limit is 6."
    # Counting stops at ten times the limit.
    refused(long, "TOO_MANY_TOKENS", 6, 61)
    assert long["errors"][0]["message"] == "The document has at least 61 tokens; the limit is 6."


COSTLY = """
query($n: Int!, $m: Int) {
  technologies(first: $n) { totalCount edges { node { code firms(first: $m) { brn } } } }
}
"""


async def test_cost_at_the_limit_passes_and_one_more_is_refused(conn: db.Conn, gateway_db: str) -> None:
    # n technologies, each its edge, its node and m firms: n * (3 + m).
    async with limited(conn, gateway_db, max_query_cost=35) as (served, key):
        ok = await ask(served, key, COSTLY, n=5, m=4)
        over = await ask(served, key, COSTLY, n=5, m=5)
        as_float = await ask(served, key, COSTLY, n=5, m=5.0)  # an Int, as execution coerces it
        by_default = await ask(served, key, COSTLY, n=1)  # firms' `first` defaults to 20
        inline = await ask(
            served, key, "{ technologies(first: 36) { ... on TechnologyConnection { totalCount } } }"
        )
    assert len(ok["data"]["technologies"]["edges"]) == 5
    refused(over, "QUERY_TOO_COSTLY", 35, 40)
    refused(as_float, "QUERY_TOO_COSTLY", 35, 40)
    assert over["errors"][0]["message"].startswith("The operation could return 40 objects; the limit is 35.")
    assert "errors" not in by_default  # 1 * (3 + 20)
    refused(inline, "QUERY_TOO_COSTLY", 35, 36)


async def test_an_out_of_range_first_is_refused_by_its_own_check(conn: db.Conn, gateway_db: str) -> None:
    async with limited(conn, gateway_db, max_query_cost=400) as (served, key):
        body = await ask(served, key, COSTLY, n=1000, m=1)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "`first` must be between 1 and 100; got 1000." in body["errors"][0]["message"]


def test_the_documented_page_costs_2250() -> None:
    page = parse("""{
      technologies(first: 50) { edges { node {
        code industry { code } funding { committedKrw }
        designations(status: DESIGNATED, first: 20) { id firm { nameKo } }
      } } }
    }""")
    found = measure(schema._schema, page, None, None, max_page=100)
    assert found is not None
    assert (found.depth, found.aliases, found.cost) == (6, 0, 2250)


# Every revision's changes, each change's technology with a page of its designations. Before
# lists without `first` counted what they hold, `changes` counted 1 and this cost 100 * 205 =
# 20,500, under the default limit, while it could return 100 revisions * 200 changes * 100.
NESTED_UNDER_CHANGES = """{
  revisions(first: 100) { edges { node {
    changes { technology { designations(first: 100) { firm { nameEn } } } }
  } } }
}"""


async def test_a_list_without_first_counts_what_it_may_hold(conn: db.Conn, gateway_db: str) -> None:
    async with limited(conn, gateway_db) as (served, key):
        nested = await ask(served, key, NESTED_UNDER_CHANGES)
        industries = await ask(served, key, "{ industries { code } }")
    # revisions 100 * (1 + edges (1 + node (1 + changes 200 * (1 + technology (1 + 100 * 2)))))
    refused(nested, "QUERY_TOO_COSTLY", 25_000, 100 * (2 + 1 + 200 * (1 + 1 + 200)))
    assert len(industries["data"]["industries"]) > 1


@pytest.mark.parametrize(
    ("spending", "rows"),
    [
        ("spending(groupBy: [])", 1),
        ("spending(groupBy: [INDUSTRY, FISCAL_YEAR])", 12 * 30),
        ("spending(groupBy: [INDUSTRY, INDUSTRY])", 12),
        ("spending(groupBy: INDUSTRY)", 12),  # one value for a list, as GraphQL coerces it
        ("spending(groupBy: [PROGRAM, PAID_MONTH])", 300 * 360),
        # A program fixes its year, kind and track; a filter fixes its dimension.
        ("spending(groupBy: [PROGRAM, FISCAL_YEAR, PROGRAM_KIND, TRACK])", 300),
        ('spending(groupBy: [INDUSTRY, REGION], filter: {region: "서울"})', 12),
        ("spending(groupBy: [PROGRAM, INDUSTRY], filter: {fiscalYear: 2023})", 20 * 12),
        ("spending(groupBy: $by, filter: $f)", 20 * 2),
    ],
)
def test_spending_counts_the_rows_its_groups_can_make(spending: str, rows: int) -> None:
    document = parse(
        f"query($by: [SpendingDimension!]!, $f: SpendingFilter) {{ {spending} {{ program {{ code }} }} }}"
    )
    variables = {"by": ["PROGRAM", "PROJECT_KIND"], "f": {"fiscalYear": 2023}}
    found = measure(schema._schema, document, None, variables, max_page=100)
    assert found is not None
    assert found.cost == rows * 2  # each row and its program


def test_every_list_without_first_says_what_it_may_hold() -> None:
    # An undeclared list would count as a full page; each one of the schema declares its own.
    undeclared = []
    for type_ in schema._schema.type_map.values():
        if type_.name.startswith("__") or not isinstance(type_, GraphQLObjectType):
            continue
        for name, field in type_.fields.items():
            if unpaged_list(field):
                declared = declared_size(field)
                if not (callable(declared) or (isinstance(declared, int) and declared > 0)):
                    undeclared.append(f"{type_.name}.{name}")
    assert undeclared == []


@strawberry.type
class Leaf:
    code: str


@strawberry.type
class Bare:
    @strawberry.field
    def leaves(self) -> list[Leaf]:
        return []

    @strawberry.field(metadata=most(3))
    def few(self) -> list[Leaf]:
        return []


def test_a_list_that_declares_nothing_counts_a_full_page() -> None:
    bare = strawberry.Schema(query=Bare)._schema
    assert measure(bare, parse("{ leaves { code } }"), None, None, max_page=40) == Measure(2, 0, 40)
    assert measure(bare, parse("{ few { code } }"), None, None, max_page=40) == Measure(2, 0, 3)


def test_fragments_spread_in_fragments_are_measured_once_each() -> None:
    levels = 40
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    bomb = parse(f"{{ ...F0 }} {chain} fragment F{levels} on Query {{ a: industries {{ code }} }}")
    found = measure(schema._schema, bomb, None, None, max_page=100)
    assert found is not None
    assert (found.depth, found.aliases, found.cost) == (2, 2**levels, INDUSTRIES * 2**levels)


def test_a_prepared_operation_keeps_its_measure_only_without_variables() -> None:
    prepared = PreparedOperations(GatewaySettings()).prepare(
        "query Page($n: Int = 10) { technologies(first: $n) { edges { node { code } } } }"
        " query Two { industries { code } }"
    )
    first = prepared.measure("Page", None, 100)
    assert first == measure(schema._schema, parse_page(), "Page", None, max_page=100)
    assert prepared.measure("Page", None, 100) is first  # kept
    assert prepared.measure("Page", None, 5) != first  # another page cap is measured anew
    twenty = prepared.measure("Page", {"n": 20}, 100)
    assert twenty is not None
    assert first is not None
    assert twenty.cost > first.cost
    assert prepared.measure("Page", {"n": 20}, 100) is not twenty  # variables: measured each time
    assert prepared.measure("Nope", None, 100) is None
    assert set(prepared.measures) == {("Page", 100), ("Page", 5)}


def parse_page() -> DocumentNode:
    return parse("query Page($n: Int = 10) { technologies(first: $n) { edges { node { code } } } }")


INTROSPECTION = "{ __schema { queryType { name } } }"


async def test_introspection_is_off_by_default(conn: db.Conn, gateway_db: str) -> None:
    async with limited(conn, gateway_db) as (served, key):
        off = await ask(served, key, INTROSPECTION)
        by_type = await ask(served, key, '{ __type(name: "Technology") { name } }')
        typename = await ask(served, key, "{ __typename }")
    assert off["data"] is None
    [error] = off["errors"]
    assert error["extensions"] == {"code": "INTROSPECTION_DISABLED"}
    assert error["message"].startswith("Introspection is disabled on this gateway")
    assert by_type["errors"][0]["extensions"] == {"code": "INTROSPECTION_DISABLED"}
    assert typename["data"] == {"__typename": "Query"}


async def test_introspection_answers_when_enabled(conn: db.Conn, gateway_db: str) -> None:
    async with limited(conn, gateway_db, introspection=True, max_query_depth=3) as (served, key):
        on = await ask(served, key, INTROSPECTION)
        # A whole introspection query passes the depth limit: introspection fields do not count.
        full = await ask(
            served, key, "{ __schema { types { fields { type { ofType { ofType { name } } } } } } }"
        )
    assert on == {"data": {"__schema": {"queryType": {"name": "Query"}}}, "statements": 0}
    assert "errors" not in full


async def test_introspection_nested_past_graphql_cores_bound_is_refused(
    conn: db.Conn, gateway_db: str
) -> None:
    # Introspection fields count nothing toward depth and cost: what bounds them is graphql-core's
    # own MaxIntrospectionDepthRule. Each level here multiplies the answer by the fields of every
    # type; unbounded, a few levels would be millions of objects.
    nested = "{ __schema { types { fields { type { fields { type { fields { type { name } } } } } } } } }"
    async with limited(conn, gateway_db, introspection=True) as (served, key):
        refused = await ask(served, key, nested)
    assert refused["data"] is None
    [error] = refused["errors"]
    assert error["message"] == "Maximum introspection depth exceeded"
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}


async def test_the_schema_run_in_process_is_not_limited() -> None:
    result = await schema.execute(INTROSPECTION)
    assert result.errors is None
    assert result.data == {"__schema": {"queryType": {"name": "Query"}}}


def test_a_document_too_repetitive_to_validate_says_so() -> None:
    # Found by a review: a thousand sibling `__typename`s (under the token limit) made
    # graphql-core's validation run out of recursion, and the partner got "Validation aborted."
    prepared = PreparedOperations(GatewaySettings()).prepare("{ " + " ".join(["__typename"] * 1000) + " }")
    [error] = prepared.errors
    assert "too repetitive or too deeply nested to validate" in error.message
    assert error.extensions == {"code": "GRAPHQL_VALIDATION_FAILED"}
