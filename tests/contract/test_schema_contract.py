"""The committed SDL (services/gateway/schema.graphql) is the partners' contract.

First: does the schema the gateway serves now break a query that was valid against the
committed SDL? Additive changes and deprecations pass. Then: is the committed SDL current?
That one only asks for a re-export.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from .export_sdl import COMMAND, SDL_PATH, breaking_changes, current_sdl, dangerous_changes, export

pytestmark = pytest.mark.unit


def test_the_schema_served_now_breaks_no_query_valid_against_the_committed_sdl() -> None:
    breaking = breaking_changes(SDL_PATH.read_text(encoding="utf-8"), current_sdl())
    if breaking:
        pytest.fail(
            "The gateway's schema breaks partners' queries against services/gateway/schema.graphql:\n  "
            + "\n  ".join(breaking)
            + "\nDeprecate instead (@deprecated(reason: ...)); if the break is agreed with partners,"
            f" run `{COMMAND} --allow-breaking`.",
            pytrace=False,
        )


def test_the_committed_sdl_is_the_schema_served_now() -> None:
    committed = SDL_PATH.read_text(encoding="utf-8")
    now = current_sdl()
    if committed != now:
        diff = list(
            difflib.unified_diff(
                committed.splitlines(), now.splitlines(), "committed", "served now", lineterm="", n=1
            )
        )
        pytest.fail(
            f"services/gateway/schema.graphql is out of date: run `{COMMAND}`\n" + "\n".join(diff[:60]),
            pytrace=False,
        )


def test_the_export_is_deterministic() -> None:
    assert current_sdl() == current_sdl()
    assert current_sdl().endswith("\n")
    assert not current_sdl().endswith("\n\n")


OLD = """
type Query {
  firm(brn: String!): Firm
  firms(first: Int! = 20): [Firm!]!
}

type Firm {
  brn: String!
  nameEn: String!
  size: FirmSize!
  region: String
}

enum FirmSize {
  LARGE
  SME
}
"""


def _changed(old: str, new: str) -> str:
    changed = OLD.replace(old, new)
    assert changed != OLD, f"{old!r} is not in the SDL"
    return changed


@pytest.mark.parametrize(
    ("new", "kind", "names"),
    [
        pytest.param(
            _changed("  region: String\n", ""), "FIELD_REMOVED", ["Firm.region"], id="removed-field"
        ),
        pytest.param(
            _changed("  brn: String!", "  brn: Int!"),
            "FIELD_CHANGED_KIND",
            ["Firm.brn", "String!", "Int!"],
            id="changed-type",
        ),
        pytest.param(
            _changed("nameEn: String!", "nameEn: String"),
            "FIELD_CHANGED_KIND",
            ["Firm.nameEn", "String!"],
            id="made-nullable",
        ),
        pytest.param(
            _changed("firms(first: Int! = 20)", "firms(first: Int! = 20, region: String!)"),
            "REQUIRED_ARG_ADDED",
            ["Query.firms", "region"],
            id="new-required-argument",
        ),
        pytest.param(
            _changed("  SME\n", ""), "VALUE_REMOVED_FROM_ENUM", ["SME", "FirmSize"], id="enum-value"
        ),
    ],
)
def test_a_breaking_change_is_named(new: str, kind: str, names: list[str]) -> None:
    (change,) = breaking_changes(OLD, new)
    assert change.startswith(f"{kind}: ")
    for name in names:
        assert name in change


def test_every_breaking_change_is_named_at_once() -> None:
    new = (
        _changed("  region: String\n", "")
        .replace("  brn: String!", "  brn: Int!")
        .replace("firms(first: Int! = 20)", "firms(first: Int! = 20, region: String!)")
    )
    kinds = sorted(line.split(":")[0] for line in breaking_changes(OLD, new))
    assert kinds == ["FIELD_CHANGED_KIND", "FIELD_REMOVED", "REQUIRED_ARG_ADDED"]


@pytest.mark.parametrize(
    "new",
    [
        pytest.param(
            _changed("  region: String\n", "  region: String\n  website: String\n"), id="added-field"
        ),
        pytest.param(
            _changed("firms(first: Int! = 20)", "firms(first: Int! = 20, region: String)"),
            id="added-optional-arg",
        ),
        pytest.param(
            _changed("  region: String\n", '  region: String @deprecated(reason: "Use address.")\n'),
            id="deprecated-field",
        ),
        pytest.param(_changed("  SME\n", "  SME\n  MID\n"), id="added-enum-value"),
        pytest.param(OLD, id="unchanged"),
        pytest.param(OLD + "\ntype Theme {\n  code: String!\n}\n", id="added-type"),
    ],
)
def test_an_additive_change_or_a_deprecation_passes(new: str) -> None:
    assert breaking_changes(OLD, new) == []


def test_a_dangerous_change_is_reported_but_is_no_failure() -> None:
    new = _changed("  SME\n", "  SME\n  MID\n")
    assert breaking_changes(OLD, new) == []
    (change,) = dangerous_changes(OLD, new)
    assert change.startswith("VALUE_ADDED_TO_ENUM: ")
    assert "MID" in change


def test_the_export_refuses_a_breaking_change_unless_allowed(tmp_path: Path) -> None:
    committed = tmp_path / "schema.graphql"
    committed.write_text(OLD)
    new = _changed("  region: String\n", "")
    (refused,) = export(new, committed)
    assert refused.startswith("FIELD_REMOVED: ")
    assert "Firm.region" in refused
    assert committed.read_text() == OLD
    assert export(new, committed, allow_breaking=True) == []
    assert committed.read_text() == new
    assert export(_changed("  SME\n", "  SME\n  MID\n"), committed) == []
