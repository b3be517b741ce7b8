"""`mpe-events schemas`: write the JSON Schemas, refusing incompatible changes."""

from __future__ import annotations

import argparse
import json
import sys

from mpe_events import schemas


def main(argv: list[str] | None = None) -> int:
    """Write or check the committed JSON Schemas."""
    parser = argparse.ArgumentParser(prog="mpe-events", description=__doc__)
    parser.add_argument("command", choices=["schemas"])
    parser.add_argument("--check", action="store_true", help="only report; write nothing")
    args = parser.parse_args(argv)
    if not args.check:
        schemas.SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    failed = False
    generated = schemas.generate()
    for event_type, schema in generated.items():
        path = schemas.path_for(event_type)
        text = schemas.dump(schema)
        if path.exists():
            problems = schemas.incompatibilities(json.loads(path.read_text()), schema)
            if problems:
                failed = True
                print(f"{event_type}: incompatible with the published schema; publish a new version:")
                for p in problems:
                    print(f"  {p}")
                continue
            if path.read_text() == text:
                continue
        if args.check:
            failed = True
            print(f"{event_type}: schema file is out of date; run `make schemas`")
        else:
            path.write_text(text)
            print(f"wrote {path}")
    expected = {schemas.path_for(t) for t in generated}
    for path in sorted(schemas.SCHEMA_DIR.glob("*.json")):
        if path not in expected:
            # Never deleted here: removing a published schema is a decision about the contract.
            failed = True
            print(f"{path.name}: no event model generates this schema; restore the model or remove the file")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
