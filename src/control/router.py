"""The control API's routes, all under /control (the edge exposes them as /api/control/...).

Every route needs the development admin (control/auth.py); every action is audited.
"""

import asyncio
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from redis.exceptions import RedisError

from chassis.flag_catalogue import CATALOGUE
from chassis.flag_store import FlagsRefused
from chassis.flags import store_for

from control import audit
from control.auth import Admin
from control.loadgen import SHAPES

router = APIRouter(prefix="/control", tags=["control"])

# Files the lab may show as "the code that implements it": the repository's own sources.
CODE_ROOTS = ("src/", "infra/", "loadtests/", "bench/", "web/src/", "web/lab/", "k8s/", "chaos/")
CODE_FILES = ("docker-compose.yml", "Makefile", "Dockerfile", "README.md")


# One action per component at a time (the control API is one process: WEB_CONCURRENCY=1).
# A stop waits for the component to drain (gunicorn's graceful shutdown takes seconds); a start
# sent meanwhile, say a second click in the lab, would find it still "stopping" and do nothing
# (supervisord and Docker both answer "already running"), leaving it stopped. Serialised, the
# start runs once the stop is through.
ACTION_LOCKS: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)


class LoadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shape: Literal[SHAPES]  # type: ignore[valid-type]
    users: int = Field(10, ge=1, le=100)
    seconds: int = Field(60, ge=5, le=3600)


@router.get("/components")
async def list_components(request: Request, _: Admin) -> dict:
    """Every component of the compose topology with its state, health, role and dependencies."""
    runtime = request.app.state.runtime
    settings = request.app.state.settings
    try:
        components = await runtime.components()
    except Exception as error:  # supervisord or the Docker engine not answering
        raise HTTPException(status_code=503, detail=f"{runtime.name} runtime: {error}") from error
    return {"runtime": runtime.name, "components": components,
            "load": request.app.state.load.status(), "grafana": settings.grafana_url or None}


@router.post("/components/{name}/{action}")
async def act_on_component(name: str, action: Literal["kill", "stop", "start"], request: Request, who: Admin) -> dict:
    """SIGKILL (the supervisor restarts it), stop, or start one component."""
    runtime = request.app.state.runtime
    if not await runtime.known(name):
        audit.record(who, action, name, "refused: unknown component")
        raise HTTPException(status_code=404, detail=f"unknown component {name!r}")
    try:
        async with ACTION_LOCKS[name]:
            message = await runtime.act(name, action)
    except Exception as error:
        audit.record(who, action, name, f"failed: {error}")
        raise HTTPException(status_code=503, detail=f"{runtime.name} runtime: {action} {name} failed: {error}") from error
    audit.record(who, action, name, "done")
    return {"component": name, "action": action, "message": message}


@router.get("/load")
async def load_status(request: Request, _: Admin) -> dict:
    """The load shape running now, if any."""
    return request.app.state.load.status()


@router.post("/load", status_code=202)
async def start_load(data: LoadRequest, request: Request, who: Admin) -> dict:
    """Start a Locust load shape against the edge (one at a time, bounded in users and time)."""
    settings = request.app.state.settings
    users = min(data.users, settings.control_load_max_users)
    seconds = min(data.seconds, settings.control_load_max_seconds)
    try:
        status = await request.app.state.load.start(data.shape, users, seconds)
    except RuntimeError as error:
        audit.record(who, "load", data.shape, f"refused: {error}")
        raise HTTPException(status_code=409, detail=str(error)) from error
    audit.record(who, "load", data.shape, "started", users=users, seconds=seconds)
    return {**status, "message": f"{data.shape} load started: {users} users for {seconds} s"}


@router.delete("/load")
async def stop_load(request: Request, who: Admin) -> dict:
    """Stop the running load shape."""
    status = await request.app.state.load.stop()
    audit.record(who, "load-stop", status.get("shape", "-"), "done")
    return {**status, "message": "load stopped"}


