"""The native stack a drill acts on: addresses from its plan, supervisord to stop and start
components, the same environment variables as stackctl (STACK_STATE_DIR, ...)."""

import json
import os
import signal
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from stackctl import orchestrate, signals
from stackctl.plan import load_plan
from stackctl.settings import get_settings
from stackctl.supervisor import Supervisor

ROOT = Path(__file__).resolve().parents[1]
PATRONI_NODES = ("products-db-1", "products-db-2")


class Stack:
    def __init__(self) -> None:
        self.settings = get_settings()
        self.plan = load_plan()
        self.supervisor = Supervisor(self.settings)

    def address(self, name: str) -> str:
        return self.plan[name].address

    @property
    def nginx(self) -> str:
        return f"http://{'127.0.0.1' if self.plan['nginx'].published else self.address('nginx')}:8080"

    def env(self, name: str) -> dict[str, str]:
        return self.plan[name].env

    def stop(self, name: str) -> None:
        self.supervisor.stop(name)

    def start(self, name: str, timeout: float = 180) -> float:
        since = int(time.time())
        self.supervisor.start(name)
        return orchestrate.wait_healthy(name, timeout=timeout, since=since)

    def crash(self, name: str) -> None:
        """A Patroni node dies at once, agent and Postgres together (SIGKILL), and stays down."""
        service = self.plan[name]
        self.kill_and_keep_down(name, signals.postmaster_pid(service))

    def kill_and_keep_down(self, name: str, *more_pids: int) -> None:
        """SIGKILL the component (and `more_pids`) and keep it down: a lost machine, not a restart.

        supervisord restarts a program that exits on its own, so killing first and stopping after
        races with that restart (under load the restarted server wins). Instead, in one instant:
        freeze the process group (SIGSTOP: nothing more is written or answered), tell supervisord
        the program is stopping (an exit while STOPPING is expected, never restarted), SIGKILL the
        group. supervisord starts every program in its own process group."""
        groups = {self.supervisor.info(name)["pid"], *more_pids}
        self._signal_groups(groups, signal.SIGSTOP)
        self.supervisor.rpc.stopProcess(name, False)
        self._signal_groups(groups, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while self.supervisor.info(name)["statename"] != "STOPPED":
            if time.monotonic() > deadline:
                raise SystemExit(f"could not keep {name} down")
            time.sleep(0.05)

    @staticmethod
    def _signal_groups(pids: set[int], signum: int) -> None:
        for pid in pids - {0}:  # 0 (not running) would mean our own process group
            for send in (os.killpg, os.kill):  # the process group, and the process if it leads none
                try:
                    send(pid, signum)
                except ProcessLookupError:
                    pass

    def kill(self, name: str) -> str:
        return signals.kill(self.plan[name])

    def exec(self, name: str, argv: list[str]) -> int:
        return signals.exec_in(self.plan[name], argv)

    def log(self, name: str) -> str:
        return (self.settings.logs_dir / f"{name}.log").read_text(errors="replace")


def patroni_cluster(stack: Stack, timeout: float = 2.0) -> dict:
    """Patroni's view of products-db (members, roles, timelines) from whichever node answers."""
    for node in PATRONI_NODES:
        try:
            return httpx.get(f"http://{stack.address(node)}:8008/cluster", timeout=timeout).json()
        except (httpx.HTTPError, json.JSONDecodeError):
            continue
    return {"members": []}


def leader_of(cluster: dict) -> dict | None:
    return next((m for m in cluster.get("members", []) if m.get("role") == "leader"), None)


def libpq_dsn(async_url: str, **extra: str) -> str:
    """A libpq connection string from a compose SQLAlchemy URL (multi-host `?host=a:5432&host=b:5432` too)."""
    parts = urlsplit(async_url.replace("postgresql+asyncpg://", "postgresql://"))
    query = {key: values for key, values in parse_qs(parts.query).items()}
    hosts = query.pop("host", None) or [f"{parts.hostname}:{parts.port or 5432}"]
    fields = {
        "host": ",".join(h.rsplit(":", 1)[0] for h in hosts),
        "port": ",".join(h.rsplit(":", 1)[1] if ":" in h else "5432" for h in hosts),
        "dbname": parts.path.lstrip("/"),
        "user": parts.username,
        "password": parts.password,
        **{key: values[-1] for key, values in query.items()},
        **extra,
    }
    return " ".join(f"{key}={value}" for key, value in fields.items())


def report_dir(kind: str, label: str) -> Path:
    path = ROOT / "reports" / kind / f"{time.strftime('%Y%m%d-%H%M%S')}-{label}"
    path.mkdir(parents=True, exist_ok=True)
    return path
