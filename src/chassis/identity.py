"""Who is calling: the identity the gateway verified, passed to services in trusted headers.

The gateway verifies the JWT (signature, expiry) once at the edge and forwards the
caller as X-User-Id / X-User-Role; it strips those headers from every incoming
request first, so a client cannot forge them. Services sit on a private network
behind the gateway and trust these headers (seed: API gateway, security).
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header

from chassis.errors import Forbidden, Unauthenticated

USER_ID_HEADER = "X-User-Id"
USER_ROLE_HEADER = "X-User-Role"
IDENTITY_HEADERS = (USER_ID_HEADER.lower(), USER_ROLE_HEADER.lower())


@dataclass(frozen=True)
class Identity:
    user_id: int
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


# `async def` so FastAPI calls them on the event loop, not through a worker thread (no I/O here).
async def current_identity(
    x_user_id: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_user_role: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Identity:
    if not x_user_id or not x_user_id.isdigit():
        raise Unauthenticated("authentication required")
    return Identity(user_id=int(x_user_id), role=x_user_role or "customer")


async def admin_identity(identity: Annotated[Identity, Depends(current_identity)]) -> Identity:
    if not identity.is_admin:
        raise Forbidden("admin role required")
    return identity


CurrentUser = Annotated[Identity, Depends(current_identity)]
AdminUser = Annotated[Identity, Depends(admin_identity)]
