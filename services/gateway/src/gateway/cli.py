"""`gateway migrate|serve|api|worker|token|rebuild|check` and `gateway keys create|list|revoke|rotate`.

The `keys` commands work on the database of GATEWAY_DATABASE_URL, the running stack's.
"""

from __future__ import annotations

import asyncio
import json
import unicodedata
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, NoReturn, TypeVar

import asyncpg
import typer
from aiokafka.errors import KafkaError

from gateway import store
from gateway.app import spec
from gateway.partners import keys
from gateway.settings import GatewaySettings
from mpe_kit import db
from mpe_kit.db import Conn
from mpe_kit.service import build_cli

T = TypeVar("T")

keys_cli = typer.Typer(
    help="Manage partner API keys in the gateway's database (GATEWAY_DATABASE_URL).", no_args_is_help=True
)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
KeyId = Annotated[
    uuid.UUID, typer.Argument(help="The key's id, as `keys list` shows it.", show_default=False)
]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _run(work: Callable[[Conn], Awaitable[T]]) -> T:
    """Run a use case on a connection to the gateway's database; a failure ends with a message."""

    async def run() -> T:
        conn = await db.connect(GatewaySettings().database_dsn())
        try:
            return await work(conn)
        finally:
            await conn.close()

    try:
        return asyncio.run(run())
    except keys.UnknownKey as exc:
        _fail(str(exc))
    except asyncpg.UndefinedTableError:
        _fail("the gateway's database has no api_keys table yet; run `gateway migrate` first")
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        _fail(f"cannot use the gateway's database (GATEWAY_DATABASE_URL): {exc}")


def _when(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S %Z}".strip()


def _print_issued(issued: keys.IssuedKey, *, as_json: bool, note: str) -> None:
    if as_json:
        body = {"id": str(issued.id), "agency": issued.agency, "scopes": issued.scopes, "key": issued.secret}
        typer.echo(json.dumps(body, ensure_ascii=False))
        return
    typer.echo(f"id:     {issued.id}\nagency: {issued.agency}\nscopes: {','.join(issued.scopes)}")
    typer.echo(f"key:    {issued.secret}\n({note})")


def _info_json(k: keys.KeyInfo) -> dict[str, Any]:
    return {
        "id": str(k.id),
        "agency": k.agency,
        "scopes": k.scopes,
        "created_at": k.created_at.isoformat(),
        "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
        "status": "revoked" if k.revoked_at else "active",
    }


@keys_cli.command("create")
def create(
    agency: Annotated[str, typer.Option(help="The partner agency's name.", show_default=False)],
    scopes: Annotated[
        str, typer.Option(help=f"Comma-separated, of: {', '.join(keys.SCOPES)}.", show_default=False)
    ],
    as_json: AsJson = False,
) -> None:
    """Create a key; its secret is shown once."""
    try:
        wanted = keys.parse_scopes(scopes)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scopes") from exc
    if not agency.strip():
        raise typer.BadParameter("name the agency", param_hint="--agency")
    issued = _run(lambda conn: keys.create(conn, agency=agency, scopes=wanted))
    _print_issued(issued, as_json=as_json, note="the key is shown once; store it now")


@keys_cli.command("rotate")
def rotate(key_id: KeyId, as_json: AsJson = False) -> None:
    """Give a live key a new secret (same id, agency and scopes); the old secret stops working."""
    issued = _run(lambda conn: keys.rotate(conn, key_id))
    _print_issued(
        issued,
        as_json=as_json,
        note="the key is shown once; store it now. The previous one is refused from now on"
        " (within a second by running gateways)",
    )


@keys_cli.command("revoke")
def revoke(key_id: KeyId, as_json: AsJson = False) -> None:
    """Revoke a live key; it is refused from now on (within a second by running gateways)."""
    info = _run(lambda conn: keys.revoke(conn, key_id))
    if as_json:
        typer.echo(json.dumps(_info_json(info), ensure_ascii=False))
    else:
        typer.echo(f"revoked {info.id} ({info.agency})")


