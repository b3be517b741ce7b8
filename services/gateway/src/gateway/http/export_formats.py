"""The formats of a bulk export: how the lines of `gateway.http.export` become bytes.

NDJSON writes each line as it is. CSV, for spreadsheets, starts with a UTF-8 byte order mark
(a spreadsheet then reads Korean names as UTF-8 rather than the system's code page) and a header
row of the line's keys; a list of codes is one cell joined by `;`, a list of objects (a
designation's history, a program's themes) one cell of JSON, null an empty cell. Text that a
spreadsheet would take for a formula (starting with =, +, -, @, a tab or a carriage return) gets a
leading apostrophe, so that opening an export never runs one.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mpe_kit import parameters

BOM = "\ufeff"
LIST_SEPARATOR = ";"


def unknown_parameters(given: Sequence[str], known: Sequence[str]) -> list[dict[str, str]]:
    """The query parameters not in `known`, each as a problem's field error (`mpe_kit.parameters`)."""
    return parameters.unknown_parameters(given, known, of="this export", of_ko="이 내보내기")


def ndjson_line(line: dict[str, Any]) -> bytes:
    """One NDJSON line: compact JSON, UTF-8 as is, ending in a newline."""
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet shows as text: one that would start a formula gets a leading apostrophe."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value: Any) -> str:
    """A line's value as one CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return spreadsheet_safe(LIST_SEPARATOR.join(str(v) for v in value))
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return spreadsheet_safe(str(value))


def csv_row(cells: Sequence[str]) -> bytes:
    """One CSV record (RFC 4180: quoted where needed, CRLF-terminated), in UTF-8."""
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue().encode()


def csv_head(columns: Sequence[str]) -> bytes:
    """The byte order mark and the header row."""
    return BOM.encode() + csv_row(columns)


def csv_line(columns: Sequence[str]) -> Callable[[dict[str, Any]], bytes]:
    """A line as one CSV record, its cells in the header's order."""
    return lambda line: csv_row([cell(line.get(c)) for c in columns])


@dataclass(frozen=True)
class Format:
    """A file format of the exports: its suffix and media type, what starts the file, and each line."""

    suffix: str
    media_type: str
    head: Callable[[Sequence[str]], bytes]
    line: Callable[[Sequence[str]], Callable[[dict[str, Any]], bytes]]


NDJSON = Format(".ndjson", "application/x-ndjson", lambda _: b"", lambda _: ndjson_line)
CSV = Format(".csv", "text/csv; charset=utf-8", csv_head, csv_line)
FORMATS = (NDJSON, CSV)
