"""Scenario 13: every caching strategy of the product cache under the same Zipf load with 5% writes,
and write-behind page views under that load (seed: "Caching Strategies", "Cache Invalidation").

For each strategy (switched by the flag product_cache_strategy@products, no restart), against both
products replicas directly (the edge would answer repeated reads itself):
  1. warm: every sampled product read once;
  2. read-only, warm (BENCH_STRATEGY_WARM_SECONDS): DB loads per read, the floor's figure;
  3. the mix (BENCH_STRATEGY_SECONDS): 95% reads, 5% price writes (admin PATCH), both by Zipf
     rank (s = 1.1, as wrk's): hit ratio, DB loads per read, SQL statements per request, read and
     write latency, and the largest staleness a reader observed.

Staleness by version compare: each write sets a price no earlier write used (100000 + a sequence
number / 100), so prices order versions. A read that started at t and saw a price older than a
write that had completed before t was stale by t - (that write's completion). Zero means every
read saw every write completed before it began.

Write-behind, over the whole scenario: every successful product read is a view event; the
database's sum(views) is compared with them after the flushers drained (0 lost), and view events
with the batches the flushers applied (one transaction each: >= 10x fewer database writes).

The Python client is closed-loop like wrk (BENCH_CONNECTIONS at once); it shares the machine's
cores, so absolute rates are the client's as much as the stack's, and only the ratios between
strategies, measured in one run, compare. Prices written are put back at the end.
"""

import asyncio
import json
import os
import random
import statistics
import time
from bisect import bisect_left
from itertools import accumulate
from pathlib import Path

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bench.context import Bench, scrape_labelled
from bench.report import pyplot
from chassis.flag_store import FlagStore

STRATEGIES = ("none", "cache-aside", "read-through", "refresh-ahead", "write-through")
CACHING = ("cache-aside", "read-through", "refresh-ahead")  # the floor's strategies
WRITE_SHARE = 0.05
ADMIN = {"X-User-Id": "1", "X-User-Role": "admin"}
PRICE_BASE = 100_000  # above every seeded price: a written price is always newer than the seed's
REPLICAS = ("products-1", "products-2")
METRICS = ("cache_reads_total", "cache_loads_total", "db_query_duration_seconds_count", "write_behind_events_total",
           "write_behind_batches_total", "write_behind_flushed_total")


class Mix:
    """The load: Zipf-chosen product ids, reads and price writes, and what every read saw."""

    def __init__(self, product_ids: list[int], bases: list[str], write_share: float, sequence: list[int]):
        self.ids, self.bases, self.write_share = product_ids, bases, write_share
        self.cumulative = list(accumulate(1 / (rank + 1) ** 1.1 for rank in range(len(product_ids))))
        self.sequence = sequence  # shared across strategies: prices only ever grow
        self.writes: dict[int, list[tuple[float, int]]] = {}  # id -> [(completed at, cents)]
        # One write in flight per product: two concurrent writes of one row may commit in either order,
        # and then the larger price would not be the later version.
        self.write_locks: dict[int, asyncio.Lock] = {}
        self.read_ms: list[float] = []
        self.write_ms: list[float] = []
        self.errors = 0
        self.views = 0  # successful product reads: view events
        self.max_staleness = 0.0
        self.stale_reads = 0
        self.reads = 0

    async def each(self, session: aiohttp.ClientSession, connections: int) -> None:
        """Read every product once (fills the cache), `connections` at a time."""
        async def worker(n: int) -> None:
            for product_id in self.ids[n::connections]:
                try:
                    await self.read(session, self.bases[n % len(self.bases)], product_id)
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    self.errors += 1

        await asyncio.gather(*(worker(n) for n in range(connections)))

    def pick(self) -> int:
        return self.ids[bisect_left(self.cumulative, random.random() * self.cumulative[-1])]

    async def run(self, session: aiohttp.ClientSession, seconds: float, connections: int) -> None:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(self.worker(session, deadline, n) for n in range(connections)))

    async def worker(self, session: aiohttp.ClientSession, deadline: float, n: int) -> None:
        base = self.bases[n % len(self.bases)]
        while time.monotonic() < deadline:
            product_id = self.pick()
            try:
                if random.random() < self.write_share:
                    await self.write(session, base, product_id)
                else:
                    await self.read(session, base, product_id)
            except (aiohttp.ClientError, asyncio.TimeoutError):
                self.errors += 1

    async def read(self, session: aiohttp.ClientSession, base: str, product_id: int) -> None:
        began = time.monotonic()
        async with session.get(f"{base}/products/{product_id}") as answer:
            body = await answer.read()
        self.read_ms.append(1000 * (time.monotonic() - began))
        if answer.status != 200:
            self.errors += 1
            return
        self.views += 1
        self.reads += 1
        stale_by = staleness(self.writes.get(product_id, ()), began, round(json.loads(body)["price"] * 100))
        if stale_by is not None:
            self.stale_reads += 1
            self.max_staleness = max(self.max_staleness, stale_by)

    async def write(self, session: aiohttp.ClientSession, base: str, product_id: int) -> None:
        async with self.write_locks.setdefault(product_id, asyncio.Lock()):
            self.sequence[0] += 1
            cents = PRICE_BASE * 100 + self.sequence[0]
            began = time.monotonic()
            async with session.patch(f"{base}/products/{product_id}", json={"price": cents / 100},
                                     headers=ADMIN) as answer:
                await answer.read()
            done = time.monotonic()
        self.write_ms.append(1000 * (done - began))
        if answer.status != 200:
            self.errors += 1
            return
        self.writes.setdefault(product_id, []).append((done, cents))


