"""`mpe-events schemas|asyncapi`: write the JSON Schemas (refusing breaking changes) or the AsyncAPI document."""

from __future__ import annotations

import argparse
import sys

from mpe_events import asyncapi, schemas


def _schemas(check_only: bool) -> int:
    report = schemas.sync(schemas.generate(), write=not check_only)
    for event_type, problems in report.refused.items():
        print(
            f"{event_type}: breaks a published version; publish the change as a new event type"
            " (`.v<N+1>`) instead:"
        )
        for p in problems:
            print(f"  {p}")
    for event_type in report.stale:
        print(f"{event_type}: schema file is out of date; run `make schemas`")
    for path in report.written:
        print(f"wrote {path}")
    expected = {schemas.path_for(t) for t in schemas.generate()}
    orphans = [p for p in sorted(schemas.SCHEMA_DIR.glob("*.json")) if p not in expected]
    for path in orphans:
        # Never deleted here: removing a published schema is a decision about the contract.
        print(f"{path.name}: no event model generates this schema; restore the model or remove the file")
    return 1 if report.refused or report.stale or orphans else 0


def _asyncapi(check_only: bool) -> int:
    text = asyncapi.dump(asyncapi.generate())
    current = asyncapi.DOC_PATH.read_text() if asyncapi.DOC_PATH.exists() else None
    if current == text:
        return 0
    if check_only:
        print(f"{asyncapi.DOC_PATH} is out of date; run `make asyncapi`")
        return 1
    asyncapi.DOC_PATH.write_text(text)
    print(f"wrote {asyncapi.DOC_PATH}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Write or check the committed JSON Schemas or the AsyncAPI document."""
    parser = argparse.ArgumentParser(prog="mpe-events", description=__doc__)
    parser.add_argument("command", choices=["schemas", "asyncapi"])
    parser.add_argument("--check", action="store_true", help="only report; write nothing")
    args = parser.parse_args(argv)
    if args.command == "schemas":
        return _schemas(args.check)
    return _asyncapi(args.check)


if __name__ == "__main__":
    sys.exit(main())
