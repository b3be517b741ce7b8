"""The soak's arithmetic, report and plot on made-up samples (`uv run pytest deploy/soak`; no stack)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _load() -> ModuleType:
    # deploy/soak is no package: load the module by path, as soak.py's own directory would.
    spec = importlib.util.spec_from_file_location("soak_report", Path(__file__).with_name("soak_report.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


report = _load()
pytestmark = pytest.mark.unit


def _raw() -> dict[str, Any]:
    """Two minutes and a half measured after 30 s of warm-up."""
    rss = []
    for t in range(-30, 151, 10):
        # The gateway grows during the warm-up only; the catalog keeps growing (1 MiB every 10 s).
        rss.append({"t": t, "proc": "gateway", "kb": 100 * 1024 if t >= 0 else 50 * 1024})
        rss.append({"t": t, "proc": "catalog", "kb": (80 + max(t, 0) // 10) * 1024})
    writes = [
        {"t": t / 10, "service": "firms", "what": "firm", "status": 201, "ms": 5.0} for t in range(1500)
    ]
    writes += [
        {"t": -5.0, "service": "firms", "what": "firm", "status": 500, "ms": 1.0},  # warm-up: not counted
        {"t": 70.0, "service": "budget", "what": "payment", "status": 409, "ms": 2.0},
        {"t": 130.0, "service": "catalog", "what": "publish", "status": None, "ms": 10000.0},
    ]
    reads = [{"t": t / 30, "code": 200, "ms": 2.0} for t in range(4500)]
    reads.append({"t": 10.0, "code": None, "ms": 10000.0})
    # Minute 1: visible after 1..100 ms; minute 2: 101..200 ms; the half minute: one never visible.
    # Answered by GraphQL 1000 ms after it was projected.
    probes = [
        {"t": 0.5 * i, "service": "firms", "projected_ms": float(i + 1), "ms": float(i + 1001)}
        for i in range(100)
    ]
    probes += [
        {"t": 60 + 0.5 * i, "service": "budget", "projected_ms": float(101 + i), "ms": float(i + 1101)}
        for i in range(100)
    ]
    probes.append(
        {
            "t": 125.0,
            "service": "catalog",
            "projected_ms": None,
            "ms": None,
            "detail": "HTTP 200, ['WRITE_NOT_YET_VISIBLE']",
        }
    )
    lag = [{"t": t, "lag": 7 if t == 65 else 0, "outbox": {}} for t in range(-30, 151, 5)]
    return {
        "duration_s": 150,
        "offered": {"writes_per_s": 10, "reads_per_s": 30, "warmup_s": 30},
        "rss": rss,
        "writes": writes,
        "reads": reads,
        "probes": probes,
        "lag": lag,
        "graphql_outcomes": {"ok": 4500.0},
        "answered_by": {"cache": 2500, "compiled": 1500, "shared": 500},
        "probe_busy_answers": 3,
        "log_errors": {"gateway": {}, "budget": {"unhandled error: ValueError: boom": 2}},
    }


def test_memory_growth_counts_from_the_end_of_the_warm_up() -> None:
    procs = {p["proc"]: p for p in report.summarise(_raw())["processes"]}
    assert procs["gateway"]["growth_pct"] == 0
    assert procs["gateway"]["flat"]
    assert procs["catalog"]["start_mb"] == 80
    assert procs["catalog"]["end_mb"] == 95
    assert procs["catalog"]["growth_pct"] == pytest.approx(18.75)
    assert not procs["catalog"]["flat"]
    # From 150 s / 2 = 75 s (the sample at 70 s, 87 MiB) to the end.
    assert procs["catalog"]["second_half_pct"] == pytest.approx(100 * 8 / 87)


def test_per_minute_rates_visibility_and_lag() -> None:
    minutes = report.summarise(_raw())["per_minute"]
    assert [m["minute"] for m in minutes] == [1, 2, 3]
    assert [m["seconds"] for m in minutes] == [60, 60, 30]
    assert minutes[0]["writes_per_s"] == 10
    assert minutes[1]["write_errors"] == 1
    assert minutes[0]["reads_per_s"] == 30
    assert minutes[0]["read_errors"] == 1
    assert (minutes[0]["visible_p50_ms"], minutes[0]["visible_p99_ms"]) == (50, 99)
    assert (minutes[1]["visible_p50_ms"], minutes[1]["visible_p99_ms"]) == (150, 199)
    assert (minutes[1]["answered_p50_ms"], minutes[1]["answered_p99_ms"]) == (1150, 1199)
    assert minutes[2]["answered_failed"] == 1
    assert minutes[2]["visible_n"] == 0
    assert minutes[2]["visible_failed"] == 1
    assert minutes[2]["visible_p50_ms"] is None
    assert [m["lag_max"] for m in minutes] == [0, 7, 0]


def test_totals_and_errors_leave_the_warm_up_out() -> None:
    summary = report.summarise(_raw())
    totals = summary["totals"]
    assert totals["writes"] == 1502
    assert totals["writes_per_s"] == 10
    assert totals["reads_ok"] == 4500
    assert (totals["visible_n"], totals["visible_failed"]) == (200, 1)
    assert totals["lag_max"] == 7
    assert summary["write_errors"] == {"budget payment: 409": 1, "catalog publish: no answer": 1}
    assert summary["read_errors"] == {"no answer": 1}


def test_report_and_plot(tmp_path: Path) -> None:
    raw = _raw()
    summary = report.summarise(raw)
    facts = {"date": "2026-12-06 05:00 UTC", "nproc": "2"}
    text = report.render(summary, facts, "make soak", "soak.png")
    assert "| catalog | 80.0 | 95.0 | 95.0 | 18.8 | **no** | 9.2 |" in text
    assert "| gateway | 100.0 | 100.0 | 100.0 | 0.0 | yes | 0.0 |" in text
    assert "| 2 | 10.0 | 1 | 30.0 | 0 | 2.0 | 2.0 | 100 | 150 | 199 | 0 | 1,150 | 1,199 | 7 |" in text
    assert "- probe not visible: catalog at 125.0 s: HTTP 200, ['WRITE_NOT_YET_VISIBLE']" in text
    assert "- REST write budget payment: 409: 1" in text
    assert "- probe reads answered 429 or 503 (nothing ran), retried after `Retry-After`: 3" in text
    assert "executed nothing): cache 2,500, compiled 1,500, shared 500" in text
    assert "- budget.log, 2 error lines: `unhandled error: ValueError: boom`" in text
    assert "![RSS, lag, visibility and rates](soak.png)" in text
    png = tmp_path / "soak.png"
    report.plot(raw, summary, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_percentile_is_nearest_rank() -> None:
    assert report.percentile([], 50) is None
    assert report.percentile([3.0], 99) == 3.0
    assert report.percentile([float(i) for i in range(1, 11)], 50) == 5.0
    assert report.percentile([float(i) for i in range(1, 11)], 99) == 10.0


def test_cpu_shares_of_the_machine_and_what_else_ran() -> None:
    raw = _raw()
    # 100 s on 2 cores: 200 s of CPU to give; the machine was busy 150 s of it.
    raw["cpu"] = {
        "wall_s": 100.0,
        "cores": 2,
        "seconds": {"gateway api": 40.0, "postgres": 60.0, "load: reads (vegeta)": 20.0, "machine": 150.0},
    }
    cpu = report.summarise(raw)["cpu"]
    assert [(r["proc"], r["share_pct"]) for r in cpu["rows"]] == [
        ("postgres", 30.0),
        ("gateway api", 20.0),
        ("load: reads (vegeta)", 10.0),
    ]
    assert (cpu["others_s"], cpu["others_pct"]) == (30.0, 15.0)
    assert cpu["machine_pct"] == 75.0
    text = report.render(report.summarise(raw), {"date": "d"}, "make soak", None)
    assert "## CPU over the measured minutes (2 cores, 100 s)" in text
    assert "| postgres | 60.0 | 30.0 |" in text
    assert "| anything else (other programs, the kernel) | 30.0 | 15.0 |" in text
    assert "| **the machine, busy** | 150.0 | 75.0 |" in text


def test_a_run_that_did_not_count_cpu_has_no_cpu_section() -> None:
    summary = report.summarise(_raw())
    assert summary["cpu"] is None
    assert "## CPU" not in report.render(summary, {"date": "d"}, "make soak", None)
