"""Run podman's container health checks on schedule, where no systemd can.

Podman does not run health checks itself: for each container with a HEALTHCHECK it asks systemd
for a transient timer that calls `podman healthcheck run ID` every interval. Without systemd
("unable to get systemd connection to add healthchecks") no check ever runs, every container
stays "starting" and compose's `depends_on: condition: service_healthy` waits forever. This loop
is that timer: each running container's check runs every `interval`, asked of the podman service
that test-docker.sh already runs (libpod API `GET /containers/{id}/healthcheck`: podman applies
retries, timeouts and the start period and records the status that compose reads).

Through the service, not the CLI: ~45 containers check every 5-15 s, and a `podman healthcheck
run` process per check (a Go binary opening the storage and its locks each time) kept a 2-core
machine saturated by itself while the topology started.

    DOCKER_HOST=unix:///path/podman.sock python scripts/podman_healthchecks.py

Used by scripts/test-docker.sh only on the podman path; a real Docker engine runs its own checks.
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

TICK_S = 1.0
# Checks at once: a check mostly waits (its command runs in the container), and a slow one must
# not hold back the others' schedules.
PARALLEL_CHECKS = 16


def engine() -> httpx.Client:
    socket = os.environ["DOCKER_HOST"].removeprefix("unix://")
    # No timeout: a check takes as long as its own timeout, which podman enforces.
    return httpx.Client(transport=httpx.HTTPTransport(uds=socket), base_url="http://podman/v4.0.0/libpod",
                        timeout=None)


def running_containers(client: httpx.Client) -> list[str]:
    return [c["Id"] for c in client.get("/containers/json").json()]


def check_interval(client: httpx.Client, container_id: str) -> float | None:
    """The container's health-check interval in seconds, None when it has no check."""
    response = client.get(f"/containers/{container_id}/json")
    if response.status_code != 200:
        return None
    check = (response.json().get("Config") or {}).get("Healthcheck") or {}
    if not check.get("Test") or check["Test"] == ["NONE"]:
        return None
    return (check.get("Interval") or 30_000_000_000) / 1e9


def run_check(client: httpx.Client, container_id: str) -> None:
    try:
        client.get(f"/containers/{container_id}/healthcheck")
    except httpx.HTTPError:
        pass  # the container went away; the next tick no longer lists it


def main() -> None:
    client = engine()
    intervals: dict[str, float | None] = {}  # inspected once per container (ids survive restarts)
    due: dict[str, float] = {}
    in_flight: set[str] = set()
    with ThreadPoolExecutor(PARALLEL_CHECKS) as pool:
        while True:
            now = time.monotonic()
            try:
                running = running_containers(client)
            except httpx.HTTPError:
                running = []  # the service is restarting or going away with the run
            for container_id in running:
                if container_id not in intervals:
                    intervals[container_id] = check_interval(client, container_id)
                interval = intervals[container_id]
                if interval is None or container_id in in_flight or due.get(container_id, 0) > now:
                    continue
                due[container_id] = now + interval
                in_flight.add(container_id)
                pool.submit(run_check, client, container_id).add_done_callback(
                    lambda _future, cid=container_id: in_flight.discard(cid))
            time.sleep(TICK_S)


if __name__ == "__main__":
    main()
