"""Authentication at the edge (seed: "API Gateway Pattern"; "API Security Best Practices").

The gateway verifies the access token once (signature and expiry, chassis.tokens) and
tells the services who is calling in X-User-Id / X-User-Role. Those headers are
stripped from every incoming request first, so only the gateway can set them.

Public routes need no token: registration and login, the catalogue, the API docs,
and the `whoami` demo route that shows load balancing. On a public route a valid
token still identifies the caller (per-user rate limit); a stale one is ignored, so
an expired token never locks a visitor out of the catalogue.
"""

import re

from fastapi import HTTPException, Request

from chassis.identity import Identity
from chassis.tokens import TokenError, verify_access_token
from gateway.metrics import AUTH_FAILURES

# Per method, one pattern: a public route is one dictionary lookup and one regex match.
PUBLIC_ROUTES: dict[str, re.Pattern] = {
    "POST": re.compile(r"/api/users/(register|login|refresh|logout)|/api/analytics/events"),
    "GET": re.compile(r"/api/(products|analytics)(/.*)?|/api/(openapi\.json|docs)|/api/[a-z]+/whoami"),
}


def is_public(method: str, path: str) -> bool:
    pattern = PUBLIC_ROUTES.get("GET" if method == "HEAD" else method)
    return pattern is not None and pattern.fullmatch(path) is not None


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def refuse(reason: str, detail: str) -> HTTPException:
    AUTH_FAILURES.labels(reason).inc()
    error = "invalid_request" if reason == "missing" else "invalid_token"
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": f'Bearer error="{error}"'})


def authenticate(request: Request, secret: str) -> Identity | None:
    """The verified caller, None for an anonymous call to a public route; 401 otherwise."""
    public = is_public(request.method, request.scope["path"])
    token = bearer_token(request)
    if token is None:
        if public:
            return None
        raise refuse("missing", "authentication required: send Authorization: Bearer <access token>")
    try:
        claims = verify_access_token(token, secret=secret)
    except TokenError as error:
        if public:
            return None
        raise refuse(error.reason, str(error)) from error
    return Identity(user_id=claims.user_id, role=claims.role)
