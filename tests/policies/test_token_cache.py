"""Verified tokens are cached for their lifetime, never beyond it, and never past a change of keys."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from uuid import uuid4

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from policies.token_cache import TokenCache
from policies.tokens import Claims, InvalidToken, TokenVerifier, mint_token

SECRET = "s" * 40


def test_a_repeated_token_is_served_from_the_cache() -> None:
    verifier = TokenVerifier(secret=SECRET)
    token = mint_token(SECRET, uuid4())
    assert verifier.verify(token) is verifier.verify(token)


def test_a_refused_token_is_not_cached_and_stays_refused() -> None:
    cache: TokenCache[Claims] = TokenCache()
    verifier = TokenVerifier(secret=SECRET, cache=cache)
    forged = mint_token("f" * 40, uuid4())
    for _ in range(2):
        with pytest.raises(InvalidToken):
            verifier.verify(forged)
    assert len(cache) == 0


def test_a_cached_token_is_refused_once_it_expires() -> None:
    # exp 29 s ago: still inside the 30 s leeway, so it verifies, for about one more second.
    token = mint_token(SECRET, uuid4(), ttl_seconds=1, now=time.time() - 30)
    verifier = TokenVerifier(secret=SECRET)
    verifier.verify(token)
    time.sleep(1.2)
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(token)


def test_an_entry_lasts_until_its_expiry_and_never_beyond_the_max_ttl() -> None:
    cache: TokenCache[str] = TokenCache(max_ttl=60)
    cache.put("short", "a", valid_until=1_010, now=1_000)
    cache.put("long", "b", valid_until=10_000, now=1_000)
    cache.put("expired", "c", valid_until=999, now=1_000)
    assert cache.get("short", 1_009) == "a"
    assert cache.get("short", 1_010) is None
    assert cache.get("long", 1_059) == "b"
    assert cache.get("long", 1_060) is None
    assert cache.get("expired", 1_000) is None


def test_the_cache_is_bounded() -> None:
    cache: TokenCache[int] = TokenCache(maxsize=2)
    for number in range(3):
        cache.put(f"t{number}", number, valid_until=2_000, now=1_000)
    assert len(cache) == 2
    assert cache.get("t0", 1_001) is None
    assert cache.get("t2", 1_001) == 2


def _jwks(path: Path, keys: dict[str, ec.EllipticCurvePrivateKey]) -> None:
    entries = [
        {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key())), "kid": kid, "alg": "ES256"}
        for kid, private in keys.items()
    ]
    path.write_text(json.dumps({"keys": entries}))


def test_a_key_rotated_out_of_the_jwks_stops_its_cached_tokens(tmp_path: Path) -> None:
    old, new = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    jwks = tmp_path / "jwks.json"
    _jwks(jwks, {"old": old})
    verifier = TokenVerifier(jwks_file=jwks, key_check_interval=0)
    claims = {"sub": "idp|1", "aud": "roundpool", "exp": int(time.time()) + 300}
    token = jwt.encode(claims, old, algorithm="ES256", headers={"kid": "old"})
    assert verifier.verify(token).subject == "idp|1"
    _jwks(jwks, {"new": new})
    os.utime(jwks, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))  # a distinct mtime whatever the clock
    with pytest.raises(InvalidToken, match="unknown signing key"):
        verifier.verify(token)
    fresh = jwt.encode(claims, new, algorithm="ES256", headers={"kid": "new"})
    assert verifier.verify(fresh).subject == "idp|1"
