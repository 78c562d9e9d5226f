"""What can go wrong in the users service, in its own words (branches of chassis.errors)."""

from chassis.errors import Conflict, NotFound, Unauthenticated


class EmailTaken(Conflict):
    description = "email already registered"


class InvalidCredentials(Unauthenticated):
    description = "invalid credentials"


class InvalidRefreshToken(Unauthenticated):
    description = "invalid or expired refresh token"


class UserNotFound(NotFound):
    description = "user not found"
