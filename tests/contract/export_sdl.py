"""Write the gateway's GraphQL schema, as SDL, to services/gateway/schema.graphql: the partners' contract.

    uv run python tests/contract/export_sdl.py                   # rewrite the file
    uv run python tests/contract/export_sdl.py --check           # exit 1 if the file is out of date
    uv run python tests/contract/export_sdl.py --allow-breaking  # rewrite it despite breaking changes

A change that would break a partner's query (a field or type removed, a type changed, a new
required argument …) is refused unless `--allow-breaking` says it is meant: partners must be
told first. Additions and deprecations are never refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from graphql import build_schema
from graphql.utilities import find_breaking_changes, find_dangerous_changes

ROOT = Path(__file__).resolve().parents[2]
SDL_PATH = ROOT / "services" / "gateway" / "schema.graphql"
COMMAND = "uv run python tests/contract/export_sdl.py"


def current_sdl() -> str:
    """The SDL of the schema the gateway serves now; the same text for the same code."""
    from gateway.read.schema import schema  # imported here: `--help` needs no gateway

    return schema.as_str().rstrip("\n") + "\n"


def breaking_changes(old_sdl: str, new_sdl: str) -> list[str]:
    """Each change from `old_sdl` to `new_sdl` that can break a valid query, as `KIND: what`."""
    changes = find_breaking_changes(build_schema(old_sdl), build_schema(new_sdl))
    return [f"{c.type.name}: {c.description}" for c in changes]


def dangerous_changes(old_sdl: str, new_sdl: str) -> list[str]:
    """Changes that keep every query valid but may surprise a client (a new enum value, a new default …)."""
    changes = find_dangerous_changes(build_schema(old_sdl), build_schema(new_sdl))
    return [f"{c.type.name}: {c.description}" for c in changes]


def export(new: str, path: Path = SDL_PATH, *, allow_breaking: bool = False) -> list[str]:
    """Write the SDL `new` to `path`; return the breaking changes that stopped it (then nothing is written)."""
    if path.exists() and not allow_breaking:
        breaking = breaking_changes(path.read_text(encoding="utf-8"), new)
        if breaking:
            return breaking
    path.write_text(new, encoding="utf-8")
    return []


def main(argv: list[str] | None = None) -> int:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only check that the file is current")
    parser.add_argument("--allow-breaking", action="store_true", help="write even a breaking change")
    args = parser.parse_args(argv)
    rel = SDL_PATH.relative_to(ROOT)
    new = current_sdl()
    if args.check:
        if SDL_PATH.exists() and SDL_PATH.read_text(encoding="utf-8") == new:
            print(f"{rel} is current")
            return 0
        print(f"{rel} is out of date: run `{COMMAND}`", file=sys.stderr)
        return 1
    old = SDL_PATH.read_text(encoding="utf-8") if SDL_PATH.exists() else None
    breaking = export(new, allow_breaking=args.allow_breaking)
    if breaking:
        print(f"refused: these changes break partners' queries ({rel} left as it was):", file=sys.stderr)
        for line in breaking:
            print(f"  {line}", file=sys.stderr)
        print("deprecate instead (@deprecated), or pass --allow-breaking once partners know", file=sys.stderr)
        return 1
    if old is not None:
        for line in dangerous_changes(old, new):
            print(f"note, tell partners: {line}")
    print(f"wrote {rel}" if old != new else f"{rel} unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
