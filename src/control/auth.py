"""Who may pull a lever: nobody outside development, and only the admin inside it.

The control API can stop databases and kill processes, so it is guarded three times:
it answers only with ENVIRONMENT=development (a production stack gets 403 on every
route, whatever the token), only to a valid admin access token (verified here with the
shared secret, like the gateway does: no call needed), and only through the edge (its
port is not published; nginx proxies /api/control/). Every action is logged with who
and what (control/audit.py).
"""

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from chassis.tokens import AccessClaims, TokenError, verify_access_token


async def admin_caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> AccessClaims:
    """The admin's claims, or 403 outside development / 401 without a valid token / 403 for a non-admin."""
    settings = request.app.state.settings
    if settings.environment != "development":
        raise HTTPException(status_code=403, detail="the control API is disabled outside ENVIRONMENT=development")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(status_code=401, detail="admin bearer token required",
                            headers={"WWW-Authenticate": "Bearer"})
    try:
        claims = verify_access_token(token, secret=settings.jwt_secret)
    except TokenError as error:
        raise HTTPException(status_code=401, detail=f"token {error.reason}",
                            headers={"WWW-Authenticate": "Bearer"}) from error
    if claims.role != "admin":
        raise HTTPException(status_code=403, detail="the control API answers only the admin")
    return claims


Admin = Annotated[AccessClaims, Depends(admin_caller)]