@keys_cli.command("list")
def list_keys(
    as_json: AsJson = False,
    active: Annotated[bool, typer.Option("--active", help="Only keys not revoked.")] = False,
) -> None:
    """List keys, oldest first, without secrets."""
    found = [k for k in _run(keys.list_keys) if not (active and k.revoked_at)]
    if as_json:
        typer.echo(json.dumps([_info_json(k) for k in found], ensure_ascii=False))
        return
    if not found:
        typer.echo("no keys")
        return
    rows = [("ID", "AGENCY", "SCOPES", "CREATED", "STATUS")] + [
        (
            str(k.id),
            k.agency,
            ",".join(k.scopes),
            _when(k.created_at),
            f"revoked {_when(k.revoked_at)}" if k.revoked_at else "active",
        )
        for k in found
    ]
    widths = [max(_width(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        typer.echo(
            "  ".join(c + " " * (w - _width(c)) for c, w in zip(r, widths, strict=False)) + "  " + r[4]
        )


def _width(text: str) -> int:
    """Columns a terminal gives the text: two for each wide character (Hangul, CJK), one otherwise."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def rebuild_command(
    switch: Annotated[
        bool,
        typer.Option(
            "--switch/--no-switch",
            help="Switch readers to the new model when it is complete (--no-switch: build it and leave it).",
        ),
    ] = True,
) -> None:
    """Build a fresh read model from offset 0 of every topic in a new schema, then switch readers to it."""
    from gateway.projector.rebuild import RebuildError
    from gateway.projector.rebuild_cli import run_rebuild

    try:
        run_rebuild(GatewaySettings(), switch=switch)
    except RebuildError as exc:
        _fail(f"{exc} (readers still use the old read model)")
    except (KafkaError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        _fail(f"cannot rebuild: {exc!r} (readers still use the old read model)")


def check_command() -> None:
    """Compare the tables the read model keeps from its rows (links and sums) with a recomputation,
    and the cost limit's assumed list sizes with the largest lists held; exit 1 if either differs."""

    async def drift(conn: Conn) -> tuple[list[asyncpg.Record], list[tuple[store.assumed.Assumed, int]]]:
        try:
            return await store.projection.drift(conn), await store.assumed.outgrown(conn)
        except asyncpg.UndefinedFunctionError:
            _fail("the gateway's database has no read_model_drift() yet; run `gateway migrate` first")

    rows, outgrown = _run(drift)
    if rows:
        for r in rows:
            side = "kept, not in the rows" if r["found_in"] == "kept" else "in the rows, not kept"
            typer.echo(f"{r['kept_table']}: {side}: {r['row_value']}")
    else:
        typer.echo(f"the kept tables agree with the rows: {', '.join(store.projection.KEPT_TABLES)}")
    for figure, size in outgrown:
        typer.echo(
            f"{figure.lists}: a list of {size} in the read model, where the cost limit counts"
            f" {figure.figure} ({figure.name} in gateway/read/describe.py)"
        )
    if not outgrown:
        typer.echo("the cost limit's assumed list sizes hold: no list in the read model is larger")
    if rows:
        _fail(
            f"{len(rows)} rows differ between the kept tables and the rows;"
            " `gateway rebuild` builds a fresh read model from the topics"
        )
    if outgrown:
        _fail(
            f"{len(outgrown)} of the cost limit's assumed list sizes are smaller than the data: it counts"
            " queries over those lists too cheap until the figures are raised in a release"
        )


def build() -> typer.Typer:
    """The `gateway` command: the kit's service commands, `rebuild`, `check` and `keys`."""
    cli = build_cli(spec(GatewaySettings()), GatewaySettings)
    cli.command("rebuild")(rebuild_command)
    cli.command("check")(check_command)
    cli.add_typer(keys_cli, name="keys")
    return cli


def main() -> None:
    """Entry point of the `gateway` command."""
    build()()
