"""Write tokens: round trip, and anything else refused."""

from __future__ import annotations

import base64

import pytest

from mpe_kit.writes import InvalidWriteToken, WriteRecorder, Written, decode, encode

pytestmark = pytest.mark.unit


def test_a_token_round_trips_and_sums_per_transaction() -> None:
    recorder = WriteRecorder()
    recorder.add("/mpehub/catalog", 7, 2)
    recorder.add("/mpehub/firms", 3, 1)
    recorder.add("/mpehub/catalog", 7, 3)
    token = recorder.token()
    assert token is not None
    assert decode(token) == [Written("/mpehub/catalog", 7, 5), Written("/mpehub/firms", 3, 1)]
    assert WriteRecorder().token() is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        "v1.",
        "v2." + encode([Written("s", 1, 1)])[3:],
        "v1.not base64!",
        encode([Written("s", 1, 1)]).replace("v1.", "v1.x"),
        "v1." + "A" * 5000,
        # Found by a review: JSON nested past the parser's depth raised RecursionError (a 500).
        "v1." + base64.urlsafe_b64encode(("[" * 1200 + "]" * 1200).encode()).decode(),
    ],
)
def test_anything_else_is_refused(token: str) -> None:
    with pytest.raises(InvalidWriteToken):
        decode(token)


@pytest.mark.parametrize("items", [[], [["s", 1]], [["s", "1", 1]], [["s", 1, 0]], [[1, 1, 1]], {"a": 1}])
def test_well_formed_json_of_another_shape_is_refused(items: object) -> None:
    import base64
    import json

    body = base64.urlsafe_b64encode(json.dumps(items).encode()).decode().rstrip("=")
    with pytest.raises(InvalidWriteToken):
        decode("v1." + body)
