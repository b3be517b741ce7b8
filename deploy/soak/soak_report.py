"""The soak's arithmetic and its outputs: samples in, a summary, a Markdown report and a PNG plot out.

No stack, no network: `soak.py` gathers the samples, this module only counts. Times are seconds
from the run's start (the end of the warm-up); samples before it (t < 0) are the warm-up's and
are left out of every figure except the plot's RSS and lag lines.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

# RSS growth from the end of the warm-up to the end of the run above which a process is not flat.
FLAT_PCT = 10.0


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile (p in 0..100) of values; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _ok(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


def _minutes(duration_s: float) -> list[tuple[int, float]]:
    """Each minute of the run and how many seconds of it the run lasted."""
    count = max(1, math.ceil(duration_s / 60 - 1e-9))
    return [(m, min(60.0, duration_s - 60 * m)) for m in range(count)]


def _in(rows: Iterable[dict[str, Any]], minute: int) -> list[dict[str, Any]]:
    return [r for r in rows if 60 * minute <= r["t"] < 60 * (minute + 1)]


def processes(rss: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per process: RSS at the first sample of the run and at the last, the peak, and the growth."""
    rows = []
    for name in dict.fromkeys(s["proc"] for s in rss):
        run = [s for s in rss if s["proc"] == name and s["t"] >= 0]
        if not run:
            continue
        start, end = run[0]["kb"], run[-1]["kb"]
        # From the sample nearest the run's middle: a process still settling after the warm-up
        # grows in the first half; one that leaks keeps growing in the second.
        middle = min(run, key=lambda s: abs(s["t"] - run[-1]["t"] / 2))["kb"]
        rows.append(
            {
                "proc": name,
                "start_mb": start / 1024,
                "end_mb": end / 1024,
                "max_mb": max(s["kb"] for s in run) / 1024,
                "growth_pct": 100 * (end - start) / start if start else None,
                "second_half_pct": 100 * (end - middle) / middle if middle else None,
                "flat": start > 0 and 100 * (end - start) / start < FLAT_PCT,
            }
        )
    return rows


def cpu_shares(cpu: dict[str, Any] | None) -> dict[str, Any] | None:
    """Where the machine's CPU went over the measured minutes (None for a run that did not count it).

    Each process's seconds and its share of what the machine's cores could give in that time;
    `others` is the machine's busy time that no labelled process used (other programs, the kernel).
    """
    if not cpu or "machine" not in cpu["seconds"]:
        return None
    capacity = cpu["wall_s"] * cpu["cores"]
    seconds = dict(cpu["seconds"])
    machine = seconds.pop("machine")
    rows = [
        {"proc": name, "seconds": used, "share_pct": 100 * used / capacity}
        for name, used in sorted(seconds.items(), key=lambda kv: -kv[1])
    ]
    others = machine - sum(seconds.values())
    return {
        "wall_s": cpu["wall_s"],
        "cores": cpu["cores"],
        "rows": rows,
        "others_s": others,
        "others_pct": 100 * others / capacity,
        "machine_s": machine,
        "machine_pct": 100 * machine / capacity,
    }


