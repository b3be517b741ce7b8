"""`gateway migrate|serve|api|worker` and `gateway keys create|list|revoke`."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Annotated

import typer

from gateway import keys, repository
from gateway.app import spec
from gateway.settings import GatewaySettings
from mpe_kit import db
from mpe_kit.service import build_cli

keys_cli = typer.Typer(help="Manage partner API keys.", no_args_is_help=True)


async def _create(agency: str, scopes: list[str]) -> keys.IssuedKey:
    conn = await db.connect(GatewaySettings().database_url)
    try:
        return await keys.create(conn, agency=agency, scopes=scopes)
    finally:
        await conn.close()


@keys_cli.command("create")
def create(
    agency: Annotated[str, typer.Option(help="The partner agency's name.")],
    scopes: Annotated[str, typer.Option(help=f"Comma-separated: {', '.join(keys.SCOPES)}.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a key; its secret is shown once."""
    try:
        issued = asyncio.run(_create(agency, [s.strip() for s in scopes.split(",") if s.strip()]))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if as_json:
        typer.echo(
            json.dumps(
                {"id": str(issued.id), "agency": issued.agency, "scopes": issued.scopes, "key": issued.secret}
            )
        )
    else:
        typer.echo(f"id:     {issued.id}\nagency: {issued.agency}\nscopes: {','.join(issued.scopes)}")
        typer.echo(f"key:    {issued.secret}\n(the key is shown once; store it now)")


@keys_cli.command("list")
def list_keys() -> None:
    """List keys, without secrets."""

    async def run() -> None:
        conn = await db.connect(GatewaySettings().database_url)
        try:
            for r in await repository.list_keys(conn):
                state = f"revoked {r['revoked_at']:%Y-%m-%d}" if r["revoked_at"] else "active"
                typer.echo(f"{r['id']}  {r['agency']}  {','.join(r['scopes'])}  {state}")
        finally:
            await conn.close()

    asyncio.run(run())


@keys_cli.command("revoke")
def revoke(key_id: uuid.UUID) -> None:
    """Revoke a key."""

    async def run() -> bool:
        conn = await db.connect(GatewaySettings().database_url)
        try:
            return await repository.revoke_key(conn, key_id)
        finally:
            await conn.close()

    if not asyncio.run(run()):
        typer.echo(f"no active key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


def main() -> None:
    """Entry point of the `gateway` command."""
    cli = build_cli(spec(GatewaySettings()), GatewaySettings)
    cli.add_typer(keys_cli, name="keys")
    cli()
