"""The bench stack's pure parts and its CPU sampling on real processes (`uv run pytest deploy/bench`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # deploy/bench is no package: its modules by name

import bench
import bench_pipeline
import bench_stack
import bench_vegeta

from mpe_devstack import proc_cpu

pytestmark = pytest.mark.unit

# A /proc/<pid>/stat line whose command holds a space and a ")", as a process may name itself.
STAT = (
    "4242 (postgres: a) b) S 4200 4242 4242 0 -1 4194560 900 0 0 0 "
    "170 30 55 45 20 0 1 0 123456 180000000 5000 18446744073709551615"
)


def test_a_stat_line_is_read_after_the_last_parenthesis() -> None:
    times = proc_cpu.parse_stat(STAT)
    assert times == proc_cpu.Times(ppid=4200, utime=170, stime=30, cutime=55, cstime=45)
    assert (times.own, times.with_reaped_children) == (200, 300)


def test_the_machine_is_busy_for_all_but_idle_and_iowait() -> None:
    stat = "cpu  100 2 30 5000 40 6 7 8 9 10\ncpu0 50 1 15 2500 20 3 3 4 0 0\n"
    assert proc_cpu.parse_machine_stat(stat) == 100 + 2 + 30 + 6 + 7 + 8
    assert proc_cpu.machine_busy_seconds() > 0


def test_a_tree_counts_the_root_its_exited_children_and_its_live_ones() -> None:
    root = proc_cpu.Times(ppid=1, utime=10, stime=5, cutime=100, cstime=20)
    live = [
        proc_cpu.Times(ppid=9, utime=7, stime=3, cutime=0, cstime=0),
        proc_cpu.Times(ppid=9, utime=1, stime=1, cutime=2, cstime=0),
    ]
    assert proc_cpu.tree_ticks(root, live) == 135 + 10 + 4
    assert proc_cpu.tree_ticks(root, []) == 135


BURN = "import time\nwhile time.process_time() < 0.3:\n    pass\n"


def test_a_tree_keeps_the_cpu_of_a_child_that_exited_and_sees_a_live_one() -> None:
    """Real processes: a child that burns 0.3 s of CPU and exits still counts in its parent's tree."""
    me = os.getpid()
    before = proc_cpu.tree_cpu_seconds(me)
    subprocess.run([sys.executable, "-c", BURN], check=True)
    after_exit = proc_cpu.tree_cpu_seconds(me)
    assert after_exit - before >= 0.25
    with subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    ) as live:
        assert live.pid in proc_cpu.children(me)
        assert live.stdin is not None
        live.stdin.close()
    assert proc_cpu.cpu_seconds(me) <= proc_cpu.tree_cpu_seconds(me)


def _write(pending: int) -> dict[str, object]:
    return {"status": "ready", "outbox": {"pending": pending, "oldest_age_s": 0.1}}


def _gateway(consumers: list[int], projection: list[int]) -> dict[str, object]:
    return {
        "consumers": {f"c{i}": {"lag": lag} for i, lag in enumerate(consumers)},
        "projection": {f"t{i}": {"lag": lag, "caught_up_at": None} for i, lag in enumerate(projection)},
    }


def test_events_left_are_the_outboxes_and_the_larger_of_the_gateways_lags() -> None:
    writes = [_write(0), _write(1200), _write(30)]
    assert bench_stack.events_left(writes, _gateway([500, 20], [400, 10])) == (1230, 520)
    assert bench_stack.events_left(writes, _gateway([0], [900])) == (1230, 900)
    # A write service that reports no outbox is not done.
    assert bench_stack.events_left([{"status": "ready"}], _gateway([0], [0])) == (1, 0)


def test_quiet_needs_empty_outboxes_and_reported_lags_all_zero() -> None:
    assert bench_stack.is_quiet([_write(0)] * 3, _gateway([0, 0], [0]))
    assert not bench_stack.is_quiet([_write(0)] * 3, _gateway([0, 0], [3]))
    assert not bench_stack.is_quiet([_write(0), _write(1), _write(0)], _gateway([0], [0]))
    # A gateway that reports no lag yet has not started projecting.
    assert not bench_stack.is_quiet([_write(0)] * 3, {})


