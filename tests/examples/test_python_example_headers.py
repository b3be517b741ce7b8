"""The Python example ignores headers it does not know, whatever their bytes."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python-consumer" / "consumer.py"


def test_a_header_that_is_not_text_or_has_no_value_is_ignored(capsys: pytest.CaptureFixture[str]) -> None:
    # Found by a review: it decoded every header, so a non-UTF-8 or value-less header of another
    # producer crashed it on that record, although the guide says to ignore unknown headers.
    spec = importlib.util.spec_from_file_location("example_consumer", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    record = SimpleNamespace(
        topic="mpe.catalog.industry",
        key=b"SEMI",
        value=b"{}",
        headers=[
            ("ce_type", b"kr.mpe.catalog.industry.renamed.v9"),
            ("x-other", b"\xff\xfe"),
            ("x-none", None),
        ],
    )
    assert example.apply(record, {}, set(), {}, "") == 0
    assert '"outcome": "unknown type"' in capsys.readouterr().out
