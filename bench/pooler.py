"""`make bench-pooler`: 500 concurrent database clients through pgbouncer, then directly.

Seed "Stage 6: Database Optimization", connection pooling. Each client is what a web worker or
a task is to the database: it connects once, then runs short transactions (one indexed read)
with think time between them, so most clients are idle most of the time; that is the load a
pooler turns into a few busy server connections. The same clients run twice against the stack's
orders database: through pgbouncer (transaction mode, pool size 5) and straight to Postgres
(max_connections 100). For each: clients connected, connection and query errors, transactions
per second, p50/p99 of a transaction (queueing included) and the peak of Postgres server
connections (pg_stat_activity, sampled every 100 ms on a connection opened before the storm).

Knobs (environment): BENCH_POOLER_CLIENTS (500), BENCH_POOLER_SECONDS (20), BENCH_POOLER_THINK_MS
(mean think time between transactions, 100); where the stack is: bench/target.py.
Report: reports/bench-pooler/<time>/report.md and report.json.
"""

import asyncio
import json
import os
import random
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import asyncpg

from bench.report import machine
from bench.target import discover

ROOT = Path(__file__).resolve().parents[1]
QUERY = "SELECT count(*) FROM order_items WHERE order_id = $1"


async def backends(monitor: asyncpg.Connection) -> int:
    """Client backends of the orders database now: every server connection, pgbouncer's included
    (a pooled server connection carries whichever client's application_name it served last), minus
    this monitor, the postgres-exporter and a pgBackRest backup, which connect directly."""
    return await monitor.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = 'orders' AND backend_type = 'client backend' "
        "AND pid <> pg_backend_pid() AND application_name <> 'postgres-exporter' "
        "AND application_name NOT LIKE 'pgBackRest%'")


async def run(label: str, host: str, port: int, clients: int, seconds: float, think_ms: float,
              password: str, monitor: asyncpg.Connection, pooled: bool) -> dict:
    latencies: list[float] = []
    errors = {"connect": 0, "query": 0}
    samples: list[int] = []
    deadline = time.monotonic() + seconds

    async def client(number: int) -> None:
        try:
            connection = await asyncpg.connect(
                host=host, port=port, database="orders", user="orders", password=password, timeout=30,
                # Behind pgbouncer 1.18: no prepared statement kept across transactions (chassis/db.py).
                statement_cache_size=0 if pooled else 100,
                server_settings={"application_name": f"bench-pooler-{number}"})
        except (OSError, asyncpg.PostgresError, asyncio.TimeoutError):
            errors["connect"] += 1
            return
        try:
            while time.monotonic() < deadline:
                await asyncio.sleep(random.expovariate(1000 / think_ms))
                started = time.perf_counter()
                try:
                    async with connection.transaction():
                        await connection.fetchval(QUERY, random.randint(1, 10_000))
                except (OSError, asyncpg.PostgresError, asyncio.TimeoutError):
                    errors["query"] += 1
                    continue
                latencies.append(time.perf_counter() - started)
        finally:
            await connection.close()

    async def sample() -> None:
        while time.monotonic() < deadline + 1:
            samples.append(await backends(monitor))
            await asyncio.sleep(0.1)

    started = time.monotonic()
    sampler = asyncio.create_task(sample())
    await asyncio.gather(*(client(n) for n in range(clients)))
    await sampler
    elapsed = time.monotonic() - started
    ordered = sorted(latencies)

    def quantile(q: float) -> float | None:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else None

    return {"path": label, "clients": clients, "connected": clients - errors["connect"],
            "connection_errors": errors["connect"], "query_errors": errors["query"],
            "transactions": len(latencies), "transactions_per_second": round(len(latencies) / elapsed, 1),
            "p50_ms": quantile(0.50), "p99_ms": quantile(0.99),
            "mean_ms": round(1000 * statistics.fmean(latencies), 1) if latencies else None,
            "peak_postgres_connections": max(samples, default=0)}


async def bench() -> dict:
    target = discover()
    if not target.native:
        raise SystemExit("bench-pooler reads the stack's addresses from the native runtime's plan")
    clients = int(os.environ.get("BENCH_POOLER_CLIENTS", "500"))
    seconds = float(os.environ.get("BENCH_POOLER_SECONDS", "20"))
    think_ms = float(os.environ.get("BENCH_POOLER_THINK_MS", "100"))
    password = os.environ.get("ORDERS_DB_PASSWORD", "dev-only-orders")
    database, pooler = target.address("orders-db"), target.address("pgbouncer")
    monitor = await asyncpg.connect(host=database, port=5432, database="orders", user="orders", password=password)
    try:
        results = []
        for label, host, port, pooled in (("through pgbouncer", pooler, 6432, True),
                                          ("direct to Postgres", database, 5432, False)):
            print(f"{clients} clients {label} for {seconds:g}s ...", flush=True)
            results.append(await run(label, host, port, clients, seconds, think_ms, password, monitor, pooled))
            print(json.dumps(results[-1]), flush=True)
            await asyncio.sleep(2)  # let the direct run's refused clients and closed backends settle
    finally:
        await monitor.close()
    return {"clients": clients, "seconds": seconds, "think_ms": think_ms, "query": QUERY, "results": results,
            "pool_size": 5, "postgres_max_connections": 100, "machine": machine()}


def write(report: dict) -> Path:
    directory = ROOT / "reports" / "bench-pooler" / datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(json.dumps(report, indent=2))
    rows = ["| path | connected | connection errors | query errors | transactions/s | p50 ms | p99 ms "
            "| peak Postgres connections |", "|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        rows.append(f"| {r['path']} | {r['connected']} of {r['clients']} | {r['connection_errors']} | "
                    f"{r['query_errors']} | {r['transactions_per_second']} | {r['p50_ms']} | {r['p99_ms']} | "
                    f"{r['peak_postgres_connections']} |")
    pooled = report["results"][0]
    floor = ("met" if pooled["connection_errors"] == 0 and pooled["query_errors"] == 0
             and pooled["peak_postgres_connections"] <= report["pool_size"] else "NOT met")
    (directory / "report.md").write_text("\n".join([
        f"# {report['clients']} concurrent database clients: through pgbouncer vs direct", "",
        f"Each client connects once, then for {report['seconds']:g} s runs one-statement transactions "
        f"(`{report['query']}`) with {report['think_ms']:g} ms mean think time. pgbouncer: transaction mode, "
        f"pool size {report['pool_size']}; Postgres: max_connections {report['postgres_max_connections']}.", "",
        *rows, "",
        f"Floor (through pgbouncer: 0 connection errors, Postgres connections <= pool size): **{floor}**.", "",
        f"Machine: {json.dumps(report['machine'])}", ""]))
    return directory


def main() -> None:
    report = asyncio.run(bench())
    print(f"report: {write(report) / 'report.md'}")


if __name__ == "__main__":
    main()
