"""Routing: /api/<service>/<path> -> <service> replica at /<service>/<path> (seed: "API Gateway Pattern").

Every request goes through the same steps, in this order:
1. route: only the five services, and never their /internal/ routes (service-to-service only: 404);
2. authenticate: verify the bearer token unless the route is public (gateway.auth); a request
   refused for want of a token whose method the path does not serve is the 405 with `Allow`
   (RFC 9110 §15.5.6) it would be with one: `method_not_served` asks the service;
3. rate limit: per user, or per client address when anonymous (gateway.ratelimit);
4. forward: strip the identity headers a client might have forged, set them from the
   verified token, and send through the service's ServiceClient (client-side load
   balancing, failover, retries, circuit breaker);
5. return the replica's response unchanged except for hop-by-hop headers.
"""

import asyncio
import json

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.convertors import PathConvertor, register_url_convertor

from chassis.identity import IDENTITY_HEADERS, USER_ID_HEADER, USER_ROLE_HEADER, Identity
from gateway import analytics_events
from gateway.auth import authenticate
from gateway.metrics import RATE_LIMITED
from gateway.settings import ROUTED_SERVICES, GatewaySettings

# Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection, never forwarded.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "content-length", "host"}
# Never passed to a service: forged identity (set below from the token) and the token itself
# (services trust the gateway's headers, they never see credentials).
NOT_FORWARDED = HOP_BY_HOP | set(IDENTITY_HEADERS) | {"authorization"}
# The gateway's own middleware sets these on the response; the replica's copies would be duplicates.
# The replica's name and version stay visible as X-Upstream-Replica and X-Upstream-Version.
NOT_RETURNED = HOP_BY_HOP | {"x-request-id", "x-served-by", "x-service-version", "content-encoding"}
LOGIN_PATH = "/api/users/login"
# No service has a route for these: they are forwarded without credentials or identity, and the
# service's router answers 405 with the path's true `Allow` (RFC 9110 §15.5.6) instead of a 401.
UNSERVED_METHODS = ("OPTIONS", "TRACE")

router = APIRouter(prefix="/api", tags=["gateway"])


class AnyPath(PathConvertor):
    """`{path:any_path}`: every character of the rest of the path, a newline (%0A) too. Starlette's
    `path` stops at one, and the gateway answered 404 for a path its service would call a bad id (422)."""

    regex = "(?s:.*)"


register_url_convertor("any_path", AnyPath())


@router.api_route("/{service}/{path:any_path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", *UNSERVED_METHODS],
                  include_in_schema=False)
@router.api_route("/{service}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", *UNSERVED_METHODS],
                  include_in_schema=False)
async def route(request: Request) -> Response:
    """Forward the request to a replica of `service`.

    Its only parameter is the request (path parameters read from it): FastAPI then has nothing
    to resolve or validate per request, which was measurable on this, the gateway's hot path."""
    settings: GatewaySettings = request.app.state.settings
    if settings.added_latency_ms:  # a deliberately slow replica (ADDED_LATENCY_MS)
        await asyncio.sleep(settings.added_latency_ms / 1000)
    service, path = request.path_params["service"], request.path_params.get("path", "")
    segments = [segment for segment in path.split("/") if segment not in ("", ".")]
    if service not in ROUTED_SERVICES:
        raise HTTPException(status_code=404, detail=f"no such service: {service}")
    if segments[:1] == ["internal"] or ".." in segments:
        raise HTTPException(status_code=404, detail="not found")

    upstream_path = f"/{service}/{path}" if path else f"/{service}"
    try:
        identity = authenticate(request, settings.jwt_secret) if request.method not in UNSERVED_METHODS else None
    except HTTPException:
        if limited := rate_limit(request, None, settings):
            return limited
        if not_served := await method_not_served(request, service, upstream_path):
            return not_served
        raise
    if limited := rate_limit(request, identity, settings):
        return limited
    login_counter = await login_counter_name(request) if request.scope["path"] == LOGIN_PATH else None
    if login_counter and (retry_after := await request.app.state.rate_limiter.exceeded(
            name=login_counter, limit=settings.rate_limit_login_failures_per_minute, window_seconds=60)):
        return too_many("login", retry_after)

    response = await request.app.state.clients[service].request(
        request.method,
        upstream_path,
        params=request.query_params.multi_items(),
        headers=upstream_headers(request, identity),
        content=await request.body(),
    )
    if login_counter and response.status_code == 401:  # only failed logins count (brute-force guard)
        await request.app.state.rate_limiter.hit(name=login_counter, window_seconds=60,
                                                 limit=settings.rate_limit_login_failures_per_minute)
    analytics_events.observe(request.app.state.events, request, service, path, response.status_code,
                             response.content, identity.user_id if identity else None, client_address(request),
                             replayed=response.headers.get("idempotent-replayed") == "true")
    headers = {name: value for name, value in response.headers.items() if name.lower() not in NOT_RETURNED}
    if served_by := response.headers.get("x-served-by"):
        headers["x-upstream-replica"] = served_by
    if version := response.headers.get("x-service-version"):
        headers["x-upstream-version"] = version
    return Response(content=response.content, status_code=response.status_code, headers=headers)


