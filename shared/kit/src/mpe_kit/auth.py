"""Staff authentication: JWT bearer tokens with `sub`, `roles` and `exp`.

HS256 with a configured secret (dev), or RS/ES tokens verified against a JWKS URL
(production). `editor` implies `viewer`. With an audience (`JWT_AUDIENCE`, required beside a
JWKS URL) or an issuer (`JWT_ISSUER`) configured, a token must carry the same `aud` or `iss`:
an identity provider signs tokens for many applications with one key set.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mpe_kit.errors import Problem

ROLES = ("viewer", "editor")
# What a token signed with the services' secret may hold beside an identity provider: the
# read-through tokens only read.
SECRET_ROLES_BESIDE_A_PROVIDER = frozenset({"viewer"})
_IMPLIES = {"editor": {"editor", "viewer"}, "viewer": {"viewer"}}


@dataclass(frozen=True)
class Principal:
    """Who is calling and what they may do."""

    sub: str
    roles: frozenset[str]

    def has(self, role: str) -> bool:
        """True if any held role grants `role`."""
        return any(role in _IMPLIES.get(r, set()) for r in self.roles)


def issue_token(
    secret: str,
    *,
    sub: str,
    roles: Sequence[str],
    ttl_s: int = 3600,
    audience: str | None = None,
    issuer: str | None = None,
) -> str:
    """An HS256 staff token, naming `audience` and `issuer` when they are given."""
    bad = set(roles) - set(ROLES)
    if bad:
        raise ValueError(f"unknown roles {sorted(bad)}; use {', '.join(ROLES)}")
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "roles": list(roles), "iat": now, "exp": now + ttl_s}
    if audience:
        claims["aud"] = audience
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, "HS256")


# Seconds to wait for the identity provider's key set, and then to answer 503 at once before
# trying again (PyJWKClient fetches under a lock: without the pause, requests arriving while the
# provider hangs would each wait their turn for a timeout of their own).
JWKS_TIMEOUT_S = 5
JWKS_BACKOFF_S = 5
# Seconds of clock difference allowed with whoever issued a token (its iat, nbf and exp).
LEEWAY_S = 30


class _ProviderKeys(jwt.PyJWKClient):
    """The identity provider's key set, kept 300 s (PyJWKClient's own cache; a key the provider
    drops stops verifying within that), failing fast for `JWKS_BACKOFF_S` after a failed fetch.
    An answer that is not a JSON object counts as a failed fetch, not as a bad token."""

    def __init__(self, url: str) -> None:
        super().__init__(url, cache_keys=False, timeout=JWKS_TIMEOUT_S)
        self._down_until = 0.0

    def fetch_data(self) -> Any:
        if time.monotonic() < self._down_until:
            raise jwt.PyJWKClientConnectionError("the key set could not be fetched a moment ago")
        try:
            data = super().fetch_data()
        except (jwt.PyJWKClientError, ValueError) as exc:  # the connection's errors among them
            self._down_until = time.monotonic() + JWKS_BACKOFF_S
            raise jwt.PyJWKClientConnectionError(f"the key set could not be read: {exc}") from exc
        return data


class TokenVerifier:
    """Checks bearer tokens against a shared secret, a JWKS endpoint, or both: then an HS256
    token is checked against the secret and may only read (the services' read-through tokens),
    and any other against the key set, where staff tokens come from."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        jwks_url: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
    ) -> None:
        if not secret and not jwks_url:
            raise ValueError("configure a JWT secret or a JWKS URL")
        if jwks_url and not audience:
            raise ValueError(
                "a JWKS URL needs an audience: the provider's key set signs other applications' tokens too"
            )
        self._secret = secret
        self._jwks = _ProviderKeys(jwks_url) if jwks_url else None
        self._audience = audience or None
        self._issuer = issuer or None
        required = ["sub", "exp"] + (["aud"] if self._audience else []) + (["iss"] if self._issuer else [])
        self._options = {"require": required}

    def _decode(self, token: str) -> tuple[dict[str, Any], bool]:
        """The token's claims, and whether the secret (not the provider) vouched for them."""
        # Each key admits only its own algorithms. A key of the set is passed as the set's
        # PyJWK, which refuses a token whose header names another algorithm than the key's.
        key: str | jwt.PyJWK
        by_secret = bool(self._secret) and (
            self._jwks is None or jwt.get_unverified_header(token).get("alg") == "HS256"
        )
        if by_secret:
            assert self._secret is not None
            key, algorithms = self._secret, ["HS256"]
        else:
            assert self._jwks is not None
            key, algorithms = self._jwks.get_signing_key_from_jwt(token), ["RS256", "ES256"]
        claims = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=self._audience,
            issuer=self._issuer,
            leeway=LEEWAY_S,
            options=self._options,  # type: ignore[arg-type]
        )
        return claims, by_secret

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; a 401 Problem otherwise (a 503 while the key set
        cannot be fetched: the token may well be good)."""
        try:
            claims, by_secret = (
                await run_in_threadpool(self._decode, token) if self._jwks else self._decode(token)
            )
        except jwt.ExpiredSignatureError as exc:
            raise _unauthorized("The token has expired.", "토큰이 만료되었습니다.") from exc
        except (jwt.PyJWKClientConnectionError, jwt.PyJWKSetError) as exc:
            raise Problem(
                "The identity provider's signing keys could not be fetched to check the token; "
                "try again shortly.",
                ko="토큰을 확인할 인증 제공자(IdP)의 서명 키를 가져오지 못했습니다. 잠시 뒤에 다시 시도하십시오.",
                status=503,
                headers={"Retry-After": "5"},
            ) from exc
        except jwt.InvalidAudienceError as exc:
            raise _unauthorized(
                f"The token is not for mpehub: its audience (aud) must be {self._audience!r}.",
                f"mpehub용 토큰이 아닙니다. 토큰의 대상(aud)은 {self._audience!r}(이)어야 합니다.",
            ) from exc
        except jwt.InvalidIssuerError as exc:
            raise _unauthorized(
                f"The token's issuer (iss) must be {self._issuer!r}.",
                f"토큰의 발급자(iss)는 {self._issuer!r}(이)어야 합니다.",
            ) from exc
        except jwt.PyJWTError as exc:
            raise _unauthorized(
                f"The token is not valid: {exc}.",
                "유효한 토큰이 아닙니다(서명, 형식 또는 기한을 확인하십시오).",
            ) from exc
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise _unauthorized(
                "The token's roles claim must be a list of strings.",
                "토큰의 roles 클레임은 문자열 목록이어야 합니다.",
            )
        if by_secret and self._jwks is not None and set(roles) - SECRET_ROLES_BESIDE_A_PROVIDER:
            raise _unauthorized(
                "With an identity provider configured, a token signed with the services' secret "
                "may only read (role viewer); staff tokens come from the provider.",
                "인증 제공자(IdP)가 설정되어 있으면 서비스 공용 비밀키로 서명한 토큰은 조회(역할 viewer)만"
                " 할 수 있습니다. 담당자 토큰은 인증 제공자에게서 받으십시오.",
            )
        return Principal(sub=str(claims["sub"]), roles=frozenset(roles))


def _unauthorized(detail: str, ko: str) -> Problem:
    return Problem(detail, status=401, ko=ko, headers={"WWW-Authenticate": 'Bearer realm="mpehub"'})


# Names the scheme in the OpenAPI document (and so each route's 401 and 403, mpe_kit.openapi);
# the dependency below reads the header itself, to answer its absence as problem+json.
_BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="staffToken",
    bearerFormat="JWT",
    description="A staff token with the role viewer or editor; `<service> token` issues one.",
)


def require(role: str) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency admitting callers whose token grants `role`."""

    async def dependency(
        request: Request, _scheme: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)]
    ) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized(
                "Send a staff token as 'Authorization: Bearer <token>'.",
                "담당자 토큰을 'Authorization: Bearer <토큰>'으로 보내십시오.",
            )
        verifier: TokenVerifier = request.app.state.token_verifier
        principal = await verifier.verify(token.strip())
        if not principal.has(role):
            raise Problem(
                status=403,
                detail=f"This needs the {role} role; the token has {sorted(principal.roles) or 'none'}.",
                ko=f"{role} 역할이 필요합니다. 이 토큰의 역할: {sorted(principal.roles) or '없음'}.",
            )
        return principal

    return dependency
