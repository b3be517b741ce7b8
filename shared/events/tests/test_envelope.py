import uuid
from datetime import UTC, datetime

import pytest

from mpe_events.envelope import Envelope, EnvelopeError

pytestmark = pytest.mark.unit


def _envelope() -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        source="/mpe/catalog",
        type="kr.mpe.catalog.industry.created.v1",
        subject="SEMI",
        time=datetime(2024, 4, 3, 1, 2, 3, tzinfo=UTC),
        data={"code": "SEMI", "name_ko": "반도체"},
    )


def test_round_trip_through_kafka_headers() -> None:
    env = _envelope()
    parsed = Envelope.from_record(env.headers(), env.value())
    assert parsed == env
    assert dict(env.headers())["ce_specversion"] == b"1.0"
    assert env.key == b"SEMI"


@pytest.mark.parametrize(
    ("drop", "change", "message"),
    [
        ("ce_id", None, "missing CloudEvents headers: ce_id"),
        (None, ("ce_id", b"42"), "ce_id '42' is not a UUID"),
        (None, ("ce_specversion", b"0.3"), "unsupported ce_specversion"),
        (None, ("ce_time", b"yesterday"), "not ISO 8601"),
        (None, ("content-type", b"text/plain"), "unsupported content-type"),
        # Found by a review: each of these passed, then failed the gateway's batch hook, and
        # the projector restarted on that batch forever instead of dead-lettering the record.
        (None, ("ce_time", b"2024-04-03T01:02:03"), "has no UTC offset"),
        (None, ("ce_mpewrite", b"99999999999999999999"), "is not a transaction id"),
        (None, ("ce_mpewrite", "²".encode()), "is not a transaction id"),
        (None, ("ce_mpewrite", b"-1"), "is not a transaction id"),
        (None, ("ce_mpewrite", b""), "is not a transaction id"),
        (None, ("ce_source", b"/mpe/cat\x00alog"), "holds a control character"),
        (None, ("ce_subject", b"SEMI\n"), "holds a control character"),
    ],
)
def test_malformed_headers_are_rejected_with_the_reason(
    drop: str | None, change: tuple[str, bytes] | None, message: str
) -> None:
    headers = [(k, v) for k, v in _envelope().headers() if k != drop]
    if change:
        headers = [(k, v) for k, v in headers if k != change[0]] + [change]
    with pytest.raises(EnvelopeError, match=message):
        Envelope.from_record(headers, b"{}")


@pytest.mark.parametrize("value", [None, b"not json", b"[1, 2]"])
def test_bad_values_are_rejected(value: bytes | None) -> None:
    with pytest.raises(EnvelopeError):
        Envelope.from_record(_envelope().headers(), value)


def test_a_write_id_up_to_the_largest_bigint_is_kept() -> None:
    headers = [*_envelope().headers(), ("ce_mpewrite", str(2**63 - 1).encode())]
    assert Envelope.from_record(headers, b"{}").write == str(2**63 - 1)