async def method_not_served(request: Request, service: str, upstream_path: str) -> Response | None:
    """The service's 405 when the path does not serve this method, None when it does (or cannot say).

    Only the service's router knows which methods a path serves, so it is asked as OPTIONS, which no
    route serves: its 405 lists the path's methods in `Allow` (the edge asks the same for TRACE).
    Only a request about to be refused a 401 pays for the question, after the anonymous rate limit."""
    try:
        probe = await request.app.state.clients[service].request(
            "OPTIONS", upstream_path, params=request.query_params.multi_items(),
            headers=upstream_headers(request, None), content=b"")
    except Exception:  # the service cannot say: the 401 stands
        return None
    allowed = {method.strip() for method in probe.headers.get("allow", "").split(",") if method.strip()}
    if probe.status_code != 405 or not allowed or request.method in allowed:
        return None
    return Response(content=probe.content, status_code=405,
                    headers={"allow": probe.headers["allow"], "content-type": probe.headers.get(
                        "content-type", "application/json")})


def upstream_headers(request: Request, identity: Identity | None) -> dict[str, str]:
    headers = {name: value for name, value in request.headers.items() if name.lower() not in NOT_FORWARDED}
    if identity is not None:
        headers[USER_ID_HEADER] = str(identity.user_id)
        headers[USER_ROLE_HEADER] = identity.role
    return headers


def client_address(request: Request) -> str:
    """The caller's address: the last X-Forwarded-For entry is the one nginx saw (earlier ones
    are whatever the client sent). Only nginx can reach the gateway, so the header is trusted."""
    forwarded = request.headers.get("x-forwarded-for", "")
    if forwarded:
        return forwarded.split(",")[-1].strip()
    return request.client.host if request.client else "unknown"


def rate_limit(request: Request, identity: Identity | None, settings: GatewaySettings) -> Response | None:
    """429 when this user (or this anonymous address) is over its per-second limit."""
    if identity is not None:
        scope, name, limit = "user", f"user:{identity.user_id}", settings.rate_limit_user_per_second
    else:
        scope, name, limit = "anonymous", f"ip:{client_address(request)}", settings.rate_limit_anonymous_per_second
    retry_after = request.app.state.rate_limiter.admit(name=name, limit=limit, window_seconds=1)
    return too_many(scope, retry_after) if retry_after else None


async def login_counter_name(request: Request) -> str:
    """Failed logins are counted per client address and email: one attacker cannot lock out a user
    everywhere, and one address cannot try a password list against one account."""
    try:
        email = str(json.loads(await request.body()).get("email", "")).strip().lower()[:320]
    except (ValueError, AttributeError):
        email = ""  # not a JSON object: the users service answers 422
    return f"login:{client_address(request)}:{email}"


def too_many(scope: str, retry_after: int) -> JSONResponse:
    RATE_LIMITED.labels(scope).inc()
    return JSONResponse(status_code=429, headers={"Retry-After": str(retry_after)},
                        content={"detail": f"rate limit exceeded ({scope}); retry after {retry_after}s",
                                 "scope": scope})
