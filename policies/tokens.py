"""JWT bearer tokens: verification (HS256 in development; RS256/ES256 with a public key or JWKS in production)
and minting of development tokens.

Verification is pure: it never touches the database, so a bad token costs no database work.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import jwt

from policies.token_cache import TokenCache

ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")
# RFC 7518 §3.2: an HS256 key at least as long as the hash; anything shorter can be brute-forced offline
# from a single token.
MIN_HS256_SECRET_BYTES = 32
_LEEWAY_SECONDS = 30
_MAX_SUBJECT = 255  # the users.subject and users.issuer checks
_MAX_ISSUER = 500
_logger = logging.getLogger("roundpool.tokens")


class InvalidToken(Exception):
    """The token is malformed, expired, signed with a wrong key or algorithm, or for another audience."""


def check_hs256_secret(secret: str) -> None:
    """Raise ValueError when `secret` is too short to sign HS256 tokens safely (checked in production)."""
    size = len(secret.encode())
    if size < MIN_HS256_SECRET_BYTES:
        raise ValueError(
            f"the HS256 secret has {size} byte{'' if size == 1 else 's'}; production needs at least"
            f" {MIN_HS256_SECRET_BYTES}"
            " (for example `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
        )


@dataclass(frozen=True)
class Claims:
    """Who the identity provider says the bearer is: `issuer` is the token's `iss` ('' when absent), `email`
    is the token's address only when the token says `email_verified` (an unverified address is dropped)."""

    issuer: str
    subject: str
    email: str | None
    name: str | None
    tenant: str | None
    expires_at: float | None = None  # `exp` (Unix seconds): what a long-lived connection must not outlive


class TokenVerifier:
    """Verifies bearer tokens; a successful verification is cached until the token expires (policies/token_cache.py).
    A JWKS or public key file is looked at again every `key_check_interval` seconds: when it changed, its keys are
    reloaded and every cached verification is dropped (a key rotated out stops its tokens)."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        public_key_file: Path | None = None,
        jwks_file: Path | None = None,
        audience: str = "roundpool",
        issuer: str | None = None,
        cache: TokenCache[Claims] | None = None,
        key_check_interval: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._audience = audience
        self._issuer = issuer
        self._keys: dict[str | None, Any] = {}
        self._cache: TokenCache[Claims] = cache if cache is not None else TokenCache()
        self._clock = clock
        self._key_file: Path | None = jwks_file or public_key_file
        self._key_check_interval = key_check_interval
        self._key_stamp: tuple[int, int] | None = None
        self._checked_at = clock()
        if jwks_file is not None:
            self._key_stamp = _stamp(jwks_file)
            self._keys = _jwks(jwks_file)
            self._algorithms: list[str] = list(ASYMMETRIC_ALGORITHMS)
        elif public_key_file is not None:
            self._key_stamp = _stamp(public_key_file)
            self._keys = {None: public_key_file.read_text()}
            self._algorithms = list(ASYMMETRIC_ALGORITHMS)
        elif secret:
            self._keys = {None: secret}
            self._algorithms = ["HS256"]
        else:
            raise ValueError("configure a JWT secret, a public key file or a JWKS file")
        self._jwks = jwks_file is not None

    def verify(self, token: str) -> Claims:
        now = self._clock()
        self._reload_keys_if_changed(now)
        cached = self._cache.get(token, now)
        if cached is not None:
            return cached
        claims = self._verify(token)
        if claims.expires_at is not None:
            self._cache.put(token, claims, valid_until=claims.expires_at + _LEEWAY_SECONDS, now=now)
        return claims

    def _verify(self, token: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
            key = self._key_for(header.get("kid"))
            payload = jwt.decode(
                token,
                key,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["sub", "exp", "aud"]},
            )
            return _claims(payload)
        except (jwt.PyJWTError, ValueError) as error:
            raise InvalidToken(str(error)) from error

    def _reload_keys_if_changed(self, now: float) -> None:
        path = self._key_file
        if path is None or now - self._checked_at < self._key_check_interval:
            return
        self._checked_at = now
        try:
            stamp = _stamp(path)
            if stamp == self._key_stamp:
                return
            keys: dict[str | None, Any] = _jwks(path) if self._jwks else {None: path.read_text()}
        except (OSError, ValueError, jwt.PyJWTError) as error:
            # Half-written or unreadable: keep verifying with the keys we have, but trust no cached verdict.
            _logger.warning("JWT key file %s unreadable, keeping the previous keys: %s", path, error)
            self._cache.clear()
            return
        self._keys, self._key_stamp = keys, stamp
        self._cache.clear()
        _logger.info("JWT keys reloaded from %s", path)

    def _key_for(self, kid: str | None) -> Any:
        if kid in self._keys:
            return self._keys[kid]
        if len(self._keys) == 1 and None in self._keys:
            return self._keys[None]
        raise InvalidToken(f"unknown signing key {kid!r}")


def _stamp(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_mtime_ns, status.st_size


def _jwks(path: Path) -> dict[str | None, Any]:
    jwks = jwt.PyJWKSet.from_dict(json.loads(path.read_text()))
    return {key.key_id: key.key for key in jwks.keys}


def _claims(payload: dict[str, Any]) -> Claims:
    tenant = payload.get("tenant")
    if tenant is not None and not isinstance(tenant, str):
        raise InvalidToken("claim 'tenant' must be a tenant slug")
    subject, issuer = payload["sub"], payload.get("iss", "")
    if not isinstance(subject, str) or not 1 <= len(subject) <= _MAX_SUBJECT:
        raise InvalidToken(f"claim 'sub' must be a string of 1 to {_MAX_SUBJECT} characters")
    if not isinstance(issuer, str) or len(issuer) > _MAX_ISSUER:
        raise InvalidToken(f"claim 'iss' must be a string of at most {_MAX_ISSUER} characters")
    email = payload.get("email")
    verified = payload.get("email_verified") is True
    name = payload.get("name")
    return Claims(
        issuer=issuer,
        subject=subject,
        email=email if verified and isinstance(email, str) else None,
        name=name if isinstance(name, str) else None,
        tenant=tenant,
        expires_at=float(payload["exp"]),
    )


def mint_token(
    secret: str,
    subject: UUID | str,
    *,
    tenant: str | None = None,
    email: str | None = None,
    email_verified: bool = True,
    audience: str = "roundpool",
    ttl_seconds: int = 12 * 3600,
    now: float | None = None,
) -> str:
    """A development token (HS256). `subject` is the user's subject: their id for users not created from a
    token (seed data), else the `sub` they signed up with."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {"sub": str(subject), "aud": audience, "iat": issued, "exp": issued + ttl_seconds}
    if tenant is not None:
        claims["tenant"] = tenant
    if email is not None:
        claims["email"], claims["email_verified"] = email, email_verified
    return jwt.encode(claims, secret, algorithm="HS256")
