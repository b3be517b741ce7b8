"""`<service> dlq list|show|replay` and `<service> consumer reset`: the event tools of every service.

They work on the deployment the service's settings name (KAFKA_BOOTSTRAP, TOPIC_PREFIX and, for
a reset, DATABASE_URL, whose inbox belongs to the consumer groups of that service).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
import typer
from aiokafka.errors import KafkaError

from mpe_events.topics import TOPICS
from mpe_kit import dlq, replay
from mpe_kit.settings import ServiceSettings

T = TypeVar("T")
SEOUL = ZoneInfo("Asia/Seoul")

TopicOpt = Annotated[
    list[str] | None,
    typer.Option("--topic", help="A source topic (e.g. mpe.catalog.technology); repeatable. Default: all."),
]
ConsumerOpt = Annotated[
    str | None, typer.Option("--consumer", help="Only dead letters of this consumer group.")
]
ErrorOpt = Annotated[
    str | None, typer.Option("--error", help="Only dead letters whose error contains this text.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _run(work: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(work)
    except (dlq.UnknownDeadLetter, replay.ResetRefused, ValueError) as exc:
        _fail(str(exc))
    except (KafkaError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        _fail(f"cannot use Kafka or the database: {exc!r}")


def _dlq_topics(s: ServiceSettings, topics: list[str] | None) -> list[str]:
    unknown = [t for t in topics or () if t not in TOPICS]
    if unknown:
        raise typer.BadParameter(f"not topics of the registry: {', '.join(unknown)}", param_hint="--topic")
    return [f"{s.topic_prefix}{t}.dlq" for t in (topics or sorted(TOPICS))]


def _matching(letters: list[dlq.DeadLetter], consumer: str | None, error: str | None) -> list[dlq.DeadLetter]:
    return [
        d
        for d in letters
        if (consumer is None or d.header("dlq_consumer") == consumer) and (error is None or error in d.error)
    ]


def _text(raw: bytes | None) -> str:
    if raw is None:
        return "(none)"
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except ValueError:
        return raw.decode(errors="replace")


def dlq_cli(settings_factory: Callable[[], ServiceSettings]) -> typer.Typer:
    """The `dlq` command group."""
    cli = typer.Typer(help="Read and replay dead letters (<topic>.dlq).", no_args_is_help=True)

    @cli.command("list")
    def list_(
        topic: TopicOpt = None,
        consumer: ConsumerOpt = None,
        error: ErrorOpt = None,
        messages: Annotated[bool, typer.Option("--messages", help="Also list each dead letter.")] = False,
        as_json: AsJson = False,
    ) -> None:
        """Count dead letters per topic, consumer and error; optionally list them."""
        s = settings_factory()
        found = _matching(_run(dlq.read(s.kafka_client(), _dlq_topics(s, topic))), consumer, error)
        summary = dlq.counts(found)
        if as_json:
            body = {
                "counts": [{"topic": t, "consumer": c, "error": e, "count": n} for t, c, e, n in summary],
                "messages": [
                    {"ref": d.ref, "type": d.header("ce_type"), "id": d.header("ce_id"), "error": d.error}
                    for d in found
                ]
                if messages
                else [],
            }
            typer.echo(json.dumps(body, ensure_ascii=False))
            return
        if not found:
            typer.echo("no dead letters")
            return
        typer.echo(f"{len(found)} dead letter(s)")
        for t, c, e, n in summary:
            typer.echo(f"{n:>6}  {t}  {c}  {e}")
        if messages:
            for d in found:
                typer.echo(
                    f"{d.ref}  {d.timestamp:%Y-%m-%d %H:%M:%S}Z  {d.header('ce_type')}  {d.error[:120]}"
                )

    @cli.command()
    def show(
        ref: Annotated[
            str, typer.Argument(help="<dead-letter topic>:<partition>:<offset>, as `list --messages` shows.")
        ],
        as_json: AsJson = False,
    ) -> None:
        """Show one dead letter: its error, headers, key and value."""
        s = settings_factory()
        d = _run(dlq.find(s.kafka_client(), ref))
        if as_json:
            body = {
                "ref": d.ref,
                "timestamp": d.timestamp.isoformat(),
                "error": d.error,
                "headers": {k: v.decode(errors="replace") for k, v in d.headers},
                "key": d.key.decode(errors="replace") if d.key is not None else None,
                "value": d.value.decode(errors="replace") if d.value is not None else None,
            }
            typer.echo(json.dumps(body, ensure_ascii=False))
            return
        typer.echo(
            f"ref:       {d.ref}\ntimestamp: {d.timestamp.isoformat()}\nerror:     {d.error}\nheaders:"
        )
        for k, v in d.headers:
            typer.echo(f"  {k}: {v.decode(errors='replace')}")
        typer.echo(f"key:       {d.key.decode(errors='replace') if d.key is not None else '(none)'}")
        typer.echo(f"value:\n{_text(d.value)}")

    @cli.command("replay")
    def replay_(
        ref: Annotated[
            str | None, typer.Argument(help="One dead letter; or use --all.", show_default=False)
        ] = None,
        all_: Annotated[bool, typer.Option("--all", help="Every dead letter matching the filters.")] = False,
        topic: TopicOpt = None,
        consumer: ConsumerOpt = None,
        error: ErrorOpt = None,
        value_file: Annotated[
            Path | None,
            typer.Option(
                "--value-file", help="Send this file as the value instead (a fixed payload); one ref only."
            ),
        ] = None,
    ) -> None:
        """Send dead letters back to their source topic, marked as replays (same ce_id)."""
        if (ref is None) == (not all_):
            raise typer.BadParameter("name one dead letter or pass --all")
        if value_file is not None and ref is None:
            raise typer.BadParameter(
                "--value-file replaces one dead letter's value: name it", param_hint="--value-file"
            )
        s = settings_factory()
        value = value_file.read_bytes() if value_file is not None else None
        if value is not None:
            try:
                json.loads(value)
            except ValueError as exc:
                raise typer.BadParameter(f"not JSON: {exc}", param_hint="--value-file") from exc

        def progress(done: int, total: int) -> None:
            typer.echo(f"replayed {done}/{total}", err=True)

        async def work() -> dlq.ReplayReport:
            if ref is not None:
                letters = [await dlq.find(s.kafka_client(), ref)]
            else:
                letters = _matching(await dlq.read(s.kafka_client(), _dlq_topics(s, topic)), consumer, error)
            return await dlq.replay(s.kafka_client(), letters, value=value, progress=progress)

        report = _run(work())
        for d in report.superseded:
            typer.echo(f"skipped {d.ref}: its key has a later event in {d.source_topic} (superseded)")
        typer.echo(f"replayed {len(report.sent)} dead letter(s); skipped {len(report.superseded)} superseded")

    return cli


def parse_point(text: str) -> datetime | None:
    """`earliest` (None), a date (its midnight in Korea) or an ISO 8601 date-time (Korea if naive)."""
    if text == "earliest":
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), SEOUL)
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter("earliest, a date (2026-12-01) or a date-time", param_hint="--to") from exc
    return at if at.tzinfo is not None else at.replace(tzinfo=SEOUL)


def consumer_cli(
    settings_factory: Callable[[], ServiceSettings], groups: Callable[[], list[str]] = lambda: []
) -> typer.Typer:
    """The `consumer` command group; `groups` names the consumer groups this service runs."""
    cli = typer.Typer(help="Operate this service's consumer groups.", no_args_is_help=True)

    @cli.command()
    def reset(
        group: Annotated[
            str,
            typer.Option("--group", help="The consumer group (e.g. gateway-projector).", show_default=False),
        ],
        to: Annotated[
            str,
            typer.Option(
                "--to", help="earliest, a date (midnight in Korea) or a date-time.", show_default=False
            ),
        ],
        topic: TopicOpt = None,
    ) -> None:
        """Re-apply events: move the group's offsets and forget its inbox rows (group must be stopped)."""
        point = parse_point(to)
        ours = groups()
        if group not in ours:
            runs = f"runs {', '.join(ours)}" if ours else "runs no consumer group"
            raise typer.BadParameter(
                f"{group} is not a group of this service, which {runs}: reset a group with the"
                " service that runs it, whose database holds its inbox",
                param_hint="--group",
            )
        s = settings_factory()
        report = _run(
            replay.reset(
                bootstrap=s.kafka_client(),
                database_url=s.database_dsn(),
                group=group,
                to=point,
                prefix=s.topic_prefix,
                topics=topic or (),
            )
        )
        for tp, offset in sorted(report.offsets.items()):
            typer.echo(f"{tp.topic}:{tp.partition} -> {offset}")
        typer.echo(
            f"group {group} reset to {to}; {report.inbox_rows} inbox row(s) forgotten."
            " Start its consumers to re-apply the events."
        )

    return cli
