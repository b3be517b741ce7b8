"""The benchmark's arithmetic, apart from any process: vegeta's reports in, a Markdown table out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

NS_PER_MS = 1_000_000

# A rung is saturated when it keeps up with less than this share of its offered rate, or
# answers less than this share correctly; the ladder above it is not run.
KEEP_UP = 0.9
CORRECT = 0.99


@dataclass(frozen=True, kw_only=True)
class Rung:
    """One query at one fixed arrival rate against one gateway, as measured."""

    query: str
    cache: str
    statements: int | None
    rate: int
    requests: int
    correct: int
    achieved_per_s: float
    p50_ms: float
    p99_ms: float
    gateway_cpu_s: float
    gateway_finished: int
    seconds: float
    postgres_cpu_s: float | None = None
    # Of `gateway_finished`, those refused at once with 503 at GATEWAY_MAX_IN_FLIGHT ("busy").
    refused_busy: int = 0

    @property
    def correct_share(self) -> float:
        """Share of the requests answered 200 with the reference answer's length."""
        return self.correct / self.requests if self.requests else 0.0

    @property
    def worked(self) -> int:
        """GraphQL requests the gateway finished while the rung ran, less the busy refusals."""
        return self.gateway_finished - self.refused_busy

    @property
    def cpu_ms_per_request(self) -> float | None:
        """The gateway process's CPU time per GraphQL request it worked on while the rung ran.

        Counted on the gateway's side, so a saturated rung's requests that vegeta gave up on but
        the gateway still answered count too: 1000 / this is about what one core can serve. A
        request refused at once as busy is not counted: it costs next to nothing, and counting
        it would make a saturated rung look cheaper. Its small cost stays in the numerator.
        """
        return 1000 * self.gateway_cpu_s / self.worked if self.worked > 0 else None

    @property
    def postgres_cpu_ms_per_request(self) -> float | None:
        """Postgres's CPU time (the postmaster and all its processes) per GraphQL request the
        gateway worked on while the rung ran; None when it was not sampled."""
        if self.postgres_cpu_s is None or self.worked <= 0:
            return None
        return 1000 * self.postgres_cpu_s / self.worked

    @property
    def total_cpu_ms_per_request(self) -> float | None:
        """Gateway and Postgres together per request: what one request costs the machine."""
        gateway, postgres = self.cpu_ms_per_request, self.postgres_cpu_ms_per_request
        return None if gateway is None or postgres is None else gateway + postgres

    @property
    def core_use(self) -> float:
        """The share of its core the gateway process used while the rung ran: below 1 when
        saturated means something else on the machine took the core."""
        return self.gateway_cpu_s / self.seconds if self.seconds > 0 else 0.0

    @property
    def saturated(self) -> bool:
        """The gateway fell behind the offered rate, or failed too many requests."""
        return self.achieved_per_s < KEEP_UP * self.rate or self.correct_share < CORRECT


@dataclass(frozen=True, kw_only=True)
class Skipped:
    """A rung not run because a lower rate of the same ladder was already saturated."""

    query: str
    cache: str
    statements: int | None
    rate: int


@dataclass(frozen=True, kw_only=True)
class Idle:
    """CPU the gateway and Postgres used over some seconds without any request."""

    seconds: float
    gateway_cpu_s: float
    postgres_cpu_s: float

    @property
    def ms_per_s(self) -> float:
        """Both together, in CPU milliseconds per second: at R req/s, this / R of each request's
        CPU figure is background, not the request's own work."""
        return 1000 * (self.gateway_cpu_s + self.postgres_cpu_s) / self.seconds if self.seconds > 0 else 0.0


