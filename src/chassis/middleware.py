"""Per-request context: request id propagation, one access log line, RED metrics.

A pure ASGI middleware (no BaseHTTPMiddleware) so streaming and cancellation behave.
The request id comes from nginx (or the client) in X-Request-ID, or is made here;
it is bound into the log context and returned on the response.
"""

import time
import uuid
from contextvars import ContextVar

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chassis.metrics.web import IN_FLIGHT, LATENCY, REQUESTS

REQUEST_ID_HEADER = "x-request-id"
UNTRACKED_PATHS = ("/metrics", "/health/live", "/health/ready")

log = structlog.get_logger("access")

# Headers that code deeper in the request adds to the response, e.g. which database served a
# read (chassis/replicas.py: X-DB-Read), so a caller can see how its answer was produced.
_RESPONSE_NOTES: ContextVar[dict[str, str] | None] = ContextVar("response_notes", default=None)


def note_response_header(name: str, value: str) -> None:
    """Add `name: value` to the current request's response (no-op outside a request)."""
    notes = _RESPONSE_NOTES.get()
    if notes is not None:
        notes[name.lower()] = value


def request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id" and 0 < len(value) <= 128:
            return value.decode("latin-1")
    return uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, service: str, replica: str, version: str = "v1"):
        self.app = app
        self.service = service
        self.replica = replica
        self.version = version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        notes: dict[str, str] = {}
        _RESPONSE_NOTES.set(notes)
        status = 500
        started = time.perf_counter()

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.setdefault("headers", [])
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                # Which replica answered: lets callers label load distribution by replica name.
                headers.append((b"x-served-by", self.replica.encode("latin-1")))
                # Which version answered: a deploy's progress is visible in every response.
                headers.append((b"x-service-version", self.version.encode("latin-1")))
                headers.extend((name.encode("latin-1"), value.encode("latin-1")) for name, value in notes.items())
            await send(message)

        tracked = scope["path"] not in UNTRACKED_PATHS
        in_flight = IN_FLIGHT.labels(self.service, self.replica)
        if tracked:
            in_flight.inc()
        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            if tracked:
                in_flight.dec()
                elapsed = time.perf_counter() - started
                route = getattr(scope.get("route"), "path", "unmatched")
                REQUESTS.labels(self.service, self.replica, scope["method"], route, str(status)).inc()
                LATENCY.labels(self.service, self.replica, scope["method"], route).observe(elapsed)
                log.info("request", method=scope["method"], path=scope["path"], route=route, status=status,
                         duration_ms=round(elapsed * 1000, 2), user_id=_header(scope, b"x-user-id"))
            structlog.contextvars.unbind_contextvars("request_id")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None
