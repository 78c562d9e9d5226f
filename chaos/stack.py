"""The running stack an experiment acts on, in either runtime (the same verbs as `make kill|stop|start`).

Knobs (environment, set by `make chaos` and passed on to the Chaos Toolkit process):
CHAOS_RUNTIME native|docker, STACK_STATE_DIR (native: which stack), CHAOS_HOST (the
shop's entry, default that stack's nginx on :8080), CHAOS_STATE_DIR (where actions
note when they injected a fault, for the probes' "seconds to steady state").
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def runtime() -> str:
    return os.environ.get("CHAOS_RUNTIME", "native")


def state_dir() -> Path:
    return Path(os.environ.get("STACK_STATE_DIR", ROOT / ".stack"))


def address(name: str) -> str:
    if runtime() == "docker":
        return "localhost"
    return json.loads((state_dir() / "plan.json").read_text())[name]["address"]


def host() -> str:
    return os.environ.get("CHAOS_HOST") or f"http://{address('nginx')}:8080"


def ctl(action: str, name: str, *, check: bool = True) -> subprocess.CompletedProcess:
    """kill|stop|start|wait one component (stackctl natively, docker compose under Docker)."""
    if runtime() == "docker":
        argv = ["docker", "compose", action, name] if action != "wait" else ["docker", "compose", "up", "-d", "--wait", name]
    else:
        argv = [sys.executable, "-m", "stackctl", action, name]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=check, timeout=600)


def flagctl(*args: str) -> subprocess.CompletedProcess:
    """The flag CLI against this stack's flag store (chassis.flagctl, what `make flag` runs)."""
    if runtime() == "docker":
        argv = ["docker", "compose", "exec", "-T", "worker", "python", "-m", "chassis.flagctl", *args]
        env = dict(os.environ)
    else:
        argv = [sys.executable, "-m", "chassis.flagctl", *args]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"),
               "FLAGS_REDIS_URL": f"redis://{address('queue-redis')}:6379/0"}
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=60)


def note(event: str, **fields) -> None:
    """Record when something happened (a fault injected, a component back), for the probes and the report."""
    directory = Path(os.environ.get("CHAOS_STATE_DIR", ROOT / "reports" / "chaos" / ".state"))
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "events.jsonl").open("a") as events:
        events.write(json.dumps({"event": event, "at": time.time(), **fields}) + "\n")


def events() -> list[dict]:
    path = Path(os.environ.get("CHAOS_STATE_DIR", ROOT / "reports" / "chaos" / ".state")) / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
