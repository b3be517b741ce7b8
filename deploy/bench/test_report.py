"""The benchmark's arithmetic on canned vegeta output (`uv run pytest deploy/bench`; `make test` skips deploy/)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.unit


def _load() -> ModuleType:
    # deploy/bench is no package: load report.py by path, as bench.py's own directory would.
    spec = importlib.util.spec_from_file_location("bench_report", Path(__file__).with_name("report.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


report = _load()

REPORT = {
    "latencies": {"50th": 2_500_000, "99th": 48_000_000, "max": 60_000_000},
    "duration": 9_950_000_000,
    "wait": 50_000_000,
    "requests": 2000,
    "success": 1,
}


def _result(code: int, length: str | None, error: str = "") -> str:
    headers = {"Content-Length": [length]} if length is not None else {}
    return json.dumps({"code": code, "error": error, "headers": headers, "body": None})


def test_only_200s_with_the_reference_length_count_as_correct() -> None:
    lines = [
        _result(200, "1364"),
        _result(200, "1364"),
        _result(200, "1502"),  # an answer with errors in it
        _result(429, "120", "429 Too Many Requests"),
        _result(0, None, "Post ...: context deadline exceeded"),
        "",
    ]
    assert report.count_correct(lines, 1364) == 2


def test_a_rung_from_a_vegeta_report() -> None:
    rung = report.rung_from(
        REPORT,
        correct=1990,
        gateway_cpu_s=5.0,
        gateway_finished=2000,
        query="q",
        cache="cold",
        statements=6,
        rate=200,
    )
    assert rung.achieved_per_s == pytest.approx(199.0)
    assert (rung.p50_ms, rung.p99_ms) == (2.5, 48.0)
    assert rung.correct_share == pytest.approx(0.995)
    assert rung.core_use == pytest.approx(0.5)
    assert rung.cpu_ms_per_request == pytest.approx(2.5)
    assert not rung.saturated
    behind = report.rung_from(
        REPORT,
        correct=1500,
        gateway_cpu_s=10.0,
        gateway_finished=2000,
        query="q",
        cache="cold",
        statements=6,
        rate=200,
    )
    assert behind.saturated


def test_the_table_and_the_targets() -> None:
    cold = report.rung_from(
        REPORT,
        correct=2000,
        gateway_cpu_s=5.0,
        gateway_finished=2000,
        query="technologies",
        cache="cold",
        statements=6,
        rate=200,
    )
    warm = report.rung_from(
        {**REPORT, "requests": 20000},
        correct=20000,
        gateway_cpu_s=9.0,
        gateway_finished=20000,
        query="technologies",
        cache="warm",
        statements=0,
        rate=2000,
    )
    skipped = report.Skipped(query="technologies", cache="warm", statements=0, rate=3000)
    text = report.table([cold, warm, skipped])
    assert text.splitlines()[2] == "| technologies | cold | 6 | 200 | 200 | 2.5 | 48.0 | 100.00 | 2.50 | 50 |"
    assert text.splitlines()[4].startswith("| technologies | warm | 0 | 3000 | not run")
    assert report.targets([cold, warm, skipped], query="technologies") == [
        "- technologies, warm cache, ≥ 2,000 req/s: met: 2000 req/s sustained at 2000 req/s offered.",
        "- technologies, cold cache, p99 < 50 ms at 200 req/s: met: p99 48.0 ms.",
    ]
    slow = report.rung_from(
        {**REPORT, "latencies": {"50th": 9_000_000, "99th": 250_000_000}},
        correct=2000,
        gateway_cpu_s=9.0,
        gateway_finished=20000,
        query="technologies",
        cache="cold",
        statements=6,
        rate=200,
    )
    assert report.targets([slow], query="technologies") == [
        "- technologies, warm cache, ≥ 2,000 req/s: not met: no warm rung was run.",
        "- technologies, cold cache, p99 < 50 ms at 200 req/s: not met: p99 250 ms, 200 req/s achieved,"
        " 100.00 % success.",
    ]


METRICS = """# HELP mpe_gateway_compile_fallbacks_total Operations the compiled path left to strawberry
# TYPE mpe_gateway_compile_fallbacks_total counter
mpe_gateway_compile_fallbacks_total{reason="field"} 3.0
mpe_gateway_compile_fallbacks_created{reason="field"} 1.7e+09
mpe_gateway_compile_fallbacks_total{reason="scope"} 1.0
mpe_gateway_requests_total{agency="bench",operation="Page",operation_type="query",outcome="ok"} 9.0
"""


def test_fallbacks_are_read_by_reason_and_reported_in_one_line() -> None:
    counts = report.fallbacks(METRICS)
    assert counts == {"field": 3, "scope": 1}
    assert report.fallback_line(counts) == (
        "Compile fallbacks (`mpe_gateway_compile_fallbacks_total`): 4 (field 3, scope 1)."
    )
    assert report.fallback_line({}) == "Compile fallbacks (`mpe_gateway_compile_fallbacks_total`): 0."
