"""The terminal side of `gateway rebuild`: a progress bar, then what was done."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from gateway.projector import rebuild as rb
from gateway.settings import GatewaySettings
from mpe_kit.service import event_loop


def run_rebuild(settings: GatewaySettings, *, switch: bool) -> rb.RebuildResult:
    """Run a rebuild against the settings' database and Kafka, drawing its progress."""
    console = Console(stderr=True)
    bar = Progress(
        TextColumn("rebuilding the read model"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8,.0f} events/s"),
        TimeRemainingColumn(),
        console=console,
    )

    with bar:
        task = bar.add_task("replay", total=None, rate=0.0)

        def show(p: rb.Progress) -> None:
            elapsed = bar.tasks[task].elapsed or 0.0
            bar.update(
                task, total=p.total or None, completed=p.read, rate=p.read / elapsed if elapsed else 0.0
            )

        with event_loop() as runner:
            result = runner.run(
                rb.rebuild(
                    dsn=settings.database_dsn(),
                    bootstrap=settings.kafka_client(),
                    prefix=settings.topic_prefix,
                    consumer_name=settings.projector_group,
                    runtime_role=settings.database_runtime_role,
                    switch_readers=switch,
                    on_progress=show,
                )
            )
    p = result.progress
    console.print(
        f"{p.read:,} events read in {p.seconds:.1f}s ({p.rate:,.0f}/s): {p.applied:,} applied,"
        f" {p.skipped:,} duplicates, {p.unreadable:,} unreadable"
    )
    if result.replaced is None:
        console.print(f"built in schema {result.built}; readers were not switched")
    else:
        console.print(
            f"readers now use the new model (schema public); the old one is schema {result.replaced}."
            f" Drop it when done: drop schema {result.replaced} cascade"
        )
    return result
