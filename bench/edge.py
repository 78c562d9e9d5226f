"""The edge's levers and gauges, in either runtime: switch the balancing algorithm, make gateway-2
slow (a fault flag), read the edge metrics (mtail over nginx's log lines) as plain numbers."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.target import Target

ROOT = Path(__file__).resolve().parents[1]
ALGORITHMS = ("round-robin", "weighted", "least-conn", "ip-hash", "hash", "random-two")


def _run(target: Target, argv: list[str], extra_env: dict | None = None) -> str:
    env = {**os.environ, "STACK_STATE_DIR": str(target.state_dir), "PYTHONPATH": str(ROOT / "src"),
           **(extra_env or {})}
    return subprocess.run(argv, env=env, cwd=ROOT, check=True, capture_output=True, text=True,
                          timeout=400).stdout.strip()


def switch_algorithm(target: Target, algorithm: str) -> str:
    """`make lb ALGO=...`: rewrite the active choice and reload nginx gracefully."""
    if target.runtime == "docker":
        pool = "gateways_" + algorithm.replace("-", "_")
        return _run(target, ["docker", "compose", "exec", "-T", "nginx", "sh", "-c",
                             f"echo 'default {pool};' > /etc/nginx/runtime/lb.conf && nginx -s reload"])
    return _run(target, [sys.executable, "-m", "stackctl", "lb", algorithm])


def slow_gateway(target: Target, latency_ms: int) -> None:
    """Make gateway-2 `latency_ms` slower (0: normal again) with the `latency_ms@gateway-2` fault
    flag: applied by the running gateway within a second, no restart (chassis/faults.py)."""
    action = ["set", "latency_ms@gateway-2", str(latency_ms)] if latency_ms else ["clear", "latency_ms@gateway-2"]
    if target.runtime == "docker":
        _run(target, ["docker", "compose", "exec", "-T", "worker", "python", "-m", "chassis.flagctl", *action])
    else:
        _run(target, [sys.executable, "-m", "chassis.flagctl", *action],
             {"FLAGS_REDIS_URL": f"redis://{target.address('queue-redis')}:6379/0"})
    time.sleep(1.5)  # the gateways re-read their flags on a change notification, at most a second later


def metrics_text(target: Target) -> str:
    if target.runtime == "docker":
        return _run(target, ["docker", "compose", "exec", "-T", "edge-metrics", "curl", "-s",
                             "http://localhost:3903/metrics"])
    return httpx.get(f"http://{target.address('edge-metrics')}:3903/metrics", timeout=10).text


def edge_samples(target: Target) -> dict[tuple, float]:
    """Every edge_* sample as {(name, label, ...): value}: cache statuses, per-gateway counts and buckets."""
    samples = {}
    for family in text_string_to_metric_families(metrics_text(target)):
        for sample in family.samples:
            if sample.name.startswith("edge_"):
                labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "prog"))
                samples[(sample.name, labels)] = sample.value
    return samples


def delta(before: dict, after: dict) -> dict:
    return {key: after[key] - before.get(key, 0.0) for key in after}


def cache_statuses(change: dict) -> dict[str, float]:
    """Requests by X-Cache-Status in a delta of edge_samples."""
    statuses: dict[str, float] = {}
    for (name, labels), value in change.items():
        if name == "edge_requests_total":
            cache = dict(labels)["cache"]
            statuses[cache] = statuses.get(cache, 0.0) + value
    return statuses


def per_gateway(change: dict) -> dict[str, dict]:
    """Share of requests, and p50/p99 (from the histogram buckets) per gateway, in a delta."""
    counts = {dict(labels)["gateway"]: value for (name, labels), value in change.items()
              if name == "edge_upstream_requests_total"}
    total = sum(counts.values()) or 1.0
    result = {}
    for gateway, count in sorted(counts.items()):
        buckets = sorted((float(dict(labels)["le"]), value) for (name, labels), value in change.items()
                         if name == "edge_upstream_response_seconds_bucket" and dict(labels)["gateway"] == gateway)
        result[gateway] = {"requests": count, "share": count / total,
                           "p50_ms": quantile(buckets, 0.5) * 1000, "p99_ms": quantile(buckets, 0.99) * 1000}
    return result


def quantile(buckets: list[tuple[float, float]], q: float) -> float:
    """Prometheus' histogram_quantile on cumulative (le, count) pairs: linear inside the bucket."""
    if not buckets or buckets[-1][1] <= 0:
        return float("nan")
    rank, lower, below = q * buckets[-1][1], 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if upper == float("inf"):
                return lower
            return lower + (upper - lower) * ((rank - below) / (count - below) if count > below else 0.0)
        lower, below = upper, count
    return lower
