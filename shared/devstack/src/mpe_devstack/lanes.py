"""The unit lane (`make test-unit`): tests that need neither Postgres nor Kafka.

`make test-unit` sets MPE_TEST_LANE=unit. In that lane no server starts, whatever a test does:
a test that needs one fails loudly instead of quietly making the quick lane slow.
"""

from __future__ import annotations

import os

LANE_ENV = "MPE_TEST_LANE"


def refuse_servers_in_unit_lane(server: str) -> None:
    """Raise if this process runs the unit lane, where `server` must not start."""
    if os.environ.get(LANE_ENV) == "unit":
        raise RuntimeError(
            f"{server} does not start in the unit lane (make test-unit): a test that needs it"
            " is an integration test; remove its `unit` marker"
        )