@router.get("/audit")
async def recent_actions(_: Admin) -> dict:
    """The last actions taken through the control API: who and what."""
    return {"items": list(audit.RECENT)}


@router.get("/code", response_class=PlainTextResponse)
async def read_code(request: Request, _: Admin, path: Annotated[str, Query(min_length=1, max_length=300)]) -> str:
    """One source file of the repository, read-only (the lab's "link to the code")."""
    root: Path = request.app.state.project_dir
    target = (root / path).resolve()
    relative = target.relative_to(root).as_posix() if target.is_relative_to(root) else None
    if relative is None or not (relative.startswith(CODE_ROOTS) or relative in CODE_FILES):
        raise HTTPException(status_code=404, detail="not a source file of this repository")
    if not target.is_file():
        raise HTTPException(status_code=404, detail=f"{relative} is not in this runtime's copy of the repository")
    return target.read_text(errors="replace")[:200_000]


@router.get("/logs")
async def logs_of_request(request: Request, _: Admin,
                          request_id: Annotated[str, Query(min_length=8, max_length=128, pattern=r"^[\w-]+$")]) -> dict:
    """Every log line of one request across all components (natively; under Docker use `docker compose logs`)."""
    try:
        return {"request_id": request_id, "lines": request.app.state.runtime.logs(request_id)}
    except NotImplementedError as error:
        raise HTTPException(status_code=501, detail=str(error)) from error


@router.get("/deploys")
async def recent_deploys(request: Request, _: Admin) -> dict:
    """The newest steps of rolling, canary and blue-green deploys, newest first: each canary
    analysis (error rate and p95 of canary vs baseline), promotion and rollback."""
    try:
        return {"items": await asyncio.to_thread(request.app.state.runtime.deploys)}
    except NotImplementedError as error:
        raise HTTPException(status_code=501, detail=str(error)) from error


class FlagValue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: bool | int | float | str | dict


@router.get("/flags")
async def list_flags(request: Request, _: Admin) -> dict:
    """Every flag of the catalogue with its default, and what is set now (the issue-11 flag store)."""
    store = store_for(request.app.state.settings)
    try:
        stored = await asyncio.to_thread(store.read_all)
    except RedisError as error:
        raise HTTPException(status_code=503, detail=f"flag store unavailable: {error}") from error
    return {"catalogue": {name: {"default": spec.default, "help": spec.help, "fault": spec.fault}
                          for name, spec in CATALOGUE.items()}, "set": stored}


@router.put("/flags/{field}")
async def set_flag(field: str, data: FlagValue, request: Request, who: Admin) -> dict:
    """Set a flag (`latency_ms@products-1`: one replica); services apply it within a second."""
    store = store_for(request.app.state.settings)
    try:
        stored = await asyncio.to_thread(store.set, field, data.value)
    except KeyError as error:
        audit.record(who, "flag", field, "refused: unknown flag")
        raise HTTPException(status_code=404, detail=str(error.args[0])) from error
    except ValueError as error:
        raise HTTPException(status_code=422, detail=str(error)) from error
    except FlagsRefused as error:
        raise HTTPException(status_code=403, detail=str(error)) from error
    except RedisError as error:
        raise HTTPException(status_code=503, detail=f"flag store unavailable: {error}") from error
    audit.record(who, "flag", field, "set", value=stored)
    return {"flag": field, "value": stored, "message": f"{field} = {stored}"}


@router.delete("/flags/{field}")
async def clear_flag(field: str, request: Request, who: Admin) -> dict:
    """Put one flag back to its default."""
    store = store_for(request.app.state.settings)
    try:
        removed = await asyncio.to_thread(store.clear, field)
    except RedisError as error:
        raise HTTPException(status_code=503, detail=f"flag store unavailable: {error}") from error
    audit.record(who, "flag-clear", field, "done")
    return {"flag": field, "cleared": removed, "message": f"{field} back to its default"}
