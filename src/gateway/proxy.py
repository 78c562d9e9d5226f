"""Routing: /api/<service>/<path> -> <service> replica at /<service>/<path> (seed: API gateway).

The gateway is a reverse proxy with client-side load balancing: it picks a replica
(round robin, skipping ejected ones), fails over on connection errors, and returns
the replica's response unchanged except for hop-by-hop headers.
"""

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from gateway.settings import ROUTED_SERVICES

# Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection, never forwarded.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "content-length", "host"}

router = APIRouter(prefix="/api", tags=["gateway"])


def forwardable(headers) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.lower() not in HOP_BY_HOP}


@router.api_route("/{service}/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                  include_in_schema=False)
@router.api_route("/{service}", methods=["GET", "POST"], include_in_schema=False)
async def route(service: str, request: Request, path: str = "") -> Response:
    """Forward the request to a replica of `service`."""
    if service not in ROUTED_SERVICES:
        raise HTTPException(status_code=404, detail=f"no such service: {service}")
    client = request.app.state.clients[service]
    upstream_path = f"/{service}/{path}" if path else f"/{service}"
    response = await client.request(
        request.method,
        upstream_path,
        params=request.query_params.multi_items(),
        headers=forwardable(request.headers),
        content=await request.body(),
    )
    return Response(content=response.content, status_code=response.status_code,
                    headers=forwardable(response.headers))
