"""Run podman's container health checks on schedule, where no systemd can.

Podman does not run health checks itself: for each container with a HEALTHCHECK it asks systemd
for a transient timer that calls `podman healthcheck run ID` every interval. Without systemd
("unable to get systemd connection to add healthchecks") no check ever runs, every container
stays "starting" and compose's `depends_on: condition: service_healthy` waits forever. This loop
is that timer: each running container's check runs every `interval` (podman applies retries,
timeouts and the start period and records the status that compose reads through the API).

    CONTAINERS_CONF=infra/podman/containers.conf python scripts/podman_healthchecks.py

Used by scripts/test-docker.sh only on the podman path; a real Docker engine runs its own checks.
"""

import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

TICK_S = 2.0
# Checks at once: ~40 containers, and on a loaded 2-core machine one `podman healthcheck run`
# took up to a minute (mostly waiting), so 4 at once left each container unchecked for minutes.
PARALLEL_CHECKS = 12


def running_containers() -> list[str]:
    return subprocess.run(["podman", "ps", "-q", "--no-trunc"], capture_output=True, text=True).stdout.split()


def check_interval(container_id: str) -> float | None:
    """The container's health-check interval in seconds, None when it has no check."""
    result = subprocess.run(["podman", "inspect", container_id], capture_output=True, text=True)
    containers = json.loads(result.stdout or "[]")
    check = ((containers[0].get("Config") or {}).get("Healthcheck") or {}) if containers else {}
    if not check.get("Test") or check["Test"] == ["NONE"]:
        return None
    return (check.get("Interval") or 30_000_000_000) / 1e9


def run_check(container_id: str) -> None:
    subprocess.run(["podman", "healthcheck", "run", container_id], capture_output=True)


def main() -> None:
    intervals: dict[str, float | None] = {}  # inspected once per container (ids survive restarts)
    due: dict[str, float] = {}
    in_flight: set[str] = set()
    with ThreadPoolExecutor(PARALLEL_CHECKS) as pool:
        while True:
            now = time.monotonic()
            for container_id in running_containers():
                if container_id not in intervals:
                    intervals[container_id] = check_interval(container_id)
                interval = intervals[container_id]
                if interval is None or container_id in in_flight or due.get(container_id, 0) > now:
                    continue
                due[container_id] = now + interval
                in_flight.add(container_id)
                pool.submit(run_check, container_id).add_done_callback(
                    lambda _future, cid=container_id: in_flight.discard(cid))
            time.sleep(TICK_S)


if __name__ == "__main__":
    main()
