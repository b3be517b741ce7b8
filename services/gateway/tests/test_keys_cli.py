"""`gateway keys create|list|rotate|revoke`, run as the command line, on a real database."""

from __future__ import annotations

import asyncio
import json
import re
import unicodedata
import uuid
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from gateway.cli import build
from gateway.partners import keys
from mpe_devstack.ports import free_port
from mpe_kit import db


@pytest.fixture
def cli(gateway_db: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run `gateway …` against the test database, as the stack's GATEWAY_DATABASE_URL would."""
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gateway_db)
    runner = CliRunner()
    app = build()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return run


def plain(text: str) -> str:
    """Typer's error box as one line of words."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def live(dsn: str, secret: str) -> keys.Partner | None:
    async def check() -> keys.Partner | None:
        conn = await db.connect(dsn)
        try:
            return await keys.authenticate(conn, secret)
        finally:
            await conn.close()

    return asyncio.run(check())


def test_create_prints_the_key_once_as_json(cli: Any, gateway_db: str) -> None:
    r = cli("keys", "create", "--agency", "KEIT", "--scopes", "firms:read, catalog:read", "--json")
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert set(body) == {"id", "agency", "scopes", "key"}
    assert body["agency"] == "KEIT"
    assert body["scopes"] == ["catalog:read", "firms:read"]
    assert body["key"].startswith("mpe_")
    partner = live(gateway_db, body["key"])
    assert partner == keys.Partner(uuid.UUID(body["id"]), "KEIT", frozenset(body["scopes"]))
    listed = json.loads(cli("keys", "list", "--json").stdout)
    assert body["key"] not in json.dumps(listed)


def test_create_in_text_says_the_key_is_shown_once(cli: Any) -> None:
    r = cli("keys", "create", "--agency", "KIAT", "--scopes", "budget:read")
    assert r.exit_code == 0, r.output
    assert "key:    mpe_" in r.stdout
    assert "shown once" in r.stdout


@pytest.mark.parametrize(
    ("scopes", "message"),
    [
        ("catalog:read,firms:write", "unknown scope(s) firms:write; choose from catalog:read"),
        (" , ", "name at least one scope"),
    ],
)
def test_create_refuses_unknown_or_no_scopes(cli: Any, gateway_db: str, scopes: str, message: str) -> None:
    r = cli("keys", "create", "--agency", "KEIT", "--scopes", scopes)
    assert r.exit_code == 2
    assert f"Invalid value for --scopes: {message}" in plain(r.stderr)
    assert "Traceback" not in r.output
    assert json.loads(cli("keys", "list", "--json").stdout) == []


def test_list_shows_keys_and_their_status(cli: Any) -> None:
    a = json.loads(cli("keys", "create", "--agency", "KEIT", "--scopes", "catalog:read", "--json").stdout)
    b = json.loads(cli("keys", "create", "--agency", "KIAT", "--scopes", "budget:read", "--json").stdout)
    assert cli("keys", "revoke", a["id"]).exit_code == 0

    listed = json.loads(cli("keys", "list", "--json").stdout)
    assert [(k["id"], k["agency"], k["scopes"], k["status"]) for k in listed] == [
        (a["id"], "KEIT", ["catalog:read"], "revoked"),
        (b["id"], "KIAT", ["budget:read"], "active"),
    ]
    assert listed[0]["revoked_at"] is not None
    assert listed[1]["revoked_at"] is None
    assert [k["id"] for k in json.loads(cli("keys", "list", "--json", "--active").stdout)] == [b["id"]]

    text = cli("keys", "list").stdout.splitlines()
    assert text[0].split() == ["ID", "AGENCY", "SCOPES", "CREATED", "STATUS"]
    assert text[1].split()[:3] == [a["id"], "KEIT", "catalog:read"]
    assert "revoked 20" in text[1]
    assert text[2].split()[:3] == [b["id"], "KIAT", "budget:read"]
    assert text[2].endswith("active")


def test_list_lines_up_its_columns_with_korean_agency_names(cli: Any) -> None:
    # Found by a review: padding counted a Hangul syllable as one column; a terminal shows two.
    for agency in ("한국산업기술평가관리원", "KEIT", "한국산업기술진흥원(KIAT)"):
        assert cli("keys", "create", "--agency", agency, "--scopes", "catalog:read").exit_code == 0
    lines = cli("keys", "list").stdout.splitlines()
    scopes_at = {
        _columns_before(line, line.index("catalog:read" if n else "SCOPES")) for n, line in enumerate(lines)
    }
    assert len(scopes_at) == 1, lines


def _columns_before(line: str, index: int) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line[:index])


def test_rotate_keeps_the_key_and_replaces_its_secret(cli: Any, gateway_db: str) -> None:
    old = json.loads(
        cli("keys", "create", "--agency", "KEIT", "--scopes", "catalog:read,firms:read", "--json").stdout
    )
    r = cli("keys", "rotate", old["id"], "--json")
    assert r.exit_code == 0, r.output
    new = json.loads(r.stdout)
    assert set(new) == {"id", "agency", "scopes", "key"}
    assert (new["id"], new["agency"], new["scopes"]) == (old["id"], old["agency"], old["scopes"])
    assert new["key"] != old["key"]
    assert live(gateway_db, old["key"]) is None
    assert live(gateway_db, new["key"]) == keys.Partner(
        uuid.UUID(old["id"]), "KEIT", frozenset({"catalog:read", "firms:read"})
    )
    assert "shown once" in cli("keys", "rotate", old["id"]).stdout


def test_revoke_ends_a_key(cli: Any, gateway_db: str) -> None:
    key = json.loads(cli("keys", "create", "--agency", "KEIT", "--scopes", "catalog:read", "--json").stdout)
    r = cli("keys", "revoke", key["id"], "--json")
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert (body["id"], body["status"]) == (key["id"], "revoked")
    assert live(gateway_db, key["key"]) is None


def test_a_revoked_key_can_be_neither_revoked_nor_rotated(cli: Any) -> None:
    key = json.loads(cli("keys", "create", "--agency", "KEIT", "--scopes", "catalog:read", "--json").stdout)
    assert cli("keys", "revoke", key["id"]).exit_code == 0
    for command in ("revoke", "rotate"):
        r = cli("keys", command, key["id"])
        assert r.exit_code == 1
        assert f"error: key {key['id']} (KEIT) was revoked on 20" in r.stderr
        assert "Traceback" not in r.output


@pytest.mark.parametrize("command", ["revoke", "rotate"])
def test_an_unknown_id_is_a_clear_error(cli: Any, command: str) -> None:
    missing = uuid.uuid4()
    r = cli("keys", command, str(missing))
    assert r.exit_code == 1
    assert r.stderr.strip() == f"error: no key has the id {missing}"

    r = cli("keys", command, "not-a-uuid")
    assert r.exit_code == 2
    assert "Invalid value for 'key_id': Input should be a valid UUID" in plain(r.stderr)
    assert "Traceback" not in r.output


def test_an_unreachable_database_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/gateway")
    r = CliRunner().invoke(build(), ["keys", "list"])
    assert r.exit_code == 1
    assert r.stderr.startswith("error: cannot use the gateway's database (GATEWAY_DATABASE_URL)")
    assert "Traceback" not in r.output
