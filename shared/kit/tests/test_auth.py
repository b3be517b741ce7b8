"""Staff tokens: HS256 with a secret, RS256/ES256 against an identity provider's JWKS, and the
audience and issuer both must name."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from mpe_kit import auth
from mpe_kit.auth import TokenVerifier, issue_token
from mpe_kit.errors import Problem
from mpe_kit.settings import ServiceSettings

AUDIENCE = "mpehub"
ISSUER = "https://idp.ministry.example/realms/staff"
SECRET = "a-test-secret-of-at-least-32-bytes!"

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _jwk(key: Any, kid: str, alg: str) -> dict[str, Any]:
    """The public half of `key` as a key set publishes it."""
    algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
    return {**algorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "alg": alg, "use": "sig"}


@contextlib.contextmanager
def _serving(status: int, body: bytes) -> Iterator[str]:
    """A URL on a local port that answers every GET with `status` and `body`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    """An identity provider's key set, served on a local port for the module."""
    body = json.dumps({"keys": [_jwk(RSA_KEY, "rsa-1", "RS256"), _jwk(EC_KEY, "ec-1", "ES256")]}).encode()
    with _serving(200, body) as url:
        yield url


def _signed(key: Any, kid: str, alg: str, **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": "kim", "roles": ["editor"], "iat": now, "exp": now + 600, "aud": AUDIENCE, "iss": ISSUER}
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, alg, headers={"kid": kid})


async def _refusal(verifier: TokenVerifier, token: str) -> Problem:
    with pytest.raises(Problem) as caught:
        await verifier.verify(token)
    return caught.value


async def test_a_provider_token_for_mpehub_is_accepted_with_rsa_and_ec_keys(jwks_url: str) -> None:
    verifier = TokenVerifier(jwks_url=jwks_url, audience=AUDIENCE, issuer=ISSUER)
    for key, kid, alg in ((RSA_KEY, "rsa-1", "RS256"), (EC_KEY, "ec-1", "ES256")):
        principal = await verifier.verify(_signed(key, kid, alg))
        assert principal.sub == "kim"
        assert principal.has("viewer")


async def test_a_list_of_audiences_that_names_mpehub_is_accepted(jwks_url: str) -> None:
    verifier = TokenVerifier(jwks_url=jwks_url, audience=AUDIENCE)
    token = _signed(RSA_KEY, "rsa-1", "RS256", aud=["account", AUDIENCE])
    assert (await verifier.verify(token)).sub == "kim"


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"aud": "another-app"}, "its audience (aud) must be 'mpehub'"),
        ({"aud": None}, '"aud"'),
        ({"iss": "https://elsewhere.example"}, f"issuer (iss) must be {ISSUER!r}"),
        ({"iss": None}, '"iss"'),
        ({"exp": int(time.time()) - 60}, "expired"),
    ],
    ids=["other-audience", "no-audience", "other-issuer", "no-issuer", "expired"],
)
async def test_a_provider_token_for_another_application_is_refused(
    jwks_url: str, claims: dict[str, Any], words: str
) -> None:
    verifier = TokenVerifier(jwks_url=jwks_url, audience=AUDIENCE, issuer=ISSUER)
    problem = await _refusal(verifier, _signed(RSA_KEY, "rsa-1", "RS256", **claims))
    assert problem.status == 401
    assert words in problem.detail
    assert problem.headers == {"WWW-Authenticate": 'Bearer realm="mpehub"'}


async def test_keys_and_algorithms_the_provider_does_not_publish_are_refused(jwks_url: str) -> None:
    verifier = TokenVerifier(jwks_url=jwks_url, audience=AUDIENCE)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # Signed by a key the set lacks, under a kid it has and under one it lacks.
    assert (await _refusal(verifier, _signed(stranger, "rsa-1", "RS256"))).status == 401
    assert (await _refusal(verifier, _signed(stranger, "rsa-9", "RS256"))).status == 401
    # An HMAC token under a published kid: only the provider's RS256 and ES256 are admitted.
    forged = _signed(SECRET, "rsa-1", "HS256")
    assert (await _refusal(verifier, forged)).status == 401


async def test_a_header_naming_another_algorithm_than_its_key_is_refused_not_a_500(jwks_url: str) -> None:
    # Found by a review: ES256 in the header under an RSA key's kid raised a TypeError (a 500).
    verifier = TokenVerifier(jwks_url=jwks_url, audience=AUDIENCE)
    for key, kid, alg in ((EC_KEY, "rsa-1", "ES256"), (RSA_KEY, "ec-1", "RS256")):
        assert (await _refusal(verifier, _signed(key, kid, alg))).status == 401


