"""The Docker path's fixture: the compose topology that scripts/test-docker.sh brought up.

Not part of `make test` (tests/docker is outside pytest's testpaths): `make test-docker` builds
the images, starts the topology and runs these tests against it through nginx.
"""

import os
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))  # checkout_support

from engine import Engine, health  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = Path(os.environ.get("DOCKER_TEST_STATE_DIR", ROOT / ".stack-docker"))
HEALTH_TIMEOUT_S = 600  # a first start on a busy 2-core machine; the figure is reported


class DockerStack:
    def __init__(self) -> None:
        self.url = os.environ.get("DOCKER_TEST_URL", "http://127.0.0.1:18480")
        self.engine = Engine(os.environ.get("DOCKER_TEST_PROJECT", "scaleshop-dockertest"))
        self.model = yaml.safe_load((STATE_DIR / "compose.yml").read_text())

    @property
    def services(self) -> dict[str, dict]:
        """The services `compose up` starts (those in a profile are started only on request)."""
        return {name: s for name, s in self.model["services"].items() if not s.get("profiles")}

    def oneshot(self, name: str) -> bool:
        return self.services[name].get("restart", "no") == "no"

    def unsettled(self) -> dict[str, str]:
        """Services not (yet) healthy, or one-shots not exited 0: name -> what they are."""
        containers = self.engine.containers()
        waiting = {}
        for name in self.services:
            state = health(containers[name]) if name in containers else "missing"
            settled = state == "exited(0)" if self.oneshot(name) else state in ("healthy", "running")
            if not settled:
                waiting[name] = state
        return waiting

    def wait_until_settled(self, timeout: float) -> float:
        started = time.monotonic()
        while waiting := self.unsettled():
            if time.monotonic() - started > timeout:
                raise AssertionError(f"not healthy after {timeout:.0f}s: {waiting}")
            time.sleep(2)
        return time.monotonic() - started

    def client(self, **kwargs) -> httpx.Client:
        # Longer than the edge's proxy_read_timeout (30 s): an answer the shop gives late is counted
        # as what it is (slow, or the edge's own 504), never cut off by the test first. Registering
        # (an argon2 hash) took 5-9 s through the edge at load average ~80.
        return httpx.Client(base_url=self.url, timeout=35, **kwargs)

    def record(self, line: str) -> None:
        """A figure for the run's report (reports/docker/test-docker-*.md)."""
        with (STATE_DIR / "e2e-figures.md").open("a") as figures:
            figures.write(line + "\n")


@pytest.fixture(scope="session")
def docker_stack() -> DockerStack:
    stack = DockerStack()
    (STATE_DIR / "e2e-figures.md").write_text("\n## e2e figures\n\n")
    waited = stack.wait_until_settled(HEALTH_TIMEOUT_S)
    stack.record(f"- every container healthy (one-shots exited 0) {waited:.0f} s after `compose up` returned")
    return stack
