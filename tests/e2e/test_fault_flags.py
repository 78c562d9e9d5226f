"""Fault flags on the live stack, set the way a user sets them (`make flag` runs chassis.flagctl):
applied by running replicas within a second, no restart, only where they were targeted."""

import os
import subprocess
import sys
import time

import httpx
import pytest

pytestmark = pytest.mark.stack


def flagctl(stack, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FLAGS_REDIS_URL": f"redis://{stack.address('queue-redis')}:6379/0"}
    return subprocess.run([sys.executable, "-m", "chassis.flagctl", *args], env=env, text=True,
                          capture_output=True, check=False)


def timed_whoami(client, service: str) -> list[tuple[str, float]]:
    answers = []
    for _ in range(8):
        started = time.perf_counter()
        response = client.get(f"/api/{service}/whoami")
        assert response.status_code == 200, response.text
        answers.append((response.json()["replica"], time.perf_counter() - started))
    return answers


def injected(stack, replica: str, kind: str) -> float:
    """faults_injected_total of one replica, from its own /metrics (0 before the first injection)."""
    text = httpx.get(f"http://{stack.address(replica)}:8000/metrics", timeout=10).text
    service = replica.rsplit("-", 1)[0]
    for line in text.splitlines():
        if line.startswith(f'faults_injected_total{{kind="{kind}",replica="{replica}",service="{service}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_slow_replica_flag_slows_that_replica_only_and_clearing_it_restores_it(stack):
    assert flagctl(stack, "set", "latency_ms@products-2", "400").returncode == 0
    try:
        time.sleep(1.5)
        with stack.client() as client:
            answers = timed_whoami(client, "products")
        slow = [seconds for replica, seconds in answers if replica == "products-2"]
        assert slow and min(slow) >= 0.4  # every answer of products-2 waited the injected 400 ms
        assert injected(stack, "products-2", "latency") >= len(slow)
        assert injected(stack, "products-1", "latency") == 0  # the other replica was not touched
        assert "latency_ms@products-2=400" in flagctl(stack, "list").stdout
    finally:
        assert flagctl(stack, "clear", "latency_ms@products-2").returncode == 0
    time.sleep(1.5)
    before = injected(stack, "products-2", "latency")
    with stack.client() as client:
        assert "products-2" in {replica for replica, _ in timed_whoami(client, "products")}
    assert injected(stack, "products-2", "latency") == before  # cleared: no more injections


def test_an_erroring_replica_is_failed_over_by_the_gateway(stack):
    assert flagctl(stack, "set", "error_rate@users-1", "1").returncode == 0
    try:
        time.sleep(1.5)
        with stack.client() as client:
            replicas = {replica for replica, _ in timed_whoami(client, "users")}
        assert replicas == {"users-2"}  # every answer 200: users-1's injected 503s were retried elsewhere
        with stack.client() as client:
            metrics = client.get(f"http://{stack.address('users-1')}:8000/metrics").text
        assert 'faults_injected_total{kind="error",replica="users-1",service="users"}' in metrics
    finally:
        flagctl(stack, "clear", "error_rate@users-1")


def test_typos_and_bad_values_are_refused_with_a_clear_message(stack):
    typo = flagctl(stack, "set", "latency_msec", "10")
    assert typo.returncode == 2 and "unknown flag 'latency_msec'" in typo.stderr
    bad = flagctl(stack, "set", "error_rate", "3")
    assert bad.returncode == 2 and "outside" in bad.stderr
