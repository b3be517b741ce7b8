"""`budget migrate|serve|api|worker|token`."""

from __future__ import annotations

from budget.app import SPEC
from budget.settings import BudgetSettings
from mpe_kit.service import build_cli


def main() -> None:
    """Entry point of the `budget` command."""
    build_cli(SPEC, BudgetSettings)()
