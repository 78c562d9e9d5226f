"""The isolated native stack the live tests run against.

It is the same runtime as `make up` (stackctl over docker-compose.yml) with its own
state directory and loopback range and no published ports, so a developer's running
stack is untouched. Override the range with TEST_STACK_NET to run two suites at once.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


class TestStack:
    __test__ = False  # not a test class

    def __init__(self) -> None:
        net = os.environ.get("TEST_STACK_NET", "127.20.0")
        self.env = {
            **os.environ,
            "STACK_STATE_DIR": str(ROOT / f".stack-test-{net.replace('.', '-')}"),
            "STACK_NET": net,
            "STACK_PUBLISH": "0",
        }
        self.state_dir = Path(self.env["STACK_STATE_DIR"])

    def ctl(self, *args: str, check: bool = True, capture: bool = False) -> subprocess.CompletedProcess:
        """Run `python -m stackctl ARGS` against this stack, streaming its progress."""
        return subprocess.run([sys.executable, "-m", "stackctl", *args], env=self.env, cwd=ROOT, check=check,
                              text=True, capture_output=capture)

    def plan(self) -> dict:
        return json.loads((self.state_dir / "plan.json").read_text())

    def address(self, name: str) -> str:
        return self.plan()[name]["address"]

    def url(self, name: str, port: int) -> str:
        return f"http://{self.address(name)}:{port}"

    @property
    def nginx(self) -> str:
        """The shop's public entry (http://localhost:8080 in a developer's stack)."""
        return self.url("nginx", 8080)

    @property
    def prometheus(self) -> str:
        return self.url("prometheus", 9090)

    def patroni_cluster(self) -> dict:
        """Patroni's view of products-db (members, roles, timelines), from whichever node answers."""
        for node in ("products-db-1", "products-db-2"):
            try:
                return httpx.get(self.url(node, 8008) + "/cluster", timeout=5).json()
            except httpx.HTTPError:
                continue
        raise AssertionError("no Patroni node of products-db answers")

    def patroni_replica(self) -> str:
        return next(m["name"] for m in self.patroni_cluster()["members"] if m["role"] != "leader")

    def log(self, name: str) -> str:
        return (self.state_dir / "logs" / f"{name}.log").read_text(errors="replace")

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.nginx, **{"timeout": 10, **kwargs})
