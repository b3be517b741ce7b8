"""`catalog migrate|serve|api|worker|token`."""

from __future__ import annotations

from catalog.app import SPEC
from catalog.settings import CatalogSettings
from mpe_kit.service import build_cli


def main() -> None:
    """Entry point of the `catalog` command."""
    build_cli(SPEC, CatalogSettings)()