def staleness(writes, began: float, seen_cents: int) -> float | None:
    """How stale a read that began at `began` and saw `seen_cents` was: since the first write newer than what
    it saw completed (only writes completed before the read began count); None when it was up to date."""
    newer = [done for done, cents in writes if done < began and cents > seen_cents]
    return began - min(newer) if newer else None


def percentile(values: list[float], q: float) -> float | None:
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def totals(bases: list[str]) -> dict[tuple, float]:
    """The scenario's counters summed over both replicas, keyed by (name, labels...)."""
    found: dict[tuple, float] = {}
    for base in bases:
        for key, value in scrape_labelled(base, set(METRICS)).items():
            found[key] = found.get(key, 0.0) + value
    return found


def delta(after: dict, before: dict, name: str, **labels) -> float:
    def matches(key: tuple) -> bool:
        return key[0] == name and all((label, value) in key[1:] for label, value in labels.items())

    return sum(v for k, v in after.items() if matches(k)) - sum(v for k, v in before.items() if matches(k))


async def set_strategy(store: FlagStore, strategy: str) -> None:
    await asyncio.to_thread(store.set, "product_cache_strategy@products", strategy)
    await asyncio.sleep(2.0)  # every replica mirrors the flag store within a second


async def phase(mix: Mix, session, bases: list[str], seconds: float, connections: int, strategy: str) -> dict:
    before = totals(bases)
    began = time.monotonic()
    await mix.run(session, seconds, connections)
    elapsed = time.monotonic() - began
    after = totals(bases)
    reads = delta(after, before, "cache_reads_total", cache="products", strategy=strategy)
    hits = delta(after, before, "cache_reads_total", cache="products", strategy=strategy, source="HIT")
    loads = delta(after, before, "cache_loads_total", cache="products", strategy=strategy)
    statements = delta(after, before, "db_query_duration_seconds_count")
    requests = len(mix.read_ms) + len(mix.write_ms)
    return {
        "rps": requests / elapsed, "requests": requests, "errors": mix.errors,
        "hit_ratio": hits / reads if reads else None,
        "db_loads_per_read": loads / reads if reads else None,
        "sql_statements_per_request": statements / requests if requests else None,
        "p50_ms": percentile(mix.read_ms, 50), "p90_ms": percentile(mix.read_ms, 90),
        "p99_ms": percentile(mix.read_ms, 99),
        "write_p50_ms": percentile(mix.write_ms, 50), "write_p99_ms": percentile(mix.write_ms, 99),
        "writes": len(mix.write_ms), "stale_reads": mix.stale_reads,
        "max_staleness_ms": 1000 * mix.max_staleness,
    }


