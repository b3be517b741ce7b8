"""The service command line an operator types: clear refusals, exit codes, no tracebacks."""

from __future__ import annotations

import jwt
import pytest
from typer.testing import CliRunner

from catalog.app import SPEC
from catalog.settings import CatalogSettings
from mpe_kit import service
from mpe_kit.service import build_cli

pytestmark = pytest.mark.unit

SECRET = "a-test-secret-of-at-least-32-bytes!!"


def run(*args: str) -> tuple[int, str]:
    cli = build_cli(SPEC, lambda: CatalogSettings(jwt_secret=SECRET))
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_a_token_is_issued_for_known_roles() -> None:
    code, out = run("token", "--sub", "alice", "--role", "editor", "--ttl", "60")
    assert code == 0, out
    claims = jwt.decode(
        out.strip(), SECRET, algorithms=["HS256"], audience=None, options={"verify_aud": False}
    )
    assert (claims["sub"], claims["roles"], claims["exp"] - claims["iat"]) == ("alice", ["editor"], 60)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--role", "admin"], "--role"),  # found by a review: a traceback (ValueError)
        (["--ttl", "-100"], "--ttl"),  # found by a review: an already expired token, exit 0
        (["--ttl", "0"], "--ttl"),
    ],
)
def test_a_bad_token_request_is_refused_with_its_option_named(args: list[str], named: str) -> None:
    code, out = run("token", "--sub", "alice", *args)
    assert code == 2, out
    assert named in out
    assert "Traceback" not in out


@pytest.mark.parametrize("secret", [None, ""])
def test_a_token_without_a_secret_names_the_setting_as_it_is_set(secret: str | None) -> None:
    # Found by a review: it said "JWT_SECRET", and the variable an operator sets is
    # CATALOG_JWT_SECRET; an empty one printed a traceback (HMAC key must not be empty).
    cli = build_cli(SPEC, lambda: CatalogSettings(jwt_secret=secret))
    result = CliRunner().invoke(cli, ["token", "--sub", "alice"])
    assert result.exit_code == 2, result.output
    assert "set CATALOG_JWT_SECRET first" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_with_a_provider_only_read_through_tokens_are_issued_with_its_audience() -> None:
    # Found by a review: beside a JWKS URL, the secret would still have minted editor tokens.
    settings = CatalogSettings(
        jwt_secret=SECRET,
        jwt_jwks_url="https://idp.example/jwks",
        jwt_audience="mpehub",
        jwt_issuer="https://idp.example",
    )
    cli = build_cli(SPEC, lambda: settings)
    refused = CliRunner().invoke(cli, ["token", "--sub", "alice", "--role", "editor"])
    assert refused.exit_code == 2, refused.output
    assert "read-through tokens only" in refused.output
    issued = CliRunner().invoke(cli, ["token", "--sub", "svc-firms", "--role", "viewer"])
    assert issued.exit_code == 0, issued.output
    claims = jwt.decode(issued.output.strip(), SECRET, algorithms=["HS256"], audience="mpehub")
    assert (claims["roles"], claims["iss"]) == (["viewer"], "https://idp.example")


def test_a_service_without_consumers_resets_no_group() -> None:
    # Found by a review: a reset run from another service's command moved the offsets but
    # forgot no inbox row (they live in the consumer's own database), so nothing re-applied.
    code, out = run("consumer", "reset", "--group", "gateway-projector", "--to", "earliest")
    assert code == 2, out
    assert "runs no consumer group" in out


def test_migrate_against_an_unreachable_database_says_so_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Found by a review: a 184-line traceback for a wrong DSN.
    # The command sets up logging to its stdout, which CliRunner closes; keep the suite's.
    monkeypatch.setattr(service, "configure_logging", lambda **_: None)
    cli = build_cli(SPEC, lambda: CatalogSettings(database_url="postgresql://x@127.0.0.1:1/x"))
    result = CliRunner().invoke(cli, ["migrate"])
    assert result.exit_code == 1, result.output
    assert "error: cannot migrate catalog's database" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
