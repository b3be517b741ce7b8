"""CloudEvents 1.0 in Kafka binary mode: attributes travel as `ce_*` headers, data as the value."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"

Headers = Sequence[tuple[str, bytes]]


class EnvelopeError(ValueError):
    """A Kafka record that is not a well-formed CloudEvent of ours."""


def new_traceparent() -> str:
    """A fresh W3C traceparent for work that did not arrive with one."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


@dataclass(frozen=True, kw_only=True)
class Envelope:
    """The CloudEvent attributes of one event plus its JSON data."""

    id: uuid.UUID
    source: str
    type: str
    subject: str
    time: datetime
    data: Mapping[str, Any]
    traceparent: str = field(default_factory=new_traceparent)
    write: str | None = None
    """The producing service's transaction (`ce_mpewrite`): every event one write commits
    carries the same value, which is how a reader waits for a whole write (read-your-writes)."""

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers for binary content mode."""
        return [
            ("ce_specversion", SPEC_VERSION.encode()),
            ("ce_id", str(self.id).encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_subject", self.subject.encode()),
            ("ce_time", self.time.astimezone(UTC).isoformat().encode()),
            ("content-type", CONTENT_TYPE.encode()),
            ("traceparent", self.traceparent.encode()),
            *([("ce_mpewrite", self.write.encode())] if self.write is not None else []),
        ]

    def value(self) -> bytes:
        """The record value: the event data as compact UTF-8 JSON."""
        return json.dumps(self.data, separators=(",", ":"), ensure_ascii=False).encode()

    @property
    def key(self) -> bytes:
        """The record key: the aggregate id, so one aggregate's events keep their order."""
        return self.subject.encode()

    @classmethod
    def from_record(cls, headers: Headers, value: bytes | None) -> Envelope:
        """Parse a consumed record; raise EnvelopeError naming what is wrong."""
        attributes = _attributes(headers)
        if value is None:
            raise EnvelopeError("record has no value")
        try:
            data = json.loads(value.decode())
        except ValueError as exc:  # UnicodeDecodeError is one
            raise EnvelopeError(f"value is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise EnvelopeError("value is not a JSON object")
        return cls(**attributes, data=data)

    @classmethod
    def from_headers(cls, headers: Headers) -> Envelope:
        """A consumed record's attributes alone, its `data` left empty: for a reader that parses
        the value itself, straight into its event model (the consumer runner does)."""
        return cls(**_attributes(headers), data={})


def _attributes(headers: Headers) -> dict[str, Any]:
    """The envelope's attributes from a record's headers; EnvelopeError names what is wrong."""
    attrs: dict[str, str] = {}
    for name, raw in headers:
        try:
            attrs[name] = raw.decode()
        except UnicodeDecodeError as exc:
            raise EnvelopeError(f"header {name!r} is not UTF-8") from exc
    missing = [
        h
        for h in ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject", "ce_time")
        if h not in attrs
    ]
    if missing:
        raise EnvelopeError(f"missing CloudEvents headers: {', '.join(missing)}")
    for name, text in attrs.items():
        if name.startswith("ce_") and not text.isprintable():
            # A NUL or another control character: a consumer storing it (Postgres refuses NUL)
            # would fail on it every time, so it is the record's fault, not the consumer's.
            raise EnvelopeError(f"header {name!r} holds a control character")
    if attrs["ce_specversion"] != SPEC_VERSION:
        raise EnvelopeError(f"unsupported ce_specversion {attrs['ce_specversion']!r}")
    content_type = attrs.get("content-type", CONTENT_TYPE)
    if content_type != CONTENT_TYPE:
        raise EnvelopeError(f"unsupported content-type {content_type!r}")
    try:
        event_id = uuid.UUID(attrs["ce_id"])
    except ValueError as exc:
        raise EnvelopeError(f"ce_id {attrs['ce_id']!r} is not a UUID") from exc
    try:
        time = datetime.fromisoformat(attrs["ce_time"])
    except ValueError as exc:
        raise EnvelopeError(f"ce_time {attrs['ce_time']!r} is not ISO 8601") from exc
    if time.utcoffset() is None:
        # RFC 3339, which CloudEvents requires, always has an offset; a naive time cannot be
        # compared with the others a consumer keeps.
        raise EnvelopeError(f"ce_time {attrs['ce_time']!r} has no UTC offset")
    write = attrs.get("ce_mpewrite")
    if write is not None and not _is_transaction_id(write):
        raise EnvelopeError(f"ce_mpewrite {write!r} is not a transaction id (digits, below 2**63)")
    return {
        "id": event_id,
        "source": attrs["ce_source"],
        "type": attrs["ce_type"],
        "subject": attrs["ce_subject"],
        "time": time,
        "traceparent": attrs.get("traceparent") or new_traceparent(),
        "write": write,
    }


def _is_transaction_id(text: str) -> bool:
    """A Postgres transaction id as the services write it: ASCII digits, within a signed int64."""
    return text.isascii() and text.isdigit() and len(text) <= 19 and int(text) < 2**63