async def compare(bench: Bench) -> dict:
    target = bench.target
    bases = [f"http://{target.address(name)}:8000" for name in REPLICAS]
    ids = bench.product_ids
    connections = bench.load.connections
    seconds = float(os.environ.get("BENCH_STRATEGY_SECONDS", "15"))
    warm_seconds = float(os.environ.get("BENCH_STRATEGY_WARM_SECONDS", "6"))
    store = FlagStore(f"redis://{target.address('queue-redis')}:6379/0")
    engine = create_async_engine(target.env_of("products-1")["DATABASE_URL"], poolclass=NullPool)
    async with engine.connect() as connection:
        prices = {row.id: row.price for row in
                  await connection.execute(text("SELECT id, price FROM products WHERE id = ANY(:ids)"),
                                           {"ids": ids})}
        views_before = await connection.scalar(text("SELECT coalesce(sum(views), 0) FROM products"))
    sequence = [int(time.time()) % 1_000_000]
    results, views = {}, 0
    write_behind_before = totals(bases)
    # Per request, not counting the wait for a pooled connection (the client's own queue).
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=10)
    try:
        async with aiohttp.ClientSession(timeout=timeout,
                                         connector=aiohttp.TCPConnector(limit=connections)) as session:
            for strategy in STRATEGIES:
                print(f"  strategy {strategy}", flush=True)
                await set_strategy(store, strategy)
                warm = Mix(ids, bases, 0.0, sequence)
                await warm.each(session, connections)
                read_only = Mix(ids, bases, 0.0, sequence)
                warm_figures = await phase(read_only, session, bases, warm_seconds, connections, strategy)
                mixed = Mix(ids, bases, WRITE_SHARE, sequence)
                figures = await phase(mixed, session, bases, seconds, connections, strategy)
                figures["warm_read_only_db_loads_per_read"] = warm_figures["db_loads_per_read"]
                figures["warm_read_only_hit_ratio"] = warm_figures["hit_ratio"]
                results[strategy] = figures
                views += warm.views + read_only.views + mixed.views
            # Put back every price the mix wrote, through the API (the caches hear of it).
            for product_id, price in prices.items():
                async with session.patch(f"{bases[0]}/products/{product_id}", json={"price": str(price)},
                                         headers=ADMIN) as answer:
                    await answer.read()
    finally:
        await asyncio.to_thread(store.clear, "product_cache_strategy@products")
    # Write-behind: wait for the flushers to drain, then compare the database with the view events.
    async with engine.connect() as connection:
        deadline = time.monotonic() + 30
        while True:
            flushed = int(await connection.scalar(text("SELECT coalesce(sum(views), 0) FROM products")) - views_before)
            if flushed >= views or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
    await engine.dispose()
    after = totals(bases)
    batches = delta(after, write_behind_before, "write_behind_batches_total", buffer="product_views", outcome="applied")
    write_behind = {"view_events": views, "flushed_to_database": flushed, "lost": views - flushed,
                    "database_writes": batches,
                    "events_per_database_write": views / batches if batches else None}
    return {"strategies": results, "write_behind": write_behind}


def table(strategies: dict) -> str:
    lines = ["| strategy | hit ratio | DB loads/read (mix) | DB loads/read (warm, reads only) | SQL/request | "
             "read p50 ms | read p99 ms | write p50 ms | write p99 ms | stale reads | max staleness ms | req/s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def f(value, digits=3):
        return "n/a" if value is None else f"{value:.{digits}g}"

    for name, s in strategies.items():
        lines.append(f"| {name} | {f(s['hit_ratio'])} | {f(s['db_loads_per_read'])} | "
                     f"{f(s['warm_read_only_db_loads_per_read'])} | {f(s['sql_statements_per_request'])} | "
                     f"{f(s['p50_ms'])} | {f(s['p99_ms'])} | {f(s['write_p50_ms'])} | {f(s['write_p99_ms'])} | "
                     f"{s['stale_reads']} | {f(s['max_staleness_ms'])} | {f(s['rps'])} |")
    return "\n".join(lines)


def plot(strategies: dict, directory: Path) -> str:
    names = list(strategies)
    panels = [("hit ratio", "hit_ratio"), ("DB loads per read", "db_loads_per_read"),
              ("read p99, ms", "p99_ms"), ("max staleness, ms", "max_staleness_ms")]
    plt = pyplot()
    figure, axes = plt.subplots(1, len(panels), figsize=(14, 3.4))
    for axis, (title, key) in zip(axes, panels):
        values = [strategies[name][key] or 0 for name in names]
        bars = axis.bar(names, values, color="tab:blue")
        axis.bar_label(bars, fmt="%.3g", fontsize=7)
        axis.set_title(title)
        axis.tick_params(axis="x", rotation=45, labelsize=8)
    figure.suptitle("Product cache strategies, Zipf reads with 5% writes (scenario 13)")
    figure.tight_layout()
    figure.savefig(directory / "strategies.png", dpi=110)
    plt.close(figure)
    return "strategies.png"


def strategies_compared(bench: Bench) -> dict:
    """13) the product cache under each strategy (Zipf, 5% writes) and write-behind views."""
    measured = asyncio.run(compare(bench))
    strategies, write_behind = measured["strategies"], measured["write_behind"]
    return {
        "title": "Caching strategies compared: Zipf product reads with 5% writes; write-behind views",
        "variants": {name: {key: s[key] for key in ("rps", "p50_ms", "p90_ms", "p99_ms", "requests", "errors")}
                     for name, s in strategies.items()},
        "strategies": strategies,
        "write_behind": write_behind,
        "table_md": table(strategies),
        "plot": plot(strategies, bench.workdir.parent),
        "floor": {"figure": "warm_read_only_db_loads_per_read", "at_most": 0.05, "strategies": list(CACHING),
                  "and": "write-behind events_per_database_write >= 10, lost == 0"},
    }
