"""Scenarios 7-9: the edge (seed: "Stage 4: Adding CDN", "Load Balancing Algorithms").

7) a catalogue read answered from the edge cache vs the same read through the app path
   (nginx -> gateway -> products -> Redis, the edge bypassed with Cache-Control: no-cache);
8) TLS (HTTP/1.1 over TLS 1.3, keepalive) vs plain HTTP at the edge, both cache hits;
9) the balancing algorithm switched six times (graceful reloads) under load: failed requests.
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from bench.context import Bench, warm
from bench.edge import ALGORITHMS, cache_statuses, delta, edge_samples, switch_algorithm
from bench.wrk import COMMANDS, median_of, run_wrk

ROOT = Path(__file__).resolve().parents[1]

# The hot set: microcaching pays off on keys read more than once per TTL (1 s). The 20 most
# popular products hold most reads in a Zipf mix; both variants read exactly these paths.
HOT_PRODUCTS = 20
REFRESH = {"Cache-Control": "no-cache"}


def hot_paths(bench: Bench) -> tuple[str, ...]:
    return tuple(f"/api/products/{product_id}" for product_id in bench.product_ids[:HOT_PRODUCTS])


def edge_hit_vs_app_path(bench: Bench) -> dict:
    """7) edge cache hit vs the app path, in paired runs on the same paths."""
    host = bench.target.host
    paths = hot_paths(bench)
    warm(host, list(paths))
    hit_load = replace(bench.load, paths=paths, headers={})
    app_load = replace(bench.load, paths=paths, headers=REFRESH)
    hits, apps, ratios, statuses = [], [], [], {}
    for _ in range(bench.repeats):
        before = edge_samples(bench.target)
        hits.append(run_wrk(host, hit_load))
        for status, count in cache_statuses(delta(before, edge_samples(bench.target))).items():
            statuses[status] = statuses.get(status, 0.0) + count
        apps.append(run_wrk(host, app_load))
        ratios.append(hits[-1]["rps"] / apps[-1]["rps"])
    served_from_cache = sum(statuses.get(s, 0.0) for s in ("HIT", "STALE", "UPDATING"))
    return {
        "title": "Edge cache hit vs the app path (nginx -> gateway -> products -> Redis)",
        "variants": {"edge cache hit": median_of(hits), "app path (edge bypassed)": median_of(apps)},
        "throughput_ratio": statistics.median(ratios),
        "throughput_ratio_runs": ratios,
        "edge_cache_statuses_during_hit_runs": statuses,
        "edge_hit_ratio_during_hit_runs": served_from_cache / sum(statuses.values()) if statuses else None,
        "hot_products": HOT_PRODUCTS,
        "floor": {"figure": "throughput_ratio", "at_least": 5.0},
    }


def tls_vs_plain(bench: Bench) -> dict:
    """8) HTTPS (TLS, keepalive) vs plain HTTP at the edge, on cache hits, in paired runs."""
    plain_host = bench.target.host
    tls_host = plain_host.replace("http://", "https://").replace(":8080", ":8443")
    load = replace(bench.load, paths=hot_paths(bench), headers={})
    warm(plain_host, list(load.paths))
    plain, tls, ratios = [], [], []
    for _ in range(bench.repeats):
        plain.append(run_wrk(plain_host, load))
        tls.append(run_wrk(tls_host, load))
        ratios.append(tls[-1]["rps"] / plain[-1]["rps"])
    return {
        "title": "TLS vs plain HTTP at the edge (keepalive: one handshake per connection; cache hits)",
        "variants": {"plain HTTP :8080": median_of(plain), "HTTPS :8443 (TLS, HTTP/1.1)": median_of(tls)},
        "tls_over_plain_throughput": statistics.median(ratios),
        "tls_over_plain_runs": ratios,
        "connections": load.connections,
    }


def switch_under_load(bench: Bench, switches: int = 6, users: int = 20, rate_per_user: float = 10.0) -> dict:
    """9) GETs at a fixed rate through the gateways while the balancing algorithm changes `switches` times.

    The load is Locust's FastHttpUser (bench/locust_reads.py says why not wrk: a reload closes
    idle keepalive connections, and a real client retries an idempotent request sent on one)."""
    seconds = max(bench.load.seconds, 2.0 * switches + 8)
    sequence = [ALGORITHMS[i % len(ALGORITHMS)] for i in range(switches - 1)] + ["least-conn"]
    done: list[tuple[str, float]] = []

    def switching() -> None:
        time.sleep(3)  # under full load first
        for algorithm in sequence:
            began = time.monotonic()
            switch_algorithm(bench.target, algorithm)
            done.append((algorithm, round(time.monotonic() - began, 2)))
            time.sleep(1)

    out = bench.workdir / "switch-reads.json"
    argv = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locust_reads.py"), "--headless",
            "--host", bench.target.host, "-u", str(users), "-r", str(users), "-t", f"{seconds:g}s",
            "--only-summary", "--stop-timeout", "5"]
    env = {**os.environ, "BENCH_READ_PATH": "/api/users/whoami", "BENCH_READ_RATE_PER_USER": f"{rate_per_user:g}",
           "BENCH_READS_OUT": str(out)}
    COMMANDS.append(f"BENCH_READ_PATH=/api/users/whoami BENCH_READ_RATE_PER_USER={rate_per_user:g} "
                    f"BENCH_READS_OUT={out} " + " ".join(argv))
    switcher = threading.Thread(target=switching)
    switcher.start()
    subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 60, check=True)
    switcher.join()
    run = json.loads(out.read_text())
    return {
        "title": "Balancing algorithm switched under load (graceful reloads)",
        "variants": {"load across the switches": {**run, "errors": run["failures"]}},
        "switches": done,
        "offered_rps": users * rate_per_user,
        "failed_requests": run["failures"],
        "requests": run["requests"],
        "errors": run["errors"],
        "floor": {"figure": "failed_requests", "at_most": 0},
    }
