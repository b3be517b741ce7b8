"""How the consumer reads a record: headers first, the value straight into the event's model."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import ConsumerRecord

from mpe_events.catalog import IndustryV1
from mpe_events.envelope import Envelope
from mpe_events.registry import INDUSTRY_CREATED, TECHNOLOGY_LISTED
from mpe_kit.consumer import Poison, parse

pytestmark = pytest.mark.unit


def record(env: Envelope, value: bytes | None) -> ConsumerRecord[bytes, bytes]:
    headers = env.headers()
    return ConsumerRecord("t", 0, 7, 0, 0, env.key, value, None, 0, len(value or b""), tuple(headers))


def industry(**data: object) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        source="/mpe/test",
        type=INDUSTRY_CREATED.type,
        subject="SEMI",
        time=datetime.now(UTC),
        data={"code": "SEMI", "name_en": "Semiconductors", "name_ko": "반도체", "version": 1, **data},
    )


def test_a_record_becomes_its_event_model_with_the_envelopes_attributes() -> None:
    env = industry()
    event = parse(record(env, env.value()), {INDUSTRY_CREATED.type}, "mpe.catalog.industry")
    assert event is not None
    assert event.data == IndustryV1(code="SEMI", name_en="Semiconductors", name_ko="반도체", version=1)
    assert (event.envelope.id, event.envelope.type, event.envelope.time) == (env.id, env.type, env.time)
    assert (event.topic, event.partition, event.offset) == ("mpe.catalog.industry", 0, 7)


def test_a_type_the_consumer_does_not_handle_is_passed_over_unread() -> None:
    # Its value is not even parsed: another consumer's business.
    assert parse(record(industry(), b"not json"), {TECHNOLOGY_LISTED.type}, "t") is None


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (None, "bad envelope: record has no value"),
        (b"not json", "bad envelope: value is not JSON"),
        (b"\xff\xfe", "bad envelope: value is not JSON"),
        (b"[1]", f"invalid {INDUSTRY_CREATED.type} payload"),
        (b'{"code": "SEMI", "version": 0}', f"invalid {INDUSTRY_CREATED.type} payload"),
    ],
)
def test_an_unreadable_value_is_poison_naming_why(value: bytes | None, error: str) -> None:
    with pytest.raises(Poison) as caught:
        parse(record(industry(), value), {INDUSTRY_CREATED.type}, "t")
    assert str(caught.value).startswith(error)


def test_bad_headers_and_unknown_types_are_poison() -> None:
    env = industry()
    no_id = ConsumerRecord("t", 0, 0, 0, 0, None, env.value(), None, 0, 0, (("ce_type", env.type.encode()),))
    with pytest.raises(Poison, match="bad envelope: missing CloudEvents headers"):
        parse(no_id, {INDUSTRY_CREATED.type}, "t")
    unknown = Envelope(**{**env.__dict__, "type": "kr.mpe.nothing.v1"})
    with pytest.raises(Poison, match="unknown event type"):
        parse(record(unknown, env.value()), {INDUSTRY_CREATED.type}, "t")
