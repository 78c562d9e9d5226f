"""Scenario 14: order placement at saturation, every customer on one shard vs customers on two
(seed "Stage 6: Database Optimization" and "Database Sharding Pattern": a second database adds
write capacity only if the database was what limited writes).

The same stack serves both variants; only whose orders are placed changes. Customers are signed
up before anything is measured (argon2) and sorted by the shard the directory names for their
bucket (orders.shard_keys, orders.shards). Then wrk, closed loop, posts orders as fast as the
stack answers (`BENCH_SHARD_CONNECTIONS`, a new Idempotency-Key and a random popular product per
request), as a random one of the variant's customers:

    1 shard:  every customer's bucket lives on orders-db (orders-db-1 idle)
    2 shards: half the customers on orders-db, half on orders-db-1

Figures per variant: orders placed per second (201s), p50/p99, errors, and the CPU each component
used per order with the machine's busy share, so the report names the bottleneck: when both cores
are busy and the databases use a small part of them, the limit is CPU for the Python services, not
the database, and a second shard cannot add throughput on this machine (it would on machines where
the primary's disk or CPU is the limit, which is when the seed says to shard).
"""

import asyncio
import json
import os
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx
import jwt
import redis
from sqlalchemy import select

from bench.context import Bench
from bench.cpu import cpu_seconds
from bench.wrk import Load, median_of, run_wrk
from orders.models import ShardBucket
from orders.resharding import open_shards
from orders.settings import OrdersSettings
from orders.shard_keys import bucket_of

PASSWORD = "correct horse battery"
CUSTOMERS_PER_SHARD = 12
VARIANTS = ("1 shard", "2 shards")