def idle_line(idle: Idle) -> str:
    """One line for the results: the background CPU under the rungs' figures."""
    per_s = 1000 / idle.seconds if idle.seconds > 0 else 0.0
    return (
        f"Idle, before the cold rungs ({idle.seconds:g} s, no request): gateway"
        f" {idle.gateway_cpu_s * per_s:.1f} ms/s, Postgres {idle.postgres_cpu_s * per_s:.1f} ms/s of CPU;"
        f" at 50 req/s that is {idle.ms_per_s / 50:.2f} ms of each request's total, at 200 req/s"
        f" {idle.ms_per_s / 200:.2f} ms."
    )


def count_correct(encoded: Iterable[str], expected_length: int) -> int:
    """Count results (`vegeta encode --to json` lines) that are a 200 with the reference length.

    vegeta keeps no bodies here (`-max-body=0`), but it keeps the headers: an answer whose
    Content-Length differs from the reference answer's carries errors or other data.
    """
    correct = 0
    for line in encoded:
        if not line.strip():
            continue
        result: dict[str, Any] = json.loads(line)
        headers: Mapping[str, list[str]] = result.get("headers") or {}
        lengths = headers.get("Content-Length") or []
        if result["code"] == 200 and not result["error"] and lengths and int(lengths[0]) == expected_length:
            correct += 1
    return correct


