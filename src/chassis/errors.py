"""The one error tree of every service: domain code raises these, never an HTTP exception.

A service's `errors.py` subclasses a branch and says what went wrong in its own words
(`class ProductNotFound(NotFound)`); the chassis maps the branch to an HTTP status in one
place (chassis/error_handlers.py), both when answering and in the OpenAPI document, so
every route documents exactly the statuses it can return. Pattern: an exceptions module
whose docstring draws the tree (encode/httpx).

    ServiceError                    a JSON body {"detail": ..., **fields}, optional headers
    ├── BadRequest              400 the request is malformed in a way the schema cannot say
    ├── Unauthenticated         401 who is calling is unknown (no or bad credentials)
    ├── Forbidden               403 the caller is known and may not do this
    ├── NotFound                404 the resource does not exist (or is not the caller's)
    ├── Conflict                409 the resource's state does not allow it now
    ├── Unprocessable           422 well formed, but it cannot be done as asked
    ├── TooManyRequests         429 over a rate limit; Retry-After says when to come back
    └── DependencyUnavailable   503 {"dependency": "postgres"|"redis"|<service>, "reason": ...}

Failures of libraries join the tree in chassis/error_handlers.py: SQLAlchemy/asyncpg
connection failures are a DependencyUnavailable naming "postgres" and the database
(also when no host of a multi-host URL is a primary: a failover in progress), redis-py
connection errors one naming "redis"; text Postgres cannot store (a NUL byte) is
Unprocessable; anything else unhandled is a 500 {"detail": "internal error"}.
"""

from collections.abc import Iterator

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError


class ServiceError(Exception):
    """Base of the tree. `detail` is for people; `fields` are extra JSON members for programs."""

    status_code = 500
    description = "internal error"  # what the OpenAPI document says this status means

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None, **fields):
        self.detail = detail or self.description
        super().__init__(self.detail)
        self.headers = headers or {}
        self.fields = fields


class BadRequest(ServiceError):
    status_code = 400
    description = "malformed request"


class Unauthenticated(ServiceError):
    status_code = 401
    description = "authentication required: a valid bearer token"


class Forbidden(ServiceError):
    status_code = 403
    description = "the caller may not do this"


class NotFound(ServiceError):
    status_code = 404
    description = "not found"


class Conflict(ServiceError):
    status_code = 409
    description = "the resource's current state does not allow this"


class Unprocessable(ServiceError):
    status_code = 422
    description = "invalid request"


class TooManyRequests(ServiceError):
    status_code = 429
    description = "rate limit exceeded; retry after Retry-After seconds"


class DependencyUnavailable(ServiceError):
    """A dependency (database, cache, another service) cannot serve this request now."""

    status_code = 503
    description = "a dependency is unavailable (named in `dependency`); retry after Retry-After seconds"

    def __init__(self, dependency: str, reason: str = "unavailable"):
        super().__init__(f"{dependency} is unavailable", headers={"Retry-After": "1"},
                         dependency=dependency, reason=reason)
        self.args = (f"{dependency}: {reason}",)  # logs and tracebacks say why, not only what
        self.dependency = dependency
        self.reason = reason


# Set on every 503 that names a failed dependency: the replica itself is up and answered, so a
# caller's client-side balancer neither ejects it nor counts it against its circuit breaker
# (another replica shares the same dependency; writes failing during a database failover must
# not take the service's reads down with them).
FAILED_DEPENDENCY_HEADER = "X-Failed-Dependency"

# SQLSTATE 25006: a write reached a server that is read-only now (a database still recovering
# after a restore, or a primary being demoted); class 57P: the server is shutting down or
# starting up ("the database system is shutting down" during a switchover). It cannot take the
# statement at the moment: a 503, not a 500.
READ_ONLY_SQL_TRANSACTION = "25006"
SHUTTING_DOWN_CLASS = "57P"
# SQLSTATE 22021 character_not_in_repertoire: text Postgres cannot store (a NUL byte): the
# client's input, a 422. Schemas forbid NUL already (chassis/fields.py); this is the safety net.
CHARACTER_NOT_IN_REPERTOIRE = "22021"


def is_connection_failure(error: DBAPIError) -> bool:
    """The database cannot serve now: refused, reset, (multi-host URL) no host matched
    target_session_attrs, or a write reached a read-only server."""
    if isinstance(error, (OperationalError, InterfaceError)) or error.connection_invalidated:
        return True
    return any(type(cause).__name__ == "TargetServerAttributeNotMatched"
               or _sqlstate(cause) == READ_ONLY_SQL_TRANSACTION
               or _sqlstate(cause).startswith(SHUTTING_DOWN_CLASS) for cause in _causes(error))


def is_unstorable_text(error: BaseException) -> bool:
    """The statement failed on the client's text (a NUL byte, text that is not UTF-8), not on the server."""
    return any(_sqlstate(cause) == CHARACTER_NOT_IN_REPERTOIRE or isinstance(cause, UnicodeError)
               for cause in _causes(error))


def _sqlstate(error: BaseException) -> str:
    return str(getattr(error, "sqlstate", "") or "")


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen = error.orig if isinstance(error, DBAPIError) else error
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__
