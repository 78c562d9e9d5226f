"""`make bench`: run the scenarios against the running stack and write the report.

Knobs (environment): BENCH_SCENARIOS (default 1,...,14), BENCH_REPEATS (3),
BENCH_SECONDS per wrk run (8), BENCH_CONNECTIONS (32), BENCH_KILL_SECONDS (30),
BENCH_CHECKOUT_SECONDS (20), BENCH_ORDER_RATE (2 orders/s), BENCH_STRATEGY_SECONDS (15) and
BENCH_STRATEGY_WARM_SECONDS (6) per caching strategy; where the stack is: see target.py.
A scenario that fails is reported with its error; the others still run.
"""

import os
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from bench import (report, scenarios_analytics, scenarios_caching, scenarios_edge, scenarios_load, scenarios_read,
                   scenarios_sharding)
from bench.context import Bench, popular_product_ids
from bench.target import discover
from bench.wrk import COMMANDS, Load

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "1": scenarios_read.full_path_vs_hello,
    "2": scenarios_read.cache_hit_vs_database,
    "3": scenarios_read.keepalive_on_vs_off,
    "4": scenarios_load.login_one_vs_two_replicas,
    "5": lambda bench: scenarios_load.replica_killed_under_load(
        bench, seconds=float(os.environ.get("BENCH_KILL_SECONDS", "30"))),
    "6": lambda bench: scenarios_load.checkout_at_fixed_rate(
        bench, seconds=float(os.environ.get("BENCH_CHECKOUT_SECONDS", "60"))),
    "7": scenarios_edge.edge_hit_vs_app_path,
    "8": scenarios_edge.tls_vs_plain,
    "9": scenarios_edge.switch_under_load,
    "10": scenarios_analytics.emitting_overhead,
    "11": scenarios_analytics.ingest,
    "12": scenarios_analytics.lag_under_load,
    "13": scenarios_caching.strategies_compared,
    "14": scenarios_sharding.placement_one_vs_two_shards,
}
NATIVE_ONLY = {"2": "calls a products replica directly and starts a second products process",
               "3": "starts a second gateway and nginx beside the stack's",
               "10": "starts two gateways and two nginx beside the stack's",
               "11": "starts two consumers beside the stack's, on its Redis",
               "12": "reads the consumers' metrics at their native addresses",
               "13": "calls the products replicas and products-db directly",
               "14": "reads the orders directory and each process's CPU at their native addresses"}


def main() -> None:
    target = discover()
    started = datetime.now(timezone.utc)
    directory = ROOT / "reports" / "bench" / started.strftime("%Y%m%d-%H%M%S")
    (directory / "processes").mkdir(parents=True, exist_ok=True)
    # Cache-Control: no-cache makes the edge pass reads through (infra/nginx/edge.conf): scenarios
    # 1-6 measure the app behind the edge; scenarios 7-8 drop the header to measure the edge cache.
    load = Load(connections=int(os.environ.get("BENCH_CONNECTIONS", "32")),
                seconds=float(os.environ.get("BENCH_SECONDS", "8")), headers={"Cache-Control": "no-cache"})
    product_ids, catalogue_total = popular_product_ids(target.host)
    bench = Bench(target=target, workdir=directory / "processes", repeats=int(os.environ.get("BENCH_REPEATS", "3")),
                  load=load, product_ids=product_ids)
    print(f"benchmarking {target.host} ({target.runtime} runtime, state {target.state_dir}); "
          f"{bench.repeats} runs of {load.seconds:g}s per figure; report in {directory}", flush=True)

    errors, skipped = {}, {}
    for key in os.environ.get("BENCH_SCENARIOS", "1,2,3,4,5,6,7,8,9,10,11,12,13,14").split(","):
        key = key.strip()
        if key in NATIVE_ONLY and not target.native:
            skipped[key] = f"needs the native runtime: {NATIVE_ONLY[key]}"
            continue
        began = time.monotonic()
        print(f"scenario {key}: {SCENARIOS[key].__doc__ or ''}".strip(), flush=True)
        try:
            bench.results[key] = SCENARIOS[key](bench)
            bench.results[key]["seconds_taken"] = round(time.monotonic() - began, 1)
        except Exception as error:  # one broken scenario must not cost the others' figures
            errors[key] = f"{type(error).__name__}: {error}"
            traceback.print_exc()
        print(f"scenario {key} done in {time.monotonic() - began:.0f}s", flush=True)

    finished = datetime.now(timezone.utc)
    table = report.write(directory, {
        "started_at": started.isoformat(timespec="seconds"), "finished_at": finished.isoformat(timespec="seconds"),
        "duration_s": round((finished - started).total_seconds(), 1),
        "machine": report.machine(), "versions": report.versions(),
        "settings": {"runtime": target.runtime, "host": target.host, "state_dir": str(target.state_dir),
                     "repeats": bench.repeats, "seconds": load.seconds, "connections": load.connections,
                     "threads": load.threads, "products_sampled": len(bench.product_ids),
                     "catalogue_total": catalogue_total},
        "scenarios": bench.results, "errors": errors, "skipped": skipped, "commands": COMMANDS,
    })
    print("\n" + table)
    for key, reason in {**skipped, **errors}.items():
        print(f"scenario {key}: {reason}")
    print(f"\nreport: {directory / 'report.md'} (+ report.json, throughput.png, latency.png)")
    sys.exit(1 if errors else 0)
