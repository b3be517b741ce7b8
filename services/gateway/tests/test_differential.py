"""Differential test: over generated operations, the compiled statement and strawberry answer alike.

hypothesis-graphql writes valid operations from the SDL (any compiled root field, nested
selections, aliases, fragments, arguments of every type) over the compiled path's dataset. For
each one the compiler either declines for a reason that strawberry would answer with an error
(an argument it refuses, a selection too wide for one `json_build_object`), or its answer equals
strawberry's after canonical JSON ordering.

The normal suite runs a bounded number of examples; a longer run is one command:

    GATEWAY_DIFFERENTIAL_EXAMPLES=2000 uv run --frozen pytest \\
        services/gateway/tests/test_differential.py -p no:xdist -q --hypothesis-show-statistics
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, date
from typing import Any

import asyncpg
import hypothesis_graphql
from graphql import DocumentNode, TypeInfo, TypeInfoVisitor, Visitor, parse, print_schema, validate, visit
from graphql.type import get_named_type
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gateway.partners.keys import Partner
from gateway.read.compiled import DECLINED, CompiledQuery
from gateway.read.compiled.core import ARGUMENTS, WIDTH
from gateway.read.schema import Context, schema
from mpe_kit.pagination import encode_cursor

from .conftest import ALL, F1, F3, MAX_PAGE, compile_query

nodes = hypothesis_graphql.nodes

EXAMPLES = int(os.environ.get("GATEWAY_DIFFERENTIAL_EXAMPLES", "100"))
SDL = print_schema(schema._schema)
QUERY = schema._schema.query_type
assert QUERY is not None
ROOTS = sorted(name for name in QUERY.fields if ("Query", name) not in DECLINED)
# Mostly values the dataset holds (codes, BRNs, regions, fiscal years, small page sizes), so that
# arguments select something; sometimes anything the type allows.
KNOWN = [
    *(
        "SEMI-004",
        "SEMI-005",
        "SEMI-010",
        "MP-2023",
        "MP-ALC",
        "P23-001",
        "P23-002",
        F1,
        F3,
        "충남",
        "SEMI",
        "",
    ),
    *(encode_cursor([key]) for key in ("SEMI-005", "MP-2023", "P23-002", F1)),
]
SMALL = st.integers(min_value=1, max_value=12)
YEARS = st.integers(min_value=2021, max_value=2025)
NAMED = st.sampled_from(KNOWN)
SCALARS = {
    "Int": st.one_of(SMALL, SMALL, SMALL, SMALL, YEARS, YEARS, st.integers(-(2**31), 2**31 - 1)).map(
        nodes.Int
    ),
    # Any text but NUL and lone surrogates: pytest-xdist cannot send a report holding one (it
    # fails the whole run), and the gateway's answer to either is tested in test_access.py.
    "String": st.one_of(
        NAMED,
        NAMED,
        NAMED,
        NAMED,
        st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00")),
    ).map(nodes.String),
    "Date": st.one_of(st.dates(), st.sampled_from([date(2021, 1, 1), date(2022, 12, 31)])).map(nodes.String),
    "DateTime": st.datetimes(timezones=st.just(UTC)).map(lambda t: nodes.String(t.isoformat())),
    "Won": st.integers(min_value=0, max_value=2**63 - 1).map(nodes.String),
}
# Declines strawberry answers with an error (ARGUMENTS), or that only a very wide selection makes.
EXPECTED_DECLINES = frozenset({ARGUMENTS, WIDTH})


def selects_a_declined_field(document: DocumentNode) -> bool:
    """Whether the operation selects a field below Query that the compiler declines by name."""
    info = TypeInfo(schema._schema)
    found: list[tuple[str, str]] = []

    class Fields(Visitor):
        def enter_field(self, node: Any, *_args: Any) -> None:
            parent = info.get_parent_type()
            if parent is not None:
                found.append((get_named_type(parent).name, node.name.value))

    visit(document, TypeInfoVisitor(info, Fields()))
    return any(f in DECLINED for f in found)


def canonical(data: Any) -> str:
    """JSON with object keys sorted: lists keep their order, which is part of the answer."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(query=hypothesis_graphql.from_schema(SDL, fields=ROOTS, custom_scalars=SCALARS, allow_x00=False))
async def test_compiled_and_resolved_answers_are_equal(pool: asyncpg.Pool, query: str) -> None:
    document = parse(query)
    assert validate(schema._schema, document) == [], query
    compiled = compile_query(document, None, None, scopes=ALL, max_page=MAX_PAGE)
    if not isinstance(compiled, CompiledQuery):
        event(f"declined: {compiled.reason}")
        # Roots the compiler declines are not generated; a nested one (its reason is "field")
        # may be, and then strawberry alone answers: nothing to compare.
        expected = compiled.reason in EXPECTED_DECLINES or selects_a_declined_field(document)
        assert expected, f"declined ({compiled.reason}):\n{query}"
        return
    event("compiled")
    async with pool.acquire() as conn:
        got = json.loads(await compiled.run(conn))
    partner = Partner(key_id=uuid.uuid4(), agency="KIAT", scopes=ALL)
    expected = await schema.execute(
        query, context_value=Context(pool=pool, partner=partner, max_page=MAX_PAGE)
    )
    assert expected.errors is None, f"compiled, but strawberry answers errors:\n{query}\n{expected.errors}"
    assert canonical(got) == canonical(expected.data), query
