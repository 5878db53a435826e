"""Token verification: what is accepted, and every way a token is refused."""

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from uuid import uuid4

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from policies.tokens import InvalidToken, TokenVerifier, mint_token

SECRET = "s" * 40


def test_a_minted_token_verifies_with_user_and_tenant() -> None:
    user = uuid4()
    claims = TokenVerifier(secret=SECRET).verify(mint_token(SECRET, user, tenant="acme"))
    assert (claims.subject, claims.issuer, claims.tenant, claims.email) == (str(user), "", "acme", None)


def test_only_a_verified_email_is_kept() -> None:
    verifier = TokenVerifier(secret=SECRET)
    verified = verifier.verify(mint_token(SECRET, "idp|1", email="a@example.com"))
    unverified = verifier.verify(mint_token(SECRET, "idp|1", email="a@example.com", email_verified=False))
    unclaimed = verifier.verify(jwt.encode({**_claims(), "email": "a@example.com"}, SECRET, algorithm="HS256"))
    stringly = verifier.verify(
        jwt.encode({**_claims(), "email": "a@example.com", "email_verified": "true"}, SECRET, algorithm="HS256")
    )
    assert (verified.email, unverified.email, unclaimed.email, stringly.email) == ("a@example.com", None, None, None)


@pytest.mark.parametrize("subject", ["", "x" * 256, 42])
def test_a_subject_that_users_cannot_hold_is_refused(subject: object) -> None:
    with pytest.raises(InvalidToken):
        TokenVerifier(secret=SECRET).verify(jwt.encode({**_claims(), "sub": subject}, SECRET, algorithm="HS256"))


@pytest.mark.parametrize(
    ("label", "token"),
    [
        ("malformed", "not.a.token"),
        ("garbage", "abc"),
        ("expired", mint_token(SECRET, uuid4(), ttl_seconds=-3600)),
        ("wrong key", mint_token("t" * 40, uuid4())),
        ("wrong audience", mint_token(SECRET, uuid4(), audience="someone-else")),
        (
            "alg none",
            jwt.encode(
                {"sub": str(uuid4()), "aud": "roundpool", "exp": int(time.time()) + 60}, key=None, algorithm="none"
            ),
        ),
        ("no exp", jwt.encode({"sub": str(uuid4()), "aud": "roundpool"}, SECRET, algorithm="HS256")),
        (
            "tenant not a string",
            jwt.encode(
                {"sub": str(uuid4()), "aud": "roundpool", "exp": int(time.time()) + 60, "tenant": ["a", "b"]},
                SECRET,
                algorithm="HS256",
            ),
        ),
    ],
)
def test_bad_tokens_are_refused(label: str, token: str) -> None:
    with pytest.raises(InvalidToken):
        TokenVerifier(secret=SECRET).verify(token)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_signed_with(key: bytes, claims: dict[str, object]) -> str:
    """Built by hand: PyJWT itself refuses to sign HS256 with a PEM key."""
    signing_input = _b64(b'{"alg":"HS256","typ":"JWT"}') + "." + _b64(json.dumps(claims).encode())
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


def _claims() -> dict[str, object]:
    return {"sub": str(uuid4()), "aud": "roundpool", "exp": int(time.time()) + 300}


def test_rs256_with_a_public_key_file(tmp_path: Path) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key_file = tmp_path / "public.pem"
    key_file.write_bytes(public_pem)
    verifier = TokenVerifier(public_key_file=key_file)
    claims = _claims()
    assert str(verifier.verify(jwt.encode(claims, private, algorithm="RS256")).subject) == claims["sub"]
    # The classic confusion: an HS256 token signed with the public key as the secret.
    with pytest.raises(InvalidToken):
        verifier.verify(_hs256_signed_with(public_pem, claims))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidToken):
        verifier.verify(jwt.encode(claims, other, algorithm="RS256"))


def test_es256_with_a_jwks_file_selects_the_key_by_kid(tmp_path: Path) -> None:
    first, second = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    keys = []
    for kid, private in (("k1", first), ("k2", second)):
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
        keys.append({**jwk, "kid": kid, "alg": "ES256", "use": "sig"})
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": keys}))
    verifier = TokenVerifier(jwks_file=jwks)
    claims = _claims()
    token = jwt.encode(claims, second, algorithm="ES256", headers={"kid": "k2"})
    assert str(verifier.verify(token).subject) == claims["sub"]
    with pytest.raises(InvalidToken):  # signed by k1's key but claims to be k2
        verifier.verify(jwt.encode(claims, first, algorithm="ES256", headers={"kid": "k2"}))
    with pytest.raises(InvalidToken):
        verifier.verify(jwt.encode(claims, second, algorithm="ES256", headers={"kid": "unknown"}))


def test_a_verifier_needs_some_key() -> None:
    with pytest.raises(ValueError, match="configure"):
        TokenVerifier()
