"""What the soak reads from the processes' logs after the run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # deploy/soak is no package: its modules by name

import soak


def test_reads_are_counted_by_the_stage_that_answered_them(tmp_path: Path) -> None:
    def request(status: int, answered_by: str, outcome: str = "ok") -> str:
        return json.dumps(
            {"event": "graphql request", "status": status, "answered_by": answered_by, "outcome": outcome}
        )

    log = tmp_path / "gateway.log"
    log.write_text(
        "\n".join(
            [
                request(200, "compiled"),
                request(200, "shared"),
                request(200, "shared"),
                request(200, "cache"),
                request(503, "strawberry", "busy"),  # refused by the in-flight cap: nothing answered it
                request(200, "strawberry", "rejected"),  # WRITE_NOT_YET_VISIBLE, before any stage
                json.dumps({"event": "change hub listening", "watermark": 3}),
                "uvicorn: not a JSON line",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    assert soak.answered_by(log) == {"shared": 2, "compiled": 1, "cache": 1}
    assert soak.answered_by(tmp_path / "missing.log") == {}
