"""Scenarios 4-6: scaling a CPU-bound service out, losing a replica under load, checkout end to end.

4) login (argon2: CPU-bound) with 2 replicas of users, then 1 (users-2 stopped, then started);
5) product reads at ~50% of the measured capacity while products-2 is SIGKILLed mid-run;
6) checkout at a fixed arrival rate (Locust, constant_throughput): orders/s and POST -> settled.
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx

from bench.context import Bench
from bench.wrk import COMMANDS, measure, median_of, run_wrk

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-1"


def login_one_vs_two_replicas(bench: Bench) -> dict:
    """4) POST /api/users/login through nginx: throughput with users-1 + users-2, then users-1 alone."""
    email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
    registered = httpx.post(f"{bench.target.host}/api/users/register", timeout=10,
                            json={"email": email, "password": PASSWORD, "name": "Bench"})
    registered.raise_for_status()
    body = json.dumps({"email": email, "password": PASSWORD})
    load = replace(bench.load, connections=8, method="POST", body=body)
    url = f"{bench.target.host}/api/users/login"
    two = measure(url, load, repeats=bench.repeats)
    bench.target.ctl("stop", "users-2")
    try:
        time.sleep(1)  # let the gateways see users-2 gone (connection refused -> ejected)
        one = measure(url, load, repeats=bench.repeats)
    finally:
        bench.target.ctl("start", "users-2")
    return {
        "title": "CPU-bound login (argon2): 2 replicas vs 1 (one worker each)",
        "variants": {"users x2": two, "users x1": one},
        "throughput_ratio": two["rps"] / one["rps"],
        "floor": {"figure": "throughput_ratio", "at_least": 1.5},
    }


def replica_killed_under_load(bench: Bench, seconds: float = 30.0) -> dict:
    """5) Zipf product reads through nginx at ~50% of capacity; SIGKILL products-2 halfway through."""
    capacity = bench.results.get("1", {}).get("variants", {}).get("full path (cached)")
    if capacity is None:
        capacity = run_wrk(bench.target.host + "/", bench.zipf_load("/api/products/", seconds=5))
    connections = 16
    target_rps = capacity["rps"] / 2
    # wrk's delay hook: each connection waits `delay` after each answer, so rate ~ c * 1000 / (delay + latency).
    # A short probe measures the latency at this lower load, then the delay is set for the target rate.
    delay_ms = round(connections * 1000 / target_rps)
    probe = run_wrk(bench.target.host + "/", bench.zipf_load("/api/products/", connections=connections, seconds=3,
                                                             delay_ms=delay_ms))
    delay_ms = max(1, round(connections * 1000 / target_rps - probe["mean_ms"]))
    load = bench.zipf_load("/api/products/", connections=connections, seconds=seconds, delay_ms=delay_ms)
    runs, kills = [], []

    def kill() -> None:
        kills.append(bench.target.ctl("kill", "products-2"))

    for _ in range(bench.repeats):
        killer = threading.Timer(seconds / 2, kill)
        killer.start()
        try:
            runs.append(run_wrk(bench.target.host + "/", load))
        finally:
            killer.join()
        wait_healthy(bench, "products-2")
    result = median_of(runs)
    return {
        "title": "Reads at ~50% of capacity while products-2 is SIGKILLed mid-run",
        "variants": {"products-2 killed at half time": result},
        "capacity_rps": capacity["rps"],
        "target_rps": target_rps,
        "delay_ms": delay_ms,
        "failed_ratio": result["error_ratio"],
        "worst_failed_ratio": max(run["error_ratio"] for run in runs),
        "kills": len(kills),  # how many of the runs really had products-2 SIGKILLed
        "floor": {"figure": "failed_ratio", "at_most": 0.001},
    }


def wait_healthy(bench: Bench, name: str) -> None:
    if bench.target.runtime == "docker":
        time.sleep(10)
    else:
        bench.target.ctl("wait", name)


def checkout_at_fixed_rate(bench: Bench, rate: float | None = None, seconds: float = 60.0) -> dict:
    """6) Orders at a fixed arrival rate held for `seconds`: placed and settled per second, POST -> settled."""
    rate = rate or float(os.environ.get("BENCH_ORDER_RATE", "20"))
    per_user = 0.25
    users = max(1, round(rate / per_user))
    tokens = bench.workdir / "checkout-users.json"
    tokens.write_text(json.dumps(customers_before_the_window(bench.target.host, users)))
    runs = []
    for index in range(bench.repeats):
        out = bench.workdir / f"checkout-{index}.json"
        # The window plus time for the last orders to settle; users stop ordering when the window closes.
        argv = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locust_checkout.py"), "--headless",
                "--host", bench.target.host, "-u", str(users), "-r", str(users), "-t", f"{seconds + 25:g}s",
                "--only-summary", "--stop-timeout", "10"]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "loadtests"), "BENCH_CHECKOUT_OUT": str(out),
               "BENCH_ORDER_RATE_PER_USER": str(per_user), "BENCH_CHECKOUT_USERS": str(tokens),
               "BENCH_CHECKOUT_WINDOW": f"{seconds:g}"}
        COMMANDS.append(f"BENCH_ORDER_RATE_PER_USER={per_user} BENCH_CHECKOUT_WINDOW={seconds:g} "
                        f"BENCH_CHECKOUT_USERS={tokens} BENCH_CHECKOUT_OUT={out} " + " ".join(argv))
        subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 180, check=True)
        runs.append(checkout_figures(json.loads(out.read_text())))
    return {
        "title": f"Checkout at a fixed arrival rate ({rate:g} orders/s offered for {seconds:g} s)",
        "variants": {"checkout": median_of(runs)},
        "offered_orders_per_s": rate,
        "window_seconds": seconds,
        "users": users,
        "http_errors_by_endpoint": [run["http_errors_by_endpoint"] for run in runs],
    }


def customers_before_the_window(host: str, count: int) -> list[str]:
    """Sign up and log in `count` customers (argon2: slow on purpose) before anything is measured."""
    def one(_) -> str:
        email = f"bench-checkout-{uuid.uuid4().hex[:12]}@example.com"
        with httpx.Client(base_url=host, timeout=60) as client:
            client.post("/api/users/register", json={"email": email, "password": PASSWORD, "name": "Bench"})
            response = client.post("/api/users/login", json={"email": email, "password": PASSWORD})
            response.raise_for_status()
            return response.json()["access_token"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, range(count)))


def checkout_figures(raw: dict) -> dict:
    settled = raw["settle_seconds"]
    window = raw.get("last_settled", 0) - raw.get("first_post", 0)
    offered_window = raw.get("window_seconds", window) or window
    cuts = statistics.quantiles(settled, n=100) if len(settled) >= 2 else [0.0] * 99
    confirmed = raw["statuses"].get("CONFIRMED", 0)
    orders = sum(raw["statuses"].values())
    return {
        "rps": len(settled) / window if window > 0 else 0.0,  # orders settled per second
        "placed_per_s": raw.get("placed", 0) / offered_window if offered_window else 0.0,
        "p50_ms": cuts[49] * 1000, "p95_ms": cuts[94] * 1000, "p99_ms": cuts[98] * 1000,
        "orders": orders, "confirmed": confirmed, "failed": raw["statuses"].get("FAILED", 0),
        "unsettled": orders - len(settled),
        "http_requests": raw["http_requests"], "http_failures": raw["http_failures"],
        "error_ratio": raw["http_failures"] / raw["http_requests"] if raw["http_requests"] else 0.0,
        "http_errors_by_endpoint": {name: row["failures"] for name, row in raw.get("by_endpoint", {}).items()},
    }