async def test_a_clock_a_few_seconds_ahead_at_the_provider_is_allowed() -> None:
    verifier = TokenVerifier(secret=SECRET)
    now = int(time.time())
    ahead = jwt.encode({"sub": "kim", "roles": [], "iat": now + 10, "exp": now + 600}, SECRET, "HS256")
    assert (await verifier.verify(ahead)).sub == "kim"
    far = jwt.encode({"sub": "kim", "roles": [], "iat": now + 600, "exp": now + 900}, SECRET, "HS256")
    assert (await _refusal(verifier, far)).status == 401


@pytest.mark.parametrize(
    ("status", "body"),
    [(200, b"<html>sign in</html>"), (200, b"[]"), (200, b'{"keys": []}'), (502, b"bad gateway")],
    ids=["html", "not-an-object", "no-keys", "502"],
)
async def test_a_key_set_that_cannot_be_read_answers_503(status: int, body: bytes) -> None:
    # Found by a review: a login page where the key set should be was a 500, an empty set a 401.
    with _serving(status, body) as url:
        verifier = TokenVerifier(jwks_url=url, audience=AUDIENCE)
        problem = await _refusal(verifier, _signed(RSA_KEY, "rsa-1", "RS256"))
    assert problem.status == 503


async def test_after_a_failed_fetch_requests_are_answered_at_once_for_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Found by a review: PyJWKClient fetches under a lock, so requests arriving while the
    # provider hangs waited one timeout each, one after the other.
    monkeypatch.setattr(auth, "JWKS_TIMEOUT_S", 0.5)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # accepts, never answers
        verifier = TokenVerifier(
            jwks_url=f"http://127.0.0.1:{silent.getsockname()[1]}/jwks", audience=AUDIENCE
        )
        token = _signed(RSA_KEY, "rsa-1", "RS256")
        assert (await _refusal(verifier, token)).status == 503  # waits the fetch's timeout
        started = time.monotonic()
        refusals = await asyncio.gather(*(_refusal(verifier, token) for _ in range(6)))
        assert [p.status for p in refusals] == [503] * 6
        assert time.monotonic() - started < 1


async def test_an_unreachable_provider_answers_503_not_401() -> None:
    verifier = TokenVerifier(jwks_url="http://127.0.0.1:9/jwks", audience=AUDIENCE)
    problem = await _refusal(verifier, _signed(RSA_KEY, "rsa-1", "RS256"))
    assert problem.status == 503
    assert problem.headers == {"Retry-After": "5"}
    assert "signing keys could not be fetched" in problem.detail


async def test_hs256_tokens_carry_and_must_match_the_configured_audience_and_issuer() -> None:
    verifier = TokenVerifier(secret=SECRET, audience=AUDIENCE, issuer=ISSUER)
    good = issue_token(SECRET, sub="lee", roles=["viewer"], audience=AUDIENCE, issuer=ISSUER)
    assert (await verifier.verify(good)).sub == "lee"
    assert jwt.decode(good, options={"verify_signature": False})["aud"] == AUDIENCE
    bare = issue_token(SECRET, sub="lee", roles=["viewer"])
    assert (await _refusal(verifier, bare)).status == 401
    # Without an audience configured, a token that names none is accepted, as before.
    assert (await TokenVerifier(secret=SECRET).verify(bare)).sub == "lee"


async def test_with_both_a_secret_and_a_provider_each_token_is_checked_by_its_own_key(jwks_url: str) -> None:
    verifier = TokenVerifier(secret=SECRET, jwks_url=jwks_url, audience=AUDIENCE)
    service = issue_token(SECRET, sub="svc-firms", roles=["viewer"], audience=AUDIENCE)
    assert (await verifier.verify(service)).sub == "svc-firms"
    assert (await verifier.verify(_signed(RSA_KEY, "rsa-1", "RS256"))).sub == "kim"
    # Found by a review: the secret would have minted editors beside the provider.
    editor = issue_token(SECRET, sub="anyone", roles=["editor"], audience=AUDIENCE)
    refused = await _refusal(verifier, editor)
    assert refused.status == 401
    assert "may only read" in refused.detail
    other_secret = issue_token(
        "another-secret-of-at-least-32-bytes", sub="x", roles=["editor"], audience=AUDIENCE
    )
    assert (await _refusal(verifier, other_secret)).status == 401
    assert (await _refusal(verifier, "not-a-token")).status == 401


class _Svc(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SVC_", extra="ignore")


def test_a_jwks_url_without_an_audience_is_refused_naming_both_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SVC_JWT_JWKS_URL", "https://idp.ministry.example/jwks")
    with pytest.raises(ValidationError) as caught:
        _Svc()
    assert "SVC_JWT_JWKS_URL is set but SVC_JWT_AUDIENCE is not" in str(caught.value)
    monkeypatch.setenv("SVC_JWT_AUDIENCE", AUDIENCE)
    assert _Svc().jwt_audience == AUDIENCE
    with pytest.raises(ValueError, match="needs an audience"):
        TokenVerifier(jwks_url="https://idp.ministry.example/jwks")
