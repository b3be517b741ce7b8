"""`firms migrate|serve|api|worker|token`."""

from __future__ import annotations

from firms.app import SPEC
from firms.settings import FirmsSettings
from mpe_kit.service import build_cli


def main() -> None:
    """Entry point of the `firms` command."""
    build_cli(SPEC, FirmsSettings)()