def placement_one_vs_two_shards(bench: Bench) -> dict:
    """14) POST /api/orders at saturation: customers all on shard 0 vs split over shards 0 and 1."""
    target = bench.target
    directory = asyncio.run(read_directory(target.env_of("orders-shards")["ORDERS_SHARD_URLS"]))  # direct, not the pooler
    by_shard = customers_by_shard(target.host, directory, shards=(0, 1), each=CUSTOMERS_PER_SHARD)
    tokens = {"1 shard": by_shard[0], "2 shards": by_shard[0][: CUSTOMERS_PER_SHARD // 2] + by_shard[1][: CUSTOMERS_PER_SHARD // 2]}
    bodies = tuple(json.dumps({"items": [{"product_id": product_id, "quantity": 1}]})
                   for product_id in bench.product_ids[:500])
    base_load = Load(connections=int(os.environ.get("BENCH_SHARD_CONNECTIONS", "16")), seconds=bench.load.seconds,
                     method="POST", bodies=bodies, fresh_idempotency_keys=True, timeout_seconds=10)
    markers = component_markers(bench)
    runs = {name: [] for name in VARIANTS}
    cpu = {name: {component: 0.0 for component in markers} for name in VARIANTS}
    busy = {name: [] for name in VARIANTS}
    drained = {name: [] for name in VARIANTS}
    for repeat in range(bench.repeats):
        for name in (VARIANTS if repeat % 2 == 0 else VARIANTS[::-1]):  # alternate: drift hits both alike
            drained[name].append(wait_for_idle_queues(target))  # the last run's sagas must not run during this one
            load = replace(base_load, tokens=tuple(tokens[name]))
            before, machine_before = cpu_seconds(markers), machine_ticks()
            run = run_wrk(f"{target.host}/api/orders", load)
            after, machine_after = cpu_seconds(markers), machine_ticks()
            for component in markers:
                cpu[name][component] += after[component] - before[component]
            busy[name].append(busy_share(machine_before, machine_after))
            runs[name].append(run)
    variants = {name: median_of(runs[name]) for name in VARIANTS}
    cpu_ms_per_order = {}
    for name in VARIANTS:
        placed = sum(run["requests"] - run["non_2xx"] for run in runs[name])
        cpu_ms_per_order[name] = {component: round(1000 * seconds / placed, 2) if placed else None
                                  for component, seconds in sorted(cpu[name].items(), key=lambda item: -item[1])}
    two, one = variants["2 shards"]["rps"], variants["1 shard"]["rps"]
    databases = ("orders-db", "orders-db-1")
    database_share = {name: sum(cpu[name][db] for db in databases) / max(sum(cpu[name].values()), 1e-9)
                      for name in VARIANTS}
    return {
        "title": "Order placement at saturation: customers on 1 shard vs 2 shards",
        "variants": variants,
        "two_vs_one_shards": two / one if one else None,
        "machine_busy_share": {name: statistics.median(values) for name, values in busy.items()},
        "database_cpu_share": database_share,
        "cpu_ms_per_order": cpu_ms_per_order,
        "bottleneck": bottleneck(busy, database_share),
        "customers": {name: len(tokens[name]) for name in VARIANTS},
        "seconds_waited_for_idle_queues": drained,
        "connections": base_load.connections,
    }


async def read_directory(shard_urls: str) -> dict[int, int]:
    """bucket -> shard, from the directory table on shard 0."""
    databases = open_shards(OrdersSettings(orders_shard_urls=shard_urls), pooled=False)
    try:
        async with databases[0].sessions() as session:
            return dict((await session.execute(select(ShardBucket.bucket, ShardBucket.shard))).all())
    finally:
        for database in databases:
            await database.dispose()


def customers_by_shard(host: str, directory: dict[int, int], *, shards: tuple[int, ...], each: int) -> dict[int, list[str]]:
    """Sign up customers until `each` of them live on every shard of `shards`: their tokens by shard."""
    found: dict[int, list[str]] = {shard: [] for shard in shards}

    def one(_) -> tuple[int, str]:
        email = f"bench-shard-{uuid.uuid4().hex[:12]}@example.com"
        with httpx.Client(base_url=host, timeout=60) as client:
            client.post("/api/users/register", json={"email": email, "password": PASSWORD, "name": "Bench"})
            response = client.post("/api/users/login", json={"email": email, "password": PASSWORD})
            response.raise_for_status()
            token = response.json()["access_token"]
        return int(jwt.decode(token, options={"verify_signature": False})["sub"]), token

    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(20):  # a bound: 20 rounds of 8 sign-ups is far more than the hash needs
            if all(len(tokens) >= each for tokens in found.values()):
                break
            for user_id, token in pool.map(one, range(8)):
                shard = directory.get(bucket_of(user_id))
                if shard in found and len(found[shard]) < each:
                    found[shard].append(token)
    if not all(len(tokens) >= each for tokens in found.values()):
        raise RuntimeError(f"could not find {each} customers on each of the shards {shards}: {found.keys()}")
    return found


def component_markers(bench: Bench) -> dict[str, str]:
    """Where each component's CPU goes: its processes by command line (native runtime)."""
    target = bench.target
    markers = {name: f"--bind {target.address(name)}:8000"
               for name in ("gateway-1", "gateway-2", "orders-1", "orders-2", "products-1", "products-2")}
    for database in ("orders-db", "orders-db-1"):
        markers[database] = f"listen_addresses={target.address(database)} "
    for database in ("products-db-1", "products-db-2"):  # Patroni's postgres: --listen_addresses=
        markers[database] = f"listen_addresses={target.address(database)} "
    markers["worker"] = "celery -A worker.celery_app worker"
    markers["pgbouncer"] = f"{target.plan['pgbouncer']['container_dir']}/"
    markers["nginx"] = f"{target.plan['nginx']['container_dir']}/"
    return markers


def wait_for_idle_queues(target, timeout: float = 240.0) -> float:
    """Wait until the worker's queues (orders, payments, notifications) are empty: placing orders at
    saturation leaves a backlog of sagas whose CPU would otherwise be charged to the next variant."""
    queue = redis.Redis(host=target.address("queue-redis"), port=6379, socket_timeout=5)
    began = time.monotonic()
    try:
        while time.monotonic() - began < timeout:
            if sum(queue.llen(name) for name in ("orders", "payments", "notifications")) == 0:
                break
            time.sleep(1)
    finally:
        queue.close()
    return round(time.monotonic() - began, 1)


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot (/proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total else 0.0


def bottleneck(busy: dict[str, list[float]], database_share: dict[str, float]) -> str:
    machine = statistics.median(busy["1 shard"])
    share = database_share["1 shard"]
    if machine >= 0.9 and share < 0.35:
        return (f"CPU of the Python services: the machine was {machine:.0%} busy and the orders databases used "
                f"{share:.0%} of the stack's CPU with one shard, so a second database had nothing to relieve")
    if share >= 0.35:
        return f"the orders database: it used {share:.0%} of the stack's CPU with one shard"
    return f"not the CPU ({machine:.0%} busy): latency-bound at this concurrency (raise BENCH_SHARD_CONNECTIONS)"
