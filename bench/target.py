"""The running stack the bench measures: where it answers and how to stop, start or kill a component.

Knobs (environment): BENCH_RUNTIME native|docker (set by `make bench`), BENCH_STATE_DIR
(default STACK_STATE_DIR, else .stack: a manual stack started with its own
STACK_STATE_DIR/STACK_NET), BENCH_HOST (default: that stack's nginx on :8080).
The native runtime gives the bench every component's address and environment, which
the scenarios that start an extra process need; under Docker those are skipped.
"""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


class StackNotUp(SystemExit):
    pass


@dataclass
class Target:
    runtime: str
    host: str
    state_dir: Path
    plan: dict

    @property
    def native(self) -> bool:
        return self.runtime == "native" and bool(self.plan)

    def address(self, name: str) -> str:
        return self.plan[name]["address"]

    def env_of(self, name: str) -> dict[str, str]:
        return dict(self.plan[name]["env"])

    def spare_address(self, index: int) -> str:
        """A loopback address no component of the stack uses (x.y.z.240 + index)."""
        if not self.native:
            return f"127.0.99.{index + 1}"
        used = {item["address"] for item in self.plan.values()}
        net = self.address("redis").rsplit(".", 1)[0]
        candidate = f"{net}.{240 + index}"
        if candidate in used:
            raise RuntimeError(f"{candidate} is taken by the stack")
        return candidate

    def ctl(self, action: str, name: str) -> str:
        """stop|start|kill|wait a component, like `make stop NAME=...` in this runtime."""
        if self.runtime == "docker":
            argv = ["docker", "compose", action, name]  # `docker compose kill` sends SIGKILL
        else:
            argv = [sys.executable, "-m", "stackctl", action, name]
        env = {**os.environ, "STACK_STATE_DIR": str(self.state_dir), "PYTHONPATH": str(ROOT / "src")}
        return subprocess.run(argv, env=env, cwd=ROOT, check=True, capture_output=True, text=True,
                              timeout=320).stdout.strip()


def discover() -> Target:
    """The stack named by the environment; StackNotUp with what to do when it does not answer."""
    runtime = os.environ.get("BENCH_RUNTIME", "native")
    state_dir = Path(os.environ.get("BENCH_STATE_DIR") or os.environ.get("STACK_STATE_DIR") or ROOT / ".stack")
    plan_file = state_dir / "plan.json"
    plan = json.loads(plan_file.read_text()) if runtime == "native" and plan_file.exists() else {}
    default_host = f"http://{plan['nginx']['address']}:8080" if "nginx" in plan else "http://localhost:8080"
    host = os.environ.get("BENCH_HOST", default_host).rstrip("/")
    try:
        answer = httpx.get(f"{host}/api/products/whoami", timeout=3)
        answer.raise_for_status()
    except httpx.HTTPError as error:
        raise StackNotUp(f"the stack is not up at {host} ({error}): run `make up` first "
                         f"(or point BENCH_HOST/BENCH_STATE_DIR at a running stack)") from error
    return Target(runtime=runtime, host=host, state_dir=state_dir, plan=plan)
