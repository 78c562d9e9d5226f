"""Bring the native stack up in dependency order, waiting on each component's health check.

Compose semantics, natively: a service starts once each dependency has reached the
state its `depends_on` asks for (service_started, service_healthy,
service_completed_successfully); "healthy" means its compose health check passed.
Progress is printed as it happens: what is starting, what became healthy, how long it took.
"""

import contextlib
import io
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from chassis import healthcheck as http_probe
from stackctl.launch import process_env
from stackctl.plan import build_plan, load_plan
from stackctl.settings import get_settings
from stackctl.supervisor import Supervisor, render_conf
from stackctl.translate import NativeService

# A shared or slow machine may need longer (STACK_UP_TIMEOUT): startup is CPU-bound imports.
UP_TIMEOUT_SECONDS = float(os.environ.get("STACK_UP_TIMEOUT", "300"))


def run_healthcheck(service: NativeService, timeout: float = 10) -> bool:
    """Run the compose health check of `service` once, natively."""
    if service.healthcheck is None:
        return True
    if service.healthcheck[-3:-1] == ["-m", "chassis.healthcheck"]:
        # The apps' HTTP probe, run in this process: starting a Python interpreter per probe costs more
        # CPU than the probe itself, and on a busy machine can outlast the probe's timeout.
        with contextlib.redirect_stderr(io.StringIO()):  # "unhealthy: ..." is the answer, not news
            return http_probe.main(service.healthcheck[-1], timeout=min(timeout, 5.0)) == 0
    try:
        result = subprocess.run(service.healthcheck, env=process_env(service), cwd=get_settings().project_dir,
                                capture_output=True, timeout=timeout)
    except (subprocess.TimeoutExpired, FileNotFoundError):
        return False
    return result.returncode == 0


def state_of(service: NativeService, info: dict | None) -> str:
    """'absent', 'stopped', 'starting', 'running', 'exited-ok', 'failed' from supervisord's view."""
    if service.absent:
        return "absent"
    if info is None:
        return "stopped"
    name = info["statename"]
    if name == "RUNNING":
        return "running"
    if name in ("STARTING", "BACKOFF"):
        return "starting"
    if name == "EXITED":
        return "exited-ok" if info["exitstatus"] == 0 else "failed"
    if name == "FATAL":
        return "failed"
    return "stopped"


