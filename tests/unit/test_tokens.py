"""Access tokens: what the gateway accepts and what it refuses."""

import time

import jwt
import pytest

from chassis.tokens import ALGORITHM, TokenError, issue_access_token, verify_access_token

SECRET = "unit-test-secret-0123456789abcdef0123456789"


def test_an_issued_token_verifies_with_its_claims():
    token = issue_access_token(user_id=42, role="admin", secret=SECRET, ttl_seconds=60)
    claims = verify_access_token(token, secret=SECRET)
    assert (claims.user_id, claims.role) == (42, "admin")
    assert claims.expires_at - time.time() == pytest.approx(60, abs=2)
    assert claims.token_id


def test_every_token_has_its_own_id():
    tokens = {issue_access_token(user_id=1, role="customer", secret=SECRET, ttl_seconds=60) for _ in range(3)}
    ids = {verify_access_token(token, secret=SECRET).token_id for token in tokens}
    assert len(ids) == 3


def test_an_expired_token_is_refused_as_expired():
    token = issue_access_token(user_id=1, role="customer", secret=SECRET, ttl_seconds=60, now=time.time() - 120)
    with pytest.raises(TokenError) as refused:
        verify_access_token(token, secret=SECRET)
    assert refused.value.reason == "expired"


def test_a_token_signed_with_another_secret_is_invalid():
    token = issue_access_token(user_id=1, role="customer", secret="another-secret-0123456789abcdef0123", ttl_seconds=60)
    with pytest.raises(TokenError) as refused:
        verify_access_token(token, secret=SECRET)
    assert refused.value.reason == "invalid"


def test_a_tampered_payload_is_invalid():
    header, payload, signature = issue_access_token(user_id=1, role="customer", secret=SECRET,
                                                    ttl_seconds=60).split(".")
    forged_payload = jwt.utils.base64url_encode(b'{"sub":"1","role":"admin","iat":1,"exp":9999999999,"jti":"x"}')
    with pytest.raises(TokenError) as refused:
        verify_access_token(f"{header}.{forged_payload.decode()}.{signature}", secret=SECRET)
    assert refused.value.reason == "invalid"


def test_an_unsigned_alg_none_token_is_invalid():
    token = jwt.encode({"sub": "1", "role": "admin", "iat": 1, "exp": 9999999999, "jti": "x"}, None, algorithm="none")
    with pytest.raises(TokenError):
        verify_access_token(token, secret=SECRET)


@pytest.mark.parametrize("missing", ["sub", "role", "exp", "iat", "jti"])
def test_a_token_without_a_required_claim_is_invalid(missing):
    claims = {"sub": "1", "role": "customer", "iat": int(time.time()), "exp": int(time.time()) + 60, "jti": "x"}
    del claims[missing]
    with pytest.raises(TokenError):
        verify_access_token(jwt.encode(claims, SECRET, algorithm=ALGORITHM), secret=SECRET)


def test_garbage_is_invalid():
    with pytest.raises(TokenError) as refused:
        verify_access_token("not.a.jwt", secret=SECRET)
    assert refused.value.reason == "invalid"
