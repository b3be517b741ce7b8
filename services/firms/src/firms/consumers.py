"""The firms service's event handlers: its replica of the catalog's technology list."""

from __future__ import annotations

from collections.abc import Mapping

from mpe_kit.consumer import Handler
from mpe_replicas import technology

HANDLERS: Mapping[str, Handler] = {**technology.HANDLERS}