class Progress:
    """Timestamped progress lines, so a slow start shows where the time goes."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def say(self, name: str, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {name:<30} {message}", flush=True)


def up() -> None:
    """Start every component, in dependency order, and wait until all are healthy."""
    settings = get_settings()
    plan = build_plan()
    settings.supervisor_conf.write_text(render_conf(plan, settings))
    supervisor = Supervisor(settings)
    supervisor.ensure_started()
    progress = Progress()
    ready: dict[str, str] = {}  # name -> "healthy" | "started" | "completed" | "absent"
    began: dict[str, float] = {}

    def satisfied(service: NativeService) -> bool:
        for dependency, condition in service.depends_on.items():
            reached = ready.get(dependency)
            if condition == "service_healthy" and reached not in ("healthy", "completed"):
                return False
            if condition == "service_completed_successfully" and reached != "completed":
                return False
            if condition == "service_started" and reached is None:
                return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        deadline = time.monotonic() + UP_TIMEOUT_SECONDS
        while len(ready) < len(plan):
            if time.monotonic() > deadline:
                waiting = [name for name in plan if name not in ready]
                raise SystemExit(f"timed out after {UP_TIMEOUT_SECONDS:.0f}s waiting for: {', '.join(waiting)}\n"
                                 f"see logs in {settings.logs_dir}")
            infos = supervisor.all_info()
            checks = {}
            for name, service in plan.items():
                if name in ready:
                    continue
                if service.absent:
                    ready[name] = "absent"
                    progress.say(name, "absent in the native runtime (Docker only)")
                    continue
                state = state_of(service, infos.get(name))
                if name not in began:
                    if not satisfied(service):
                        continue
                    began[name] = time.monotonic()
                    if state in ("stopped", "failed") or (state == "exited-ok" and not service.oneshot):
                        progress.say(name, f"starting on {service.address}")
                        supervisor.start(name)
                        continue
                if state == "failed":
                    tail = (settings.logs_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                    raise SystemExit(f"{name} failed to start; last log lines:\n{tail}")
                if service.oneshot:
                    if state == "exited-ok":
                        ready[name] = "completed"
                        progress.say(name, f"completed ({time.monotonic() - began[name]:.1f}s)")
                elif state == "running":
                    checks[name] = pool.submit(run_healthcheck, service)
            for name, check in checks.items():
                if check.result():
                    ready[name] = "healthy"
                    progress.say(name, f"healthy ({time.monotonic() - began[name]:.1f}s)")
            time.sleep(0.3)
    progress.say("stack", f"all {sum(1 for r in ready.values() if r != 'absent')} components up")
    print_urls(plan)


def print_urls(plan: dict[str, NativeService]) -> None:
    def url(name: str, port: int, path: str = "") -> str:
        return f"http://{'localhost' if plan[name].published else plan[name].address}:{port}{path}"

    print("\nScaleShop is up:")
    print(f"  storefront         {url('nginx', 8080, '/')}")
    print(f"  control room       {url('nginx', 8080, '/lab/')}")
    print(f"  shop API (nginx)   {url('nginx', 8080, '/api/products')}")
    print(f"  OpenAPI docs       {url('nginx', 8080, '/api/docs')}")
    print(f"  Prometheus         {url('prometheus', 9090)}")
    print("  Grafana            Docker runtime only (STACK_RUNTIME=docker make up)")
    print("  make ps | make logs NAME=orders-2 | make kill NAME=orders-2 | make down")


def ps() -> None:
    """Every component with its address, pid/state and health."""
    settings = get_settings()
    plan = load_plan()
    supervisor = Supervisor(settings)
    infos = supervisor.all_info() if supervisor.is_running() else {}
    with ThreadPoolExecutor(max_workers=8) as pool:
        health = {name: pool.submit(run_healthcheck, s) for name, s in plan.items()
                  if state_of(s, infos.get(name)) == "running"}
        print(f"{'NAME':<30} {'ADDRESS':<15} {'PID':>7}  {'STATE':<10} {'HEALTH':<10} UPTIME")
        for name, service in plan.items():
            info = infos.get(name, {})
            state = state_of(service, info or None)
            verdict = ("healthy" if health[name].result() else "unhealthy") if name in health else "-"
            uptime = f"{int(info['now'] - info['start'])}s" if state == "running" else "-"
            address = "-" if service.absent else service.address
            print(f"{name:<30} {address:<15} {info.get('pid') or '-':>7}  {state:<10} {verdict:<10} {uptime}")


def down() -> None:
    """Stop every component and supervisord; data stays in the state directory."""
    settings = get_settings()
    supervisor = Supervisor(settings)
    if not supervisor.is_running():
        print("native stack is not running")
        return
    plan = load_plan()
    # Reverse dependency order: the edge first, databases last, so nothing in flight is cut.
    for name in reversed(list(plan)):
        if not plan[name].absent:
            supervisor.stop(name)
    supervisor.shutdown()
    deadline = time.monotonic() + 30
    while settings.supervisor_socket.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    print("native stack stopped (data kept; `make clean` wipes it)")


def wait_healthy(name: str, timeout: float = 60, since: float = 0.0) -> float:
    """Wait until `name` is running and healthy again (a one-shot: has completed a run that
    stopped after `since`, a Unix time); return how long it took."""
    settings = get_settings()
    service = load_plan()[name]
    supervisor = Supervisor(settings)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        info = supervisor.info(name)
        state = state_of(service, info)
        if service.oneshot and state == "failed" and info["stop"] >= since:
            raise SystemExit(f"{name} failed: see {settings.logs_dir / (name + '.log')}")
        if service.oneshot:
            done = state == "exited-ok" and info["stop"] >= since
        else:
            done = state == "running" and run_healthcheck(service)
        if done:
            return time.monotonic() - started
        time.sleep(0.2)
    print(f"{name} not healthy after {timeout}s", file=sys.stderr)
    raise SystemExit(1)


def recreate(name: str, timeout: float = 300) -> float:
    """Like `docker compose up -d NAME`: translate the compose file again (with the current
    environment, e.g. a changed latency knob) and restart what changed, without waiting on the
    health of the whole stack; return how long until NAME was healthy again."""
    settings = get_settings()
    supervisor = Supervisor(settings)
    was_running = {n for n, info in supervisor.all_info().items() if info["statename"] == "RUNNING"}
    plan = build_plan()
    settings.supervisor_conf.write_text(render_conf(plan, settings))
    supervisor.ensure_started()  # stops and re-adds the programs whose translation changed
    infos = supervisor.all_info()
    for other in was_running - {name}:
        if other in infos and infos[other]["statename"] != "RUNNING":
            supervisor.start(other)  # changed too (e.g. a mounted config): back with its new spec
    supervisor.start(name)
    return wait_healthy(name, timeout=timeout)