def rung_from(
    report: Mapping[str, Any],
    *,
    correct: int,
    gateway_cpu_s: float,
    gateway_finished: int,
    query: str,
    cache: str,
    statements: int | None,
    rate: int,
    postgres_cpu_s: float | None = None,
    refused_busy: int = 0,
) -> Rung:
    """A rung from vegeta's JSON report (`vegeta report -type=json`) and the count of correct answers.

    Achieved requests/s counts correct answers only, over the time from the first request sent
    to the last answer received (vegeta's `duration` plus `wait`), as vegeta's own throughput does
    for its status-code successes.
    """
    seconds = (int(report["duration"]) + int(report["wait"])) / 1e9
    latencies = report["latencies"]
    return Rung(
        query=query,
        cache=cache,
        statements=statements,
        rate=rate,
        requests=int(report["requests"]),
        correct=correct,
        achieved_per_s=correct / seconds if seconds > 0 else 0.0,
        p50_ms=int(latencies["50th"]) / NS_PER_MS,
        p99_ms=int(latencies["99th"]) / NS_PER_MS,
        gateway_cpu_s=gateway_cpu_s,
        gateway_finished=gateway_finished,
        seconds=seconds,
        postgres_cpu_s=postgres_cpu_s,
        refused_busy=refused_busy,
    )


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _cpu(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def cpu_line(rung: Rung) -> str:
    """The rung's CPU per request in one phrase, for the progress lines."""
    return (
        f"{_cpu(rung.cpu_ms_per_request)} gateway + {_cpu(rung.postgres_cpu_ms_per_request)} Postgres"
        f" = {_cpu(rung.total_cpu_ms_per_request)}"
    )


def table(rows: Sequence[Rung | Skipped]) -> str:
    """The results as a Markdown table, one line per query, cache and rate."""
    lines = [
        "| query | cache | SQL statements | rate (req/s) | achieved req/s | p50 ms | p99 ms | success %"
        " | refused busy (503) | gateway CPU ms/request | Postgres CPU ms/request | total CPU ms/request"
        " | gateway core use % |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        statements = "n/a" if row.statements is None else str(row.statements)
        head = f"| {row.query} | {row.cache} | {statements} | {row.rate}"
        if isinstance(row, Skipped):
            lines.append(f"{head} | not run: saturated at a lower rate | | | | | | | | |")
            continue
        lines.append(
            f"{head} | {row.achieved_per_s:.0f} | {_ms(row.p50_ms)} | {_ms(row.p99_ms)}"
            f" | {100 * row.correct_share:.2f} | {row.refused_busy} | {_cpu(row.cpu_ms_per_request)}"
            f" | {_cpu(row.postgres_cpu_ms_per_request)} | {_cpu(row.total_cpu_ms_per_request)}"
            f" | {100 * row.core_use:.0f} |"
        )
    return "\n".join(lines)


def _find(rows: Sequence[Rung | Skipped], query: str, cache: str) -> list[Rung]:
    return [r for r in rows if isinstance(r, Rung) and r.query == query and r.cache == cache]


def targets(rows: Sequence[Rung | Skipped], *, query: str) -> list[str]:
    """The targets for `query` (the design guide's two, issue 13's CPU per request), each stated as
    met or not met with its figure."""
    warm = [r for r in _find(rows, query, "warm") if r.rate >= 2000 and not r.saturated]
    best_warm = max(_find(rows, query, "warm"), key=lambda r: r.achieved_per_s, default=None)
    if warm:
        best = max(warm, key=lambda r: r.achieved_per_s)
        first = f"met: {best.achieved_per_s:.0f} req/s sustained at {best.rate} req/s offered"
    elif best_warm is not None:
        first = f"not met: at most {best_warm.achieved_per_s:.0f} req/s (offered {best_warm.rate})"
    else:
        first = "not met: no warm rung was run"
    cold = [r for r in _find(rows, query, "cold") if r.rate == 200]
    if not cold:
        second = "not met: the 200 req/s rung was not run (saturated at a lower rate)"
    elif cold[0].p99_ms < 50 and not cold[0].saturated:
        second = f"met: p99 {_ms(cold[0].p99_ms)} ms"
    else:
        second = (
            f"not met: p99 {_ms(cold[0].p99_ms)} ms, {cold[0].achieved_per_s:.0f} req/s achieved, "
            f"{100 * cold[0].correct_share:.2f} % success"
        )
    return [
        f"- {query}, warm cache, ≥ 2,000 req/s: {first}.",
        f"- {query}, cold cache, p99 < 50 ms at 200 req/s: {second}.",
        f"- {query}, cold cache, ≤ {CPU_TARGET_MS:g} ms of CPU per request, gateway and Postgres together:"
        f" {cpu_target(rows, query=query)}.",
    ]


CPU_TARGET_MS = 2.0


def cpu_target(rows: Sequence[Rung | Skipped], *, query: str) -> str:
    """The CPU target, read on the highest cold rung the gateway kept up with (its figure is
    clean there), else on the lowest cold rung run, said to be saturated."""
    sampled = [r for r in _find(rows, query, "cold") if r.total_cpu_ms_per_request is not None]
    kept = [r for r in sampled if not r.saturated]
    if kept:
        rung, note = max(kept, key=lambda r: r.rate), ""
    elif sampled:
        rung, note = min(sampled, key=lambda r: r.rate), ", a saturated rung"
    else:
        return "not measured"
    total = rung.total_cpu_ms_per_request
    assert total is not None
    verdict = "met" if total <= CPU_TARGET_MS else "not met"
    return (
        f"{verdict}: {total:.2f} ms ({_cpu(rung.cpu_ms_per_request)} gateway,"
        f" {_cpu(rung.postgres_cpu_ms_per_request)} Postgres) at {rung.rate} req/s{note}"
    )


FALLBACKS = "mpe_gateway_compile_fallbacks_total"


def fallbacks(metrics: str) -> dict[str, int]:
    """The gateway's compile fallbacks by reason, read from its Prometheus text."""
    found: dict[str, int] = {}
    for line in metrics.splitlines():
        if line.startswith(FALLBACKS + "{"):
            labels, _, value = line.rpartition(" ")
            reason = labels.split('reason="', 1)[1].split('"', 1)[0]
            found[reason] = found.get(reason, 0) + int(float(value))
    return found


def fallback_line(counts: Mapping[str, int]) -> str:
    """One line for the results: how often strawberry answered because the compiled path declined."""
    total = sum(counts.values())
    if not total:
        return "Compile fallbacks (`mpe_gateway_compile_fallbacks_total`): 0."
    by_reason = ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items()))
    return f"Compile fallbacks (`mpe_gateway_compile_fallbacks_total`): {total} ({by_reason})."
