"""Access tokens: short-lived signed JWTs, issued by users and verified by the gateway.

Seed "Security Considerations at Scale" (API security): "JWT tokens with short
expiration" plus "refresh token rotation". The access token is self-contained
(HS256 over `sub`, `role`, `iat`, `exp`, `jti`), so the gateway verifies it with
the shared secret and no network call: any gateway replica can check any token
(stateless). Revocation is the refresh token's job (opaque, in Redis, see
users/sessions.py); an access token simply expires within minutes.
"""

import time
import uuid
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "role", "exp", "iat", "jti"]


class TokenError(Exception):
    """A token that cannot be trusted; `reason` is one of: expired, invalid."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    role: str
    expires_at: int
    token_id: str


def issue_access_token(*, user_id: int, role: str, secret: str, ttl_seconds: int, now: float | None = None) -> str:
    """Sign an access token for `user_id` valid for `ttl_seconds`."""
    issued_at = int(now if now is not None else time.time())
    claims = {
        "sub": str(user_id),  # RFC 7519: `sub` is a string; PyJWT refuses an int
        "role": role,
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_access_token(token: str, *, secret: str) -> AccessClaims:
    """Check signature and expiry and return the claims; TokenError says why not."""
    try:
        # `algorithms` is pinned: never let the token's own header choose (the "alg: none" attack).
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS})
    except jwt.ExpiredSignatureError as error:
        raise TokenError("expired", "token expired") from error
    except jwt.InvalidTokenError as error:
        raise TokenError("invalid", f"invalid token ({type(error).__name__})") from error
    if not str(claims["sub"]).isdigit() or not isinstance(claims["role"], str):
        raise TokenError("invalid", "invalid token (claims)")
    return AccessClaims(user_id=int(claims["sub"]), role=claims["role"], expires_at=int(claims["exp"]),
                        token_id=str(claims["jti"]))
