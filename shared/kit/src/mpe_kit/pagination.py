"""Keyset cursors: opaque to clients, a JSON list of the sort key's values inside."""

from __future__ import annotations

import base64
import binascii
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


def encode_cursor(values: list[Any]) -> str:
    """An opaque cursor for the row after which the next page starts."""
    raw = json.dumps(values, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, arity: int) -> list[Any]:
    """The values inside a cursor; a 422 naming the cursor if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise Invalid.field("cursor", "not a cursor from this API") from exc
    if not isinstance(values, list) or len(values) != arity:
        raise Invalid.field("cursor", "not a cursor from this API")
    return values


def decode_text_cursor(cursor: str | None) -> str | None:
    """The single text key inside a cursor over a text-keyed list; None for the first page."""
    if cursor is None:
        return None
    value = decode_cursor(cursor, arity=1)[0]
    if not isinstance(value, str):
        raise Invalid.field("cursor", "not a cursor from this API")
    return value


def decode_time_id_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The (timestamp, id) inside a cursor over a list in creation order; None for the first page."""
    if cursor is None:
        return None
    at, rid = decode_cursor(cursor, arity=2)
    if not isinstance(at, str) or not isinstance(rid, str):
        raise Invalid.field("cursor", "not a cursor from this API")
    try:
        return datetime.fromisoformat(at).astimezone(UTC), uuid.UUID(rid)
    except (ValueError, OverflowError) as exc:
        raise Invalid.field("cursor", "not a cursor from this API") from exc


def encode_time_id_cursor(at: datetime, rid: uuid.UUID) -> str:
    """The cursor after the row created at `at` with id `rid`."""
    return encode_cursor([at.isoformat(), str(rid)])
