"""The CSV cells of the exports: text a spreadsheet would run as a formula is kept as text."""

from __future__ import annotations

import csv
import io

import pytest

from gateway.http.export_formats import cell, csv_head, csv_line

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("text", ['=HYPERLINK("x")', "+82-2-123", "-1+1", "@SUM(A1)", "\tx", "\rx"])
def test_text_that_starts_a_formula_gets_an_apostrophe(text: str) -> None:
    assert cell(text) == "'" + text
    assert cell([text, "SEMI-001"]) == "'" + text + ";SEMI-001"


def test_other_values_are_written_as_they_are() -> None:
    assert cell("포토레지스트") == "포토레지스트"
    assert cell("SEMI-001") == "SEMI-001"
    assert cell("2023-06-30") == "2023-06-30"
    assert cell("937560000000") == "937560000000"
    assert cell(-5) == "-5"
    assert cell(None) == ""
    assert cell(True) == "true"
    assert cell([{"to": "designated"}]) == '[{"to":"designated"}]'


def test_a_csv_reads_back_with_the_apostrophe_and_korean_text() -> None:
    body = csv_head(["title", "nameKo"]) + csv_line(["title", "nameKo"])(
        {"title": "=1+1", "nameKo": "반도체"}
    )
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows == [{"title": "'=1+1", "nameKo": "반도체"}]