def _figures(
    writes: Sequence[dict[str, Any]],
    reads: Sequence[dict[str, Any]],
    probes: Sequence[dict[str, Any]],
    lag: Sequence[dict[str, Any]],
    seconds: float,
) -> dict[str, Any]:
    """Counts, rates and percentiles of one stretch of the run (a minute, or all of it)."""
    writes_ok = sum(_ok(x["status"]) for x in writes)
    read_ms = [x["ms"] for x in reads if _ok(x["code"])]
    seen = [x["projected_ms"] for x in probes if x["projected_ms"] is not None]
    answered = [x["ms"] for x in probes if x["ms"] is not None]
    return {
        "writes": len(writes),
        "writes_ok": writes_ok,
        "writes_per_s": writes_ok / seconds if seconds else 0.0,
        "write_errors": len(writes) - writes_ok,
        "write_p50_ms": percentile([x["ms"] for x in writes], 50),
        "write_p99_ms": percentile([x["ms"] for x in writes], 99),
        "reads": len(reads),
        "reads_ok": len(read_ms),
        "reads_per_s": len(read_ms) / seconds if seconds else 0.0,
        "read_errors": len(reads) - len(read_ms),
        "read_p50_ms": percentile(read_ms, 50),
        "read_p99_ms": percentile(read_ms, 99),
        "visible_n": len(seen),
        "visible_failed": len(probes) - len(seen),
        "visible_p50_ms": percentile(seen, 50),
        "visible_p99_ms": percentile(seen, 99),
        "answered_p50_ms": percentile(answered, 50),
        "answered_p99_ms": percentile(answered, 99),
        "answered_failed": len(probes) - len(answered),
        "lag_max": max((x["lag"] for x in lag), default=None),
        "lag_mean": sum(x["lag"] for x in lag) / len(lag) if lag else None,
        "lag_end": lag[-1]["lag"] if lag else None,
    }


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    """Everything the report states, from the raw samples (see module docstring for the times)."""
    duration = float(raw["duration_s"])
    writes = [w for w in raw["writes"] if 0 <= w["t"] < duration]
    reads = [r for r in raw["reads"] if 0 <= r["t"] < duration]
    probes = [p for p in raw["probes"] if 0 <= p["t"] < duration]
    lag = [s for s in raw["lag"] if s["t"] >= 0]
    per_minute = [
        {
            "minute": minute + 1,
            "seconds": seconds,
            **_figures(
                _in(writes, minute), _in(reads, minute), _in(probes, minute), _in(lag, minute), seconds
            ),
        }
        for minute, seconds in _minutes(duration)
    ]
    write_errors = Counter(
        f"{x['service']} {x['what']}: {x['status'] if x['status'] is not None else 'no answer'}"
        for x in writes
        if not _ok(x["status"])
    )
    read_errors = Counter(str(x["code"] or "no answer") for x in reads if not _ok(x["code"]))
    return {
        "duration_s": duration,
        "offered": raw["offered"],
        "processes": processes(raw["rss"]),
        "per_minute": per_minute,
        "totals": _figures(writes, reads, probes, lag, duration),
        "write_errors": dict(write_errors.most_common()),
        "read_errors": dict(read_errors.most_common()),
        "probe_failures": [
            {"t": round(x["t"], 1), "service": x["service"], "detail": x.get("detail", "")}
            for x in probes
            if x["ms"] is None or x["projected_ms"] is None
        ][:20],
        "write_failure_answers": raw.get("write_failures", {}),
        "graphql_outcomes": raw.get("graphql_outcomes", {}),
        "answered_by": raw.get("answered_by", {}),
        "probe_busy_answers": raw.get("probe_busy_answers", 0),
        "log_errors": raw.get("log_errors", {}),
        "exited": raw.get("exited", {}),
        "cpu": cpu_shares(raw.get("cpu")),
    }