def test_the_wait_for_the_projector_grows_with_the_events() -> None:
    assert bench_stack.settle_timeout(0) == bench_stack.SETTLE_FLOOR_S
    ten = bench_stack.settle_timeout(55_000)
    hundred = bench_stack.settle_timeout(550_000)
    assert bench_stack.SETTLE_FLOOR_S < ten < hundred
    # Room for a projector four times slower than today's ~190 events/s.
    assert ten >= 55_000 / 190 * 3


def test_the_access_log_counts_finished_requests_and_busy_refusals_up_to_the_last_whole_line(
    tmp_path: Path,
) -> None:
    def line(**fields: object) -> str:
        return json.dumps(fields, ensure_ascii=False) + "\n"

    log = tmp_path / "gateway.log"
    log.write_text(
        line(event="graphql request", outcome="ok", agency="벤치")
        + line(event="graphql request", outcome="busy", status=503)
        + line(event="compiled statement refused; strawberry answers")
        + '{"event": "graphql request", "outcome": "bu'  # still being written
    )
    finished = bench_vegeta.LoggedRequests(log)
    assert (finished(), finished.busy) == (2, 1)
    with log.open("a") as f:
        f.write('sy"}\n' + line(event="graphql request", outcome="error"))
    assert (finished(), finished.busy) == (4, 2)
    # The gateway's stderr shares the file: a traceback naming the event is not a request.
    with log.open("a") as f:
        f.write('Traceback: logger.info("graphql request", ...) failed\n')
    assert (finished(), finished.busy) == (4, 2)


def test_the_pipeline_runs_make_bench_s_default_queries_and_not_the_floor() -> None:
    assert sorted(bench.parse_args([]).queries.split(",")) == list(bench_pipeline.HEADLINE)
    assert "floor" not in bench_pipeline.HEADLINE
    assert (bench_pipeline.QUERIES / "floor.graphql").is_file()


def test_the_pipeline_report_names_the_statuses_of_the_answers_that_were_not_200() -> None:
    # Made-up statuses (the 300x run that inspired the other figures kept none).
    busy = {"p50_ms": 1.9, "p99_ms": 5003.7, "achieved_rate": 7, "errors": 929}
    result = {
        "when": "2026-12-07 00:47 UTC",
        "machine": "vm, 2 cores",
        "events": 1_648_727,
        "write_visible": [
            {
                "rate": 500,
                "achieved_rate": 290,
                "writes": 1756,
                "errors": 1,
                "status_codes": {"0": 1, "200": 1756},
                "committed": 1757,
                "not_seen": 0,
                "ack_p99_ms": 3779.2,
                "p50_ms": 59.1,
                "p99_ms": 133.8,
            }
        ],
        "queries": {
            "spending": {
                "cold": {**busy, "status_codes": {"0": 19, "200": 81, "503": 900}},
                "warm": {
                    "p50_ms": 0.6,
                    "p99_ms": 1.6,
                    "achieved_rate": 200,
                    "errors": 0,
                    "status_codes": {"200": 1000},
                },
            }
        },
    }
    text = bench_pipeline._markdown("300x", result)
    # 929 errors: 19 unanswered, 900 refused, and 10 answered 200 with another length.
    assert (
        "| spending cold (7/s answered) | p50 1.9 ms, p99 5003.7 ms"
        " (929 errors: no answer ×19, 503 ×900, 200 of another length ×10) |"
    ) in text
    assert "| spending warm (200/s answered) | p50 0.6 ms, p99 1.6 ms (0 errors) |" in text
    assert "| p50 59.1 ms, p99 133.8 ms (1 error: no answer ×1; 0 not seen) |" in text
    assert "those refused at once with 503 included" in text
    # A result written before the statuses were kept still renders.
    del result["queries"]["spending"]["cold"]["status_codes"]
    assert "(929 errors) |" in bench_pipeline._markdown("300x", result)
