"""Property-based fuzzing of the gateway's schema: whatever query a partner sends, never a 500.

hypothesis-graphql builds queries from the SDL the gateway serves (any root fields, nested
selections, arguments of every type, strings with NUL bytes and non-ASCII text); each goes
through the whole app (key check, strawberry, resolvers, SQL) with a key of every scope.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import hypothesis_graphql
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from .conftest import Partner, assert_won_are_digits
from .export_sdl import current_sdl

nodes = hypothesis_graphql.nodes

SDL = current_sdl()
# Mostly real days, sometimes any text: a Date the schema refuses must be a query error, not a crash.
DATES = st.one_of(st.dates(), st.dates(), st.dates(), st.text(max_size=12)).map(nodes.String)
SCALARS = {
    "Date": DATES,
    "DateTime": st.datetimes(timezones=st.just(UTC)).map(lambda t: nodes.String(t.isoformat())),
    "Won": st.integers(min_value=0, max_value=2**63 - 1).map(nodes.String),
}
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


def assert_graphql_response(status: int, body: Any, query: str) -> None:
    """A GraphQL answer over HTTP 200: `data` (an object or null) and/or a list of coded `errors`.

    The gateway masks an unexpected exception in a resolver as INTERNAL_SERVER_ERROR under HTTP
    200, so "never a 500" also means never that code.
    """
    assert status == 200, f"HTTP {status} for:\n{query}\n{body}"
    assert isinstance(body, dict), body
    assert set(body) <= {"data", "errors", "extensions"}, body
    assert "data" in body or "errors" in body, body
    data = body.get("data")
    assert data is None or isinstance(data, dict), body
    if "errors" in body:
        errors = body["errors"]
        assert isinstance(errors, list), body
        assert errors, body
        for error in errors:
            assert isinstance(error, dict), body
            assert isinstance(error.get("message"), str), body
            # Every error a client can act on has a code; anything else is masked as an internal one.
            code = error.get("extensions", {}).get("code")
            assert isinstance(code, str), f"an error without a code for:\n{query}\n{error}"
            assert code != "INTERNAL_SERVER_ERROR", f"an unexpected error for:\n{query}\n{error}"
    if data is None:
        assert body.get("errors"), f"no data and no errors for:\n{query}"


def outcome(body: dict[str, Any]) -> str:
    """How an answer went, for `--hypothesis-show-statistics`."""
    codes = sorted({str(e.get("extensions", {}).get("code", "no code")) for e in body.get("errors", [])})
    data = "no data" if body.get("data") is None else "data"
    return f"{data}; errors: {', '.join(codes) or 'none'}"


@FUZZ
@given(query=hypothesis_graphql.from_schema(SDL, custom_scalars=SCALARS))
async def test_a_valid_query_never_makes_the_gateway_fail(partner: Partner, query: str) -> None:
    r = await partner.post(query)
    body = r.json()
    assert_graphql_response(r.status_code, body, query)
    event(outcome(body))
    assert_won_are_digits(body.get("data"), query)


@settings(FUZZ, max_examples=50)
@given(
    query=hypothesis_graphql.from_schema(SDL, custom_scalars=SCALARS, mode=hypothesis_graphql.Mode.NEGATIVE)
)
async def test_an_invalid_query_is_a_graphql_error_not_a_crash(partner: Partner, query: str) -> None:
    r = await partner.post(query)
    body = r.json()
    assert_graphql_response(r.status_code, body, query)
    event(outcome(body))
    assert body.get("errors"), f"an invalid query was answered without errors:\n{query}\n{body}"


NUL_QUERIES = [
    '{ technology(code: "SEMI\\u0000001") { code } }',
    '{ technologies(filter: {search: "\\u0000"}) { totalCount } }',
    '{ firms(filter: {region: "\\u0000"}) { totalCount } }',
    '{ program(code: "\\u0000") { code } }',
    '{ projects(filter: {technology: "\\u0000"}) { totalCount } }',
    # A cursor is ours only if it decodes to one of our keys; this one holds a NUL byte.
    '{ technologies(after: "WyJcdTAwMDAiXQ") { totalCount } }',
]


@pytest.mark.parametrize("query", NUL_QUERIES)
async def test_a_nul_byte_in_a_string_argument_is_bad_user_input(partner: Partner, query: str) -> None:
    r = await partner.post(query)
    assert_graphql_response(r.status_code, r.json(), query)
    (error,) = r.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "UTF8" not in error["message"], error  # the database's own words stay inside
