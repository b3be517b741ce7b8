"""Keyset cursors: opaque to clients, a JSON list of the sort key's values inside."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query

from mpe_kit.errors import Invalid

# An empty cursor is refused (422) rather than read as the first page: a client that lost its
# cursor and sends "" would otherwise start over silently, and page through the list forever.
Cursor = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=1000,
        description="`next_cursor` of the previous page; omit it for the first page (an empty value is a 422).",
    ),
]


NOT_A_CURSOR_KO = "이 API가 준 커서가 아닙니다"


def encode_cursor(values: list[Any]) -> str:
    """An opaque cursor for the row after which the next page starts."""
    raw = json.dumps(values, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, arity: int) -> list[Any]:
    """The values inside a cursor; a 422 naming the cursor if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise Invalid.field("cursor", "not a cursor from this API", ko=NOT_A_CURSOR_KO) from exc
    if not isinstance(values, list) or len(values) != arity or not all(map(_storable, values)):
        raise Invalid.field("cursor", "not a cursor from this API", ko=NOT_A_CURSOR_KO)
    return values


def _storable(value: Any) -> bool:
    """Whether Postgres takes the value as a key: a text without NUL or half a surrogate pair, an
    integer within 64 bits, or a number, boolean or null. No cursor of ours holds anything else
    (no list, no object); such a one was made by hand, and would reach the database as an error
    (a 500) instead of a refusal."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return False
        return "\x00" not in value
    if type(value) is int:
        return -(2**63) <= value < 2**63
    return not isinstance(value, list | dict)


def decode_text_cursor(cursor: str | None) -> str | None:
    """The single text key inside a cursor over a text-keyed list; None for the first page."""
    if cursor is None:
        return None
    value = decode_cursor(cursor, arity=1)[0]
    if not isinstance(value, str):
        raise Invalid.field("cursor", "not a cursor from this API", ko=NOT_A_CURSOR_KO)
    return value


def decode_time_id_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The (timestamp, id) inside a cursor over a list in creation order; None for the first page."""
    if cursor is None:
        return None
    at, rid = decode_cursor(cursor, arity=2)
    if not isinstance(at, str) or not isinstance(rid, str):
        raise Invalid.field("cursor", "not a cursor from this API", ko=NOT_A_CURSOR_KO)
    try:
        return datetime.fromisoformat(at).astimezone(UTC), uuid.UUID(rid)
    except (ValueError, OverflowError) as exc:
        raise Invalid.field("cursor", "not a cursor from this API", ko=NOT_A_CURSOR_KO) from exc


def encode_time_id_cursor(at: datetime, rid: uuid.UUID) -> str:
    """The cursor after the row created at `at` with id `rid`."""
    return encode_cursor([at.isoformat(), str(rid)])


# Where a first page starts, per type of a keyset column: below every value a row can hold.
_LOWEST = {
    "text": "''",
    "date": "'-infinity'::date",
    "timestamptz": "'-infinity'::timestamptz",
    "uuid": "'00000000-0000-0000-0000-000000000000'::uuid",
}


@functools.cache  # the repositories call it as they write each statement: the same few keys
def keyset_after(*keys: tuple[str, str, str]) -> str:
    """SQL: the row comes after the cursor's values, or any row when they are null (a first page).

    `keys` are (column, placeholder, SQL type) in the list's order, e.g.
    `keyset_after(("created_at", "$2", "timestamptz"), ("id", "$3", "uuid"))`. The condition is
    `(columns) > (coalesce($n, lowest), …)`, not `($n is null or (columns) > ($n, …))`: asyncpg
    prepares every statement, and Postgres may run it on a generic plan made without the values,
    where only the first form is an index condition. With the second, a page reads every row
    before its cursor, so later pages cost more the longer the list (docs/architecture.md,
    "Optional arguments in a prepared statement"). A text key must never be empty: '' is where a
    first page starts.
    """
    columns = ", ".join(column for column, _, _ in keys)
    values = ", ".join(
        f"coalesce({placeholder}::{type_}, {_LOWEST[type_]})" for _, placeholder, type_ in keys
    )
    if len(keys) == 1:
        return f"{columns} > {values}"
    return f"({columns}) > ({values})"
