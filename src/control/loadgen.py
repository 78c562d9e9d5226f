"""Load shapes started from the lab: one Locust run at a time, headless, against the edge.

The same locustfile and shapes as `make load` (loadtests/), bounded in users and time
so a click cannot leave a machine saturated: Locust stops by itself when the shape ends,
and stopping sends it SIGTERM (then SIGKILL).
"""

import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

SHAPES = ("steady", "ramp", "spike", "soak")
log = structlog.get_logger("control.load")


@dataclass
class LoadRun:
    shape: str
    users: int
    seconds: int
    started: float
    process: asyncio.subprocess.Process

    def describe(self) -> dict:
        running = self.process.returncode is None
        return {"running": running, "shape": self.shape, "users": self.users, "seconds": self.seconds,
                "elapsed_s": round(time.time() - self.started, 1), "exit_code": self.process.returncode}


class LoadGenerator:
    def __init__(self, host: str, project_dir: Path):
        self.host = host
        self.project_dir = project_dir
        self.run: LoadRun | None = None

    def status(self) -> dict:
        return self.run.describe() if self.run else {"running": False}

    async def start(self, shape: str, users: int, seconds: int) -> dict:
        if self.run and self.run.process.returncode is None:
            raise RuntimeError(f"a {self.run.shape} load is already running; stop it first")
        env = {**os.environ, "LOAD_SHAPE": shape, "LOAD_USERS": str(users), "LOAD_DURATION": str(seconds)}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "locust", "-f", str(self.project_dir / "loadtests" / "locustfile.py"),
            "--headless", "--host", self.host, "--only-summary", "--loglevel", "WARNING",
            env=env, cwd=self.project_dir, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        self.run = LoadRun(shape, users, seconds, time.time(), process)
        log.info("load started", shape=shape, users=users, seconds=seconds, pid=process.pid, host=self.host)
        return self.run.describe()

    async def stop(self) -> dict:
        if not self.run or self.run.process.returncode is not None:
            return self.status()
        self.run.process.terminate()
        try:
            await asyncio.wait_for(self.run.process.wait(), timeout=10)
        except TimeoutError:
            self.run.process.kill()
            await self.run.process.wait()
        log.info("load stopped", shape=self.run.shape)
        return self.status()
