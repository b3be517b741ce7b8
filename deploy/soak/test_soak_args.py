"""The soak's command line: gateway settings for one run reach the gateway's processes only."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # deploy/soak is no package: its modules by name

import soak


def test_gateway_settings_are_named_without_their_prefix_and_reach_the_gateway_only(tmp_path: Path) -> None:
    args = soak.parse_args(
        ["--gateway-setting", "MAX_IN_FLIGHT=0", "--gateway-setting", "RESPONSE_CACHE_SIZE=10"]
    )
    assert args.gateway_setting == {"MAX_IN_FLIGHT": "0", "RESPONSE_CACHE_SIZE": "10"}
    stack = soak.SoakStack(tmp_path, args.gateway_setting)
    gateway = stack.env("gateway")
    assert gateway["GATEWAY_MAX_IN_FLIGHT"] == "0"
    assert gateway["GATEWAY_RESPONSE_CACHE_SIZE"] == "10"
    assert "GATEWAY_MAX_IN_FLIGHT" not in stack.env("catalog")


@pytest.mark.parametrize("item", ["MAX_IN_FLIGHT", "max_in_flight=0", "GATEWAY MAX=1", "=1"])
def test_a_malformed_gateway_setting_is_refused(item: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        soak.parse_args(["--gateway-setting", item])
    assert exit_.value.code == 2
    assert "--gateway-setting takes NAME=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["GATEWAY_MAX_IN_FLIGHT", "MAX_IN_FLYING"])
def test_a_setting_the_gateway_does_not_have_is_refused(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The gateway would ignore it without a word, and the report would still name it."""
    with pytest.raises(SystemExit) as exit_:
        soak.parse_args(["--gateway-setting", f"{name}=0"])
    assert exit_.value.code == 2
    assert f"the gateway has no setting GATEWAY_{name}" in capsys.readouterr().err
