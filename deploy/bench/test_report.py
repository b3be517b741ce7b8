"""The benchmark's arithmetic on canned vegeta output (`uv run pytest deploy/bench`)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

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
    assert text.splitlines()[2] == (
        "| technologies | cold | 6 | 200 | 200 | 2.5 | 48.0 | 100.00 | 0 | 2.50 | n/a | n/a | 50 |"
    )
    assert text.splitlines()[4].startswith("| technologies | warm | 0 | 3000 | not run")
    assert text.splitlines()[4].count("|") == text.splitlines()[0].count("|")
    assert report.targets([cold, warm, skipped], query="technologies") == [
        "- technologies, warm cache, ≥ 2,000 req/s: met: 2000 req/s sustained at 2000 req/s offered.",
        "- technologies, cold cache, p99 < 50 ms at 200 req/s: met: p99 48.0 ms.",
        "- technologies, cold cache, ≤ 2 ms of CPU per request, gateway and Postgres together: not measured.",
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
        "- technologies, cold cache, ≤ 2 ms of CPU per request, gateway and Postgres together: not measured.",
    ]


def _cold(
    rate: int,
    *,
    correct: int,
    gateway_cpu_s: float,
    postgres_cpu_s: float | None,
    finished: int = 2000,
    refused_busy: int = 0,
) -> Any:
    return report.rung_from(
        {**REPORT, "requests": 2000},
        correct=correct,
        gateway_cpu_s=gateway_cpu_s,
        postgres_cpu_s=postgres_cpu_s,
        gateway_finished=finished,
        refused_busy=refused_busy,
        query="technologies",
        cache="cold",
        statements=1,
        rate=rate,
    )


def test_postgres_and_total_cpu_per_request() -> None:
    rung = _cold(200, correct=2000, gateway_cpu_s=2.0, postgres_cpu_s=8.0)
    assert rung.cpu_ms_per_request == pytest.approx(1.0)
    assert rung.postgres_cpu_ms_per_request == pytest.approx(4.0)
    assert rung.total_cpu_ms_per_request == pytest.approx(5.0)
    assert report.cpu_line(rung) == "1.00 gateway + 4.00 Postgres = 5.00"
    row = report.table([rung]).splitlines()
    assert row[0].split(" | ")[8:12] == [
        "refused busy (503)",
        "gateway CPU ms/request",
        "Postgres CPU ms/request",
        "total CPU ms/request",
    ]
    assert (
        row[2]
        == "| technologies | cold | 1 | 200 | 200 | 2.5 | 48.0 | 100.00 | 0 | 1.00 | 4.00 | 5.00 | 20 |"
    )
    # Not sampled (as ab.py's rungs), or no request finished: no figure, never a division by zero.
    unsampled = _cold(200, correct=2000, gateway_cpu_s=2.0, postgres_cpu_s=None)
    assert (unsampled.postgres_cpu_ms_per_request, unsampled.total_cpu_ms_per_request) == (None, None)
    idle = _cold(10, correct=0, gateway_cpu_s=0.1, postgres_cpu_s=0.1, finished=0)
    assert (idle.cpu_ms_per_request, idle.postgres_cpu_ms_per_request, idle.total_cpu_ms_per_request) == (
        None,
        None,
        None,
    )


def test_busy_refusals_are_counted_apart_and_left_out_of_the_cpu_per_request() -> None:
    # 2,000 finished, 800 of them refused at once with 503: the CPU went to the other 1,200.
    rung = _cold(200, correct=1200, gateway_cpu_s=1.2, postgres_cpu_s=12.0, refused_busy=800)
    assert rung.worked == 1200
    assert (rung.cpu_ms_per_request, rung.postgres_cpu_ms_per_request) == (
        pytest.approx(1.0),
        pytest.approx(10.0),
    )
    assert report.table([rung]).splitlines()[2].split(" | ")[8:10] == ["800", "1.00"]
    # Every finished request refused: nothing was worked on, so there is no figure.
    refused = _cold(200, correct=0, gateway_cpu_s=0.2, postgres_cpu_s=0.1, finished=50, refused_busy=50)
    assert (refused.cpu_ms_per_request, refused.total_cpu_ms_per_request) == (None, None)


def test_the_cpu_target_is_read_on_the_highest_cold_rung_kept_up_with() -> None:
    low = _cold(50, correct=2000, gateway_cpu_s=1.6, postgres_cpu_s=1.6)  # 0.8 + 0.8 ms
    high = _cold(200, correct=2000, gateway_cpu_s=2.0, postgres_cpu_s=3.0)  # 1.0 + 1.5 ms
    swamped = _cold(400, correct=900, gateway_cpu_s=1.0, postgres_cpu_s=1.0)  # saturated, left out
    assert swamped.saturated
    assert report.cpu_target([low, high, swamped], query="technologies") == (
        "not met: 2.50 ms (1.00 gateway, 1.50 Postgres) at 200 req/s"
    )
    assert report.cpu_target([low, swamped], query="technologies") == (
        "met: 1.60 ms (0.80 gateway, 0.80 Postgres) at 50 req/s"
    )
    assert report.cpu_target([swamped], query="technologies") == (
        "met: 1.00 ms (0.50 gateway, 0.50 Postgres) at 400 req/s, a saturated rung"
    )
    assert report.cpu_target([swamped], query="other") == "not measured"


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


def test_the_idle_line_says_the_background_share_per_request() -> None:
    idle = report.Idle(seconds=5, gateway_cpu_s=0.1, postgres_cpu_s=0.4)
    assert idle.ms_per_s == pytest.approx(100.0)
    assert report.idle_line(idle) == (
        "Idle, before the cold rungs (5 s, no request): gateway 20.0 ms/s, Postgres 80.0 ms/s of CPU;"
        " at 50 req/s that is 2.00 ms of each request's total, at 200 req/s 0.50 ms."
    )
