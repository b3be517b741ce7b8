"""What the compiler's modules share: why it declines, what it returns, argument checks, SQL pieces."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import FieldNode, GraphQLError, GraphQLField, OperationDefinitionNode
from graphql.execution.collect_fields import FragmentDetails

from gateway.read.common import brn
from mpe_kit.db import Conn
from mpe_kit.errors import Invalid
from mpe_kit.pagination import decode_text_cursor

T = TypeVar("T")

# json_build_object takes at most 100 arguments: 50 keys.
MAX_KEYS = 50
# A column name's most bytes (NAMEDATALEN - 1); Postgres cuts a longer one short.
MAX_COLUMN_NAME = 63


# Why an operation is left to strawberry, as the fallback counter's `reason` label says it.
OPERATION = "operation"  # not a query, or a directive or fragment form the compiler does not take
FIELD = "field"  # a field the compiler does not know (introspection included)
WIDTH = "width"  # more selections on one object than json_build_object takes
VARIABLES = "variables"  # variables that do not coerce: strawberry reports them
SCOPE = "scope"  # the key lacks a scope a selected field needs: strawberry answers FORBIDDEN
ARGUMENTS = "arguments"  # an argument strawberry refuses (page size, cursor, BRN, year)


class Unsupported(Exception):
    """The operation, or this call of it, is left to strawberry, for `reason`."""

    def __init__(self, reason: str = FIELD) -> None:
        super().__init__(reason)
        self.reason = reason


# The key's scopes while a call's arguments are bound: an argument value may need a scope of its
# own (a `firm` filter needs firms:read), which a plan made for every key cannot know.
BINDING_SCOPES: ContextVar[frozenset[str]] = ContextVar("binding_scopes", default=frozenset())


def require_scope(scope: str) -> None:
    """Leave this call to strawberry, which answers FORBIDDEN, when the key lacks `scope`."""
    if scope not in BINDING_SCOPES.get():
        raise Unsupported(SCOPE)


@dataclass(frozen=True, slots=True)
class Declined:
    """The compiler leaves the operation to strawberry, for `reason`."""

    reason: str


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """One statement and its bound values; `run` returns the JSON text of the `data` object."""

    sql: str
    values: tuple[object, ...]

    async def run(self, conn: Conn) -> bytes:
        """Run the statement on `conn` and return the answer's `data` as UTF-8 JSON."""
        data: bytes = await conn.fetchval(self.sql, *self.values)
        return data


# What a site does with its field's coerced arguments: the SQL values of its placeholders.
Reader = Callable[[dict[str, Any], int], list[object]]


@dataclass(frozen=True, slots=True)
class Site:
    """A field occurrence with arguments, and how they become SQL values on each call."""

    field: GraphQLField
    node: FieldNode
    read: Reader


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled shape: the statement, its argument sites in placeholder order, the scopes it needs."""

    sql: str
    sites: tuple[Site, ...]
    scopes: frozenset[str]


@dataclass(slots=True)
class Document:
    """A document's operation, its fragments and the plans per outcome of its @skip/@include."""

    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDetails]
    condition_variables: tuple[str, ...]
    plans: dict[tuple[object, ...], Plan | Declined]


# Argument checks, as the resolvers make them; a value strawberry would refuse is Unsupported.


def first_of(args: Mapping[str, Any], max_page: int) -> int:
    """The page size asked for, within the cap."""
    first = args["first"]
    if not isinstance(first, int) or not 1 <= first <= max_page:
        raise Unsupported(ARGUMENTS)
    return first


def after_of(args: Mapping[str, Any]) -> str | None:
    """The key inside the `after` cursor."""
    try:
        return decode_text_cursor(args.get("after"))
    except Invalid as exc:
        raise Unsupported(ARGUMENTS) from exc


def enum_value(value: Any) -> str | None:
    """The stored value of an enum argument."""
    return None if value is None else str(value.value)


def brn_of(value: str) -> str:
    """The 10 digits of a valid BRN, as the resolvers accept it; Unsupported otherwise."""
    try:
        return brn(value)
    except GraphQLError as exc:
        raise Unsupported(ARGUMENTS) from exc


def checked(check: Callable[[T], T], value: T | None) -> T | None:
    """An optional argument through the resolvers' check; Unsupported where it refuses it."""
    if value is None:
        return None
    try:
        return check(value)
    except GraphQLError as exc:
        raise Unsupported(ARGUMENTS) from exc


def shift(sql: str, base: int) -> str:
    """A store clause written with $1, $2 … renumbered to start after `base` placeholders."""
    return re.sub(r"\$(\d+)", lambda m: f"${int(m[1]) + base}", sql)


def cursor_sql(expr: str) -> str:
    """SQL for `encode_cursor([expr])`: URL-safe base64 of the compact JSON list, unpadded."""
    # textsend: the text's bytes in UTF-8 (the client encoding), far cheaper than convert_to.
    return (
        f"rtrim(translate(replace(encode(textsend(json_build_array({expr})::text), 'base64'),"
        " E'\\n', ''), '+/', '-_'), '=')"
    )


def json_list(element: str, rows: str, alias: str, order: str, lateral: str = "") -> str:
    """A JSON list, never null, of `element` over the rows `rows` (aliased `alias`, then `lateral`
    joined to each) in `order`."""
    return (
        f"coalesce((select json_agg({element} order by {order}) from ({rows}) {alias}{lateral}), '[]'::json)"
    )


def json_object(members: list[tuple[str, str]]) -> str:
    """`json_build_object` of (response key, SQL of its value) in their order."""
    pairs = ", ".join(f"'{key}', {value}" for key, value in members)
    return f"json_build_object({pairs})"