def _n(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def render(summary: dict[str, Any], facts: dict[str, str], command: str, plot_name: str | None) -> str:
    """The Markdown results file."""
    t, offered = summary["totals"], summary["offered"]
    lines = [
        f"# Soak run, {facts['date']}",
        "",
        f"Command: `{command}`",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in facts.items() if k != "date"),
        "",
        f"{summary['duration_s'] / 60:g} minutes measured after {offered['warmup_s']:g} s of warm-up under "
        f"the same load. Offered: {offered['writes_per_s']:g} REST writes/s (catalog, firms, budget), "
        f"{offered['reads_per_s']:g} GraphQL reads/s (the three headline queries in turn, vegeta, open model).",
        "",
        "## Achieved",
        "",
        "| | achieved /s | answered | not 2xx or no answer | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
        f"| REST writes | {t['writes_per_s']:.1f} | {t['writes']:,} | {t['writes'] - t['writes_ok']:,} "
        f"| {_n(t['write_p50_ms'], 1)} | {_n(t['write_p99_ms'], 1)} |",
        f"| GraphQL reads | {t['reads_per_s']:.1f} | {t['reads']:,} | {t['reads'] - t['reads_ok']:,} "
        f"| {_n(t['read_p50_ms'], 1)} | {_n(t['read_p99_ms'], 1)} |",
        "",
        f"Write -> visible, {t['visible_n'] + t['visible_failed']:,} probed writes. Projected (the gateway's "
        f"`write_progress` has all of the write): p50 {_n(t['visible_p50_ms'])} ms, p99 {_n(t['visible_p99_ms'])} ms, "
        f"{t['visible_failed']} never. Answered (a GraphQL read with `MPE-Wait-For` served the entity): "
        f"p50 {_n(t['answered_p50_ms'])} ms, p99 {_n(t['answered_p99_ms'])} ms, {t['answered_failed']} never. "
        "Projector lag (records): "
        f"max {_n(t['lag_max'])}, mean {_n(t['lag_mean'], 1)}, at the end {_n(t['lag_end'])}.",
        "",
        f"## Memory (RSS; flat: growth under {FLAT_PCT:g} % from the end of the warm-up)",
        "",
        "| process | start MiB | end MiB | peak MiB | growth % | flat | growth % in the second half |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for p in summary["processes"]:
        lines.append(
            f"| {p['proc']} | {p['start_mb']:.1f} | {p['end_mb']:.1f} | {p['max_mb']:.1f} "
            f"| {_n(p['growth_pct'], 1)} | {'yes' if p['flat'] else '**no**'} | {_n(p['second_half_pct'], 1)} |"
        )
    cpu = summary.get("cpu")
    if cpu:
        lines += [
            "",
            f"## CPU over the measured minutes ({cpu['cores']} cores, {cpu['wall_s']:,.0f} s)",
            "",
            "| process | CPU s | share of the machine % |",
            "|---|---:|---:|",
        ]
        lines += [f"| {r['proc']} | {r['seconds']:,.1f} | {r['share_pct']:.1f} |" for r in cpu["rows"]]
        lines += [
            f"| anything else (other programs, the kernel) | {cpu['others_s']:,.1f} | {cpu['others_pct']:.1f} |",
            f"| **the machine, busy** | {cpu['machine_s']:,.1f} | {cpu['machine_pct']:.1f} |",
        ]
    lines += [
        "",
        "## Per minute",
        "",
        "| minute | writes/s | write errors | reads/s | read errors | read p50 ms | read p99 ms "
        "| probed | projected p50 ms | projected p99 ms | never projected | answered p50 ms | answered p99 ms "
        "| lag max |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in summary["per_minute"]:
        lines.append(
            f"| {m['minute']} | {m['writes_per_s']:.1f} | {m['write_errors']} | {m['reads_per_s']:.1f} "
            f"| {m['read_errors']} | {_n(m['read_p50_ms'], 1)} | {_n(m['read_p99_ms'], 1)} "
            f"| {m['visible_n'] + m['visible_failed']} | {_n(m['visible_p50_ms'])} | {_n(m['visible_p99_ms'])} "
            f"| {m['visible_failed']} | {_n(m['answered_p50_ms'])} | {_n(m['answered_p99_ms'])} | {_n(m['lag_max'])} |"
        )
    lines += ["", "## Errors", ""]
    answers = summary["write_failure_answers"]
    lines += [
        f"- REST write {k}: {v}" + (f"; first answer: `{answers[k][0][:200]}`" if answers.get(k) else "")
        for k, v in summary["write_errors"].items()
    ] or ["- REST writes: none"]
    lines += [f"- GraphQL read, HTTP {k}: {v}" for k, v in summary["read_errors"].items()] or [
        "- GraphQL reads (HTTP): none"
    ]
    outcomes = summary["graphql_outcomes"]
    if outcomes:
        lines.append(
            "- the gateway's requests by outcome over the whole run (its /metrics): "
            + ", ".join(f"{k} {v:,.0f}" for k, v in outcomes.items())
        )
    if stages := summary["answered_by"]:
        lines.append(
            "- the gateway's requests answered 200 over the whole run, by what answered them (its access"
            " log; `cache` and `shared` executed nothing): "
            + ", ".join(f"{k} {v:,}" for k, v in stages.items())
        )
    if summary["probe_busy_answers"]:
        lines.append(
            f"- probe reads answered 429 or 503 (nothing ran), retried after `Retry-After`:"
            f" {summary['probe_busy_answers']:,}"
        )
    lines += [
        f"- probe not visible: {f['service']} at {f['t']} s: {f['detail'] or 'never projected'}"
        for f in summary["probe_failures"]
    ]
    lines += [f"- **{name} exited** with {code} during the run" for name, code in summary["exited"].items()]
    logs = summary["log_errors"]
    found = [
        f"- {name}.log, {n} error lines: `{kind}`"
        for name, kinds in logs.items()
        for kind, n in kinds.items()
    ]
    lines += found or ["- error lines or tracebacks in the processes' logs: none"]
    if plot_name:
        lines += ["", f"![RSS, lag, visibility and rates]({plot_name})"]
    return "\n".join(lines) + "\n"


def plot(raw: dict[str, Any], summary: dict[str, Any], path: Path) -> None:
    """A PNG: RSS per process, projector lag, write -> visible per minute, achieved rates per minute."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogFormatter

    fig, axes = plt.subplots(4, 1, figsize=(10, 13), sharex=True)
    rss_ax, lag_ax, vis_ax, rate_ax = axes
    for name in dict.fromkeys(s["proc"] for s in raw["rss"]):
        series = [s for s in raw["rss"] if s["proc"] == name]
        rss_ax.plot([s["t"] / 60 for s in series], [s["kb"] / 1024 for s in series], label=name)
    rss_ax.set_ylabel("RSS (MiB)")
    rss_ax.legend(fontsize=7, ncol=3)
    rss_ax.set_title("Memory per process (warm-up left of 0)")
    lag_ax.plot([s["t"] / 60 for s in raw["lag"]], [s["lag"] for s in raw["lag"]], color="tab:red")
    lag_ax.set_ylabel("records")
    lag_ax.set_title("Gateway projector lag (mpe_consumer_lag, summed)")
    minutes = [m["minute"] - 0.5 for m in summary["per_minute"]]
    for key, label in (
        ("visible_p50_ms", "projected p50"),
        ("visible_p99_ms", "projected p99"),
        ("answered_p50_ms", "GraphQL answered p50"),
        ("answered_p99_ms", "GraphQL answered p99"),
    ):
        vis_ax.plot(minutes, [m[key] for m in summary["per_minute"]], marker="o", label=label)
    vis_ax.set_ylabel("ms")
    vis_ax.set_yscale("log")
    # Plain numbers (30, 40 … or 10, 100, 1000), not 3×10¹: a run's spread may be narrower than
    # a decade, and then only the minor ticks carry labels.
    vis_ax.yaxis.set_major_formatter(LogFormatter(labelOnlyBase=False))
    vis_ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
    vis_ax.set_title("REST write -> visible in GraphQL, per minute")
    vis_ax.legend(fontsize=8)
    offered = summary["offered"]
    for key, label in (("writes_per_s", "REST writes/s"), ("reads_per_s", "GraphQL reads/s")):
        line = rate_ax.plot(minutes, [m[key] for m in summary["per_minute"]], marker="o", label=label)
        rate_ax.axhline(offered[key], linestyle="--", linewidth=0.8, color=line[0].get_color())
    rate_ax.set_ylabel("per second")
    rate_ax.set_title("Achieved rates per minute (dashed: offered)")
    rate_ax.legend(fontsize=8)
    rate_ax.set_xlabel("minutes from the end of the warm-up")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
