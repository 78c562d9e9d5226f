"""The control API (development only): `control.main:create_app()` under gunicorn.

It picks the runtime it can drive: natively, supervisord through stackctl (the native
runtime tells its programs where the stack lives: STACK_STATE_DIR); under Docker, the
Engine API on the mounted socket (compose profile `lab`). Neither: it still answers,
and says that no runtime is reachable.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from chassis.app import create_service_app
from control.loadgen import LoadGenerator
from control.router import router
from control.settings import ControlSettings, get_settings

PROJECT_DIR = Path(__file__).resolve().parents[2]


def pick_runtime(settings: ControlSettings):
    if os.environ.get("STACK_RUNTIME") == "native" and os.environ.get("STACK_STATE_DIR"):
        from control.native import NativeRuntime

        return NativeRuntime(settings.control_health_interval_seconds)
    if Path(settings.docker_socket).exists():
        from control.docker import DockerRuntime

        return DockerRuntime(settings.docker_socket)
    from control.unavailable import NoRuntime

    return NoRuntime()


def create_app(settings: ControlSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    project_dir = Path(os.environ.get("STACK_PROJECT_DIR", PROJECT_DIR)).resolve()

    @asynccontextmanager
    async def runtime(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = pick_runtime(settings)
        app.state.load = LoadGenerator(settings.control_load_host, project_dir)
        app.state.project_dir = project_dir
        await app.state.runtime.start()
        try:
            yield
        finally:
            await app.state.load.stop()
            await app.state.runtime.close()

    app = create_service_app(settings, title="ScaleShop control API (development only)", routers=[router],
                             resources=[runtime], use_database=False)
    app.state.settings = settings
    app.state.project_dir = project_dir
    return app
