"""Health checks (seed: load balancing, health checks): liveness is not readiness.

- GET /health/live: the process answers. A supervisor restarts it when this fails.
- GET /health/ready: deep check that each dependency this replica needs answers
  now; a load balancer takes the replica out of the pool on 503, and the body names
  what failed, so "why is orders-2 out of rotation?" has an answer.
"""

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

ReadinessCheck = Callable[[], Awaitable[None]]

router = APIRouter(prefix="/health", tags=["health"], include_in_schema=False)


@router.get("/live")
async def live(request: Request) -> dict:
    """The process is up and its event loop answers; which version it runs (a deploy's readiness gate reads it)."""
    settings = request.app.state.settings
    return {"status": "ok", "replica": settings.replica_name, "version": settings.service_version}


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    """Every dependency of this replica answers (Postgres, Redis, ...); 503 naming the ones that do not."""
    checks: dict[str, ReadinessCheck] = request.app.state.readiness_checks
    timeout = request.app.state.settings.readiness_timeout_seconds
    results = await asyncio.gather(*(_run(check, timeout) for check in checks.values()))
    outcome = dict(zip(checks, results))
    failed = {name: reason for name, reason in outcome.items() if reason != "ok"}
    body = {"status": "unavailable" if failed else "ok", "replica": request.app.state.settings.replica_name,
            "checks": outcome}
    if failed:
        body["detail"] = f"not ready: {', '.join(sorted(failed))} unavailable"
    return JSONResponse(status_code=503 if failed else 200, content=body)


async def _run(check: ReadinessCheck, timeout: float) -> str:
    try:
        await asyncio.wait_for(check(), timeout)
        return "ok"
    except Exception as error:  # any failure means "not ready"; the reason is reported, not raised
        return f"{type(error).__name__}: {error}"[:200] or type(error).__name__
