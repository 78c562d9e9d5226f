"""The native runtime's side of the control API: supervisord through stackctl's own code.

Components come from the plan stackctl derived from docker-compose.yml; state from
supervisord; health from each component's compose health check, probed in the
background: HTTP checks (`chassis.healthcheck URL`, `wget`/`curl URL`) in-process every
CONTROL_HEALTH_INTERVAL_SECONDS (a subprocess per probe would cost more CPU than the
services), other commands (`pg_isready`, `redis-cli ping`, `celery inspect ping`) as
the command itself at the compose interval. A verdict follows Docker's rules, so the lab
shows the same picture in both runtimes: "starting" until the first pass, "healthy" from then
on, "unhealthy" only after RETRIES failures in a row (one probe that times out on a busy
machine is not an outage). Kill/stop/start are stackctl's: SIGKILL (supervisord restarts it,
like `restart: unless-stopped`), stop, start.
"""

import asyncio
import json
import time

import aiohttp
import structlog

from control.topology import role_of, tier_of
from stackctl.launch import process_env
from stackctl.orchestrate import state_of
from stackctl.plan import load_plan
from stackctl.settings import get_settings as stack_settings
from stackctl.supervisor import Supervisor
from stackctl.translate import NativeService

log = structlog.get_logger("control.native")

RETRIES = 3  # Docker's default `healthcheck.retries`: consecutive failures before "unhealthy"
PROBE_TIMEOUT_SECONDS = 5


def next_verdict(previous: str | None, passed: bool, failures: int) -> str:
    """Docker's health state machine: starting -> healthy on a pass; unhealthy after RETRIES failures."""
    if passed:
        return "healthy"
    if failures >= RETRIES:
        return "unhealthy"
    return previous or "starting"


def http_probe_url(argv: list[str] | None) -> str | None:
    """The URL of an HTTP health check, which can be probed in-process; None for other commands."""
    if not argv:
        return None
    is_http_tool = argv[0] in ("wget", "curl") or argv[:3] == ["python", "-m", "chassis.healthcheck"]
    urls = [arg for arg in argv if arg.startswith("http://")]
    return urls[-1] if is_http_tool and urls else None


class NativeRuntime:
    name = "native"

    def __init__(self, health_interval: float):
        self.settings = stack_settings()
        self.health_interval = health_interval
        self.health: dict[str, tuple[str, float, int]] = {}  # name -> (verdict, when, failures in a row)
        self.task: asyncio.Task | None = None
        self.session: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT_SECONDS))
        self.task = asyncio.create_task(self._probe_forever())

    async def close(self) -> None:
        if self.task:
            self.task.cancel()
        if self.session:
            await self.session.close()

    def _supervisor(self) -> Supervisor:
        return Supervisor(self.settings)

    def plan(self) -> dict[str, NativeService]:
        return load_plan()

    # ------------------------------------------------------------------ health probes
    async def _probe(self, service: NativeService) -> bool:
        url = http_probe_url(service.healthcheck)
        try:
            if url:
                async with self.session.get(url) as response:
                    return response.status == 200
            process = await asyncio.create_subprocess_exec(
                *service.healthcheck, env=process_env(service), cwd=self.settings.project_dir,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            try:
                return await asyncio.wait_for(process.wait(), timeout=10) == 0
            except TimeoutError:
                process.kill()
                return False
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False

    def _due(self, service: NativeService, now: float) -> bool:
        verdict = self.health.get(service.name)
        if verdict is None:
            return True
        interval = self.health_interval if http_probe_url(service.healthcheck) else max(service.health_interval, 5.0)
        return now - verdict[1] >= interval

    async def _probe_forever(self) -> None:
        limit = asyncio.Semaphore(6)

        async def probe(service: NativeService) -> None:
            async with limit:
                passed = await self._probe(service)
            previous, _, failures = self.health.get(service.name, (None, 0.0, 0))
            failures = 0 if passed else failures + 1
            self.health[service.name] = (next_verdict(previous, passed, failures), time.monotonic(), failures)

        while True:
            try:
                plan = self.plan()
                infos = await asyncio.to_thread(lambda: self._supervisor().all_info())
                now = time.monotonic()
                due = [service for name, service in plan.items()
                       if not service.oneshot and state_of(service, infos.get(name)) == "running"
                       and service.healthcheck and self._due(service, now)]
                await asyncio.gather(*(probe(service) for service in due))
            except Exception as error:  # a probe round must never end the loop (supervisord restarting, ...)
                log.warning("health probe round failed", error=repr(error))
            await asyncio.sleep(self.health_interval / 2)

    # ------------------------------------------------------------------ the API
    async def components(self) -> list[dict]:
        plan = self.plan()
        infos = await asyncio.to_thread(lambda: self._supervisor().all_info())
        components = []
        for name, service in plan.items():
            info = infos.get(name)
            state = state_of(service, info)
            if info and info["statename"] == "STOPPING":
                state = "stopping"  # draining (seconds for gunicorn): not stopped yet, a start would be lost
            if service.absent:
                health = "absent"
            elif service.oneshot:
                health = {"exited-ok": "completed", "failed": "failed"}.get(state, state)
            elif state == "running":
                health = self.health.get(name, ("starting",))[0] if service.healthcheck else "healthy"
            else:
                health = state
            tier = tier_of(name, service.kind, service.oneshot)
            components.append({
                "name": name, "kind": service.kind, "tier": tier, "role": role_of(name, service.kind, tier),
                "state": "completed" if health == "completed" else state, "health": health,
                "address": None if service.absent else service.address,
                "uptime_s": int(info["now"] - info["start"]) if info and state == "running" else None,
                "depends_on": sorted(service.depends_on),
            })
        return components

    async def known(self, name: str) -> bool:
        plan = self.plan()
        return name in plan and not plan[name].absent

    async def act(self, name: str, action: str) -> str:
        supervisor = self._supervisor()
        if action == "kill":
            await asyncio.to_thread(supervisor.kill, name)
            self.health.pop(name, None)
            return f"SIGKILL sent to {name}; the supervisor restarts it (restart: unless-stopped)"
        if action == "stop":
            await asyncio.to_thread(supervisor.stop, name)
            self.health.pop(name, None)
            return f"{name} stopped"
        await asyncio.to_thread(supervisor.start, name)
        self.health.pop(name, None)  # "starting" until its health check passes again
        return f"{name} started; it turns green when its health check passes"

    def logs(self, request_id: str, limit: int = 200) -> list[str]:
        """Every log line that carries `request_id`, across all components (newest files' last 2 MB)."""
        lines = []
        for path in sorted(self.settings.logs_dir.glob("*.log")):
            with path.open("rb") as file:
                file.seek(0, 2)
                file.seek(max(0, file.tell() - 2_000_000))
                for raw in file:
                    if request_id.encode() in raw:
                        lines.append(f"{path.stem}: {raw.decode(errors='replace').rstrip()}")
        return sorted(lines, key=lambda line: line.split(": ", 1)[1])[:limit]

    def deploys(self, limit: int = 50) -> list[dict]:
        """The newest steps of the deploys run against this stack, newest first (stackctl/deploy.py's feed)."""
        feed = self.settings.state_dir / "deploys.jsonl"
        lines = feed.read_text().splitlines()[-limit:] if feed.exists() else []
        return [json.loads(line) for line in reversed(lines) if line.strip()]
