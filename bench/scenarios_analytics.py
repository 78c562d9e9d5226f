"""Scenarios 10-12: the analytics event stream (seed 000: volume, backpressure, lag).

10) What emitting events costs a shopper: the full path (nginx -> gateway -> products -> Redis)
   through a gateway with events on, and through an identical one with EVENTS_ENABLED=false,
   in paired runs (order alternated); overhead = 1 - median(on / off). Also the CPU per request of
   the whole path in both (native runtime): the variant's nginx and gateway, the products replicas,
   Redis and the analytics consumers, which do the events' work after the request. At saturation
   on a CPU-bound machine throughput is cores / CPU per request, so the CPU overhead is what the
   throughput overhead would be without the noise of everything else the machine runs.
   Floor: <= 5%.
11) Ingest: one producer appends events as fast as it can (the chassis EventEmitter, one script
   per flush) into a stream of its own on the stack's Redis (database 12, so the shop's figures
   are untouched) while two consumer processes of one group apply them. Figures: events/s from
   the first append to the last entry applied, and the stream's length and memory sampled
   throughout (bounded by MAXLEN ~). Floor: >= 5,000 events/s.
12) End-to-end lag during `make load`: the stack's own consumers' lag histogram, before and after
   a Locust run (steady, LOAD_USERS, LOAD_DURATION); p50/p95 from the difference. Floor: p95 <= 2 s.
"""

import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from bench.context import Bench, warm
from bench.cpu import cpu_seconds
from bench.processes import bench_nginx, gunicorn_app, stop
from bench.wrk import median_of, run_wrk
from chassis.event_stream import EventEmitter, make_event

ROOT = Path(__file__).resolve().parents[1]
AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"


CONSUMER_CATCH_UP_SECONDS = 1.0  # the consumers' linger (0.5 s) and last batch, inside the run's CPU reading


def shared_path_markers(bench: Bench) -> dict[str, str]:
    """The hops both variants share: products replicas, Redis (cache and event stream), the consumers."""
    target = bench.target
    markers = {name: f"--bind {target.address(name)}:8000" for name in ("products-1", "products-2")}
    markers["redis"] = f"redis-server {target.address('redis')}:6379"
    markers["analytics consumers"] = "-m analytics.consumer"
    return markers


def emitting_overhead(bench: Bench) -> dict:
    """10) full path with the gateway emitting events vs not emitting (paired runs)."""
    target = bench.target
    load = bench.zipf_load("/api/products/")
    warm(target.host, list(load.paths))
    runs = {"events on": [], "events off": []}
    cpu = {"events on": 0.0, "events off": 0.0}
    path_cpu = {"events on": 0.0, "events off": 0.0}
    hop_cpu: dict[str, dict[str, float]] = {"events on": {}, "events off": {}}
    shared_hops = shared_path_markers(bench) if target.native else {}
    ratios = []
    with gunicorn_app("gateway-events-on", "gateway.main:create_app()", target.spare_address(5), bench.workdir,
                      {**target.env_of("gateway-1"), "EVENTS_ENABLED": "true"}, ready_path="/health/ready") as on, \
            gunicorn_app("gateway-events-off", "gateway.main:create_app()", target.spare_address(6), bench.workdir,
                         {**target.env_of("gateway-1"), "EVENTS_ENABLED": "false"}, ready_path="/health/ready") as off:
        markers = {"events on": f"--bind {on.split('//')[1]}", "events off": f"--bind {off.split('//')[1]}"}
        nginx_markers = {"events on": f"-p {bench.workdir / 'nginx-events-on'} ",
                         "events off": f"-p {bench.workdir / 'nginx-events-off'} "}
        with bench_nginx("nginx-events-on", target.spare_address(7), [on.split("//")[1]], keepalive=True,
                         workdir=bench.workdir) as nginx_on, \
                bench_nginx("nginx-events-off", target.spare_address(8), [off.split("//")[1]], keepalive=True,
                            workdir=bench.workdir) as nginx_off:
            bases = {"events on": nginx_on, "events off": nginx_off}
            for repeat in range(bench.repeats):
                order = ("events on", "events off") if repeat % 2 == 0 else ("events off", "events on")
                pair = {}
                for name in order:
                    hops = {**shared_hops, "gateway": markers[name], "nginx": nginx_markers[name]}
                    before = cpu_seconds(hops)
                    pair[name] = run_wrk(bases[name], load)
                    time.sleep(CONSUMER_CATCH_UP_SECONDS)
                    after = cpu_seconds(hops)
                    cpu[name] += after["gateway"] - before["gateway"]
                    path_cpu[name] += sum(after.values()) - sum(before.values())
                    for hop in hops:
                        hop_cpu[name][hop] = hop_cpu[name].get(hop, 0.0) + after[hop] - before[hop]
                    runs[name].append(pair[name])
                ratios.append(pair["events on"]["rps"] / pair["events off"]["rps"])
    requests = {name: sum(run["requests"] for run in runs[name]) for name in runs}
    cpu_ms = {name: 1000 * cpu[name] / requests[name] for name in runs if requests[name]}
    path_ms = {name: 1000 * path_cpu[name] / requests[name] for name in runs if requests[name] and shared_hops}
    return {
        "title": "Emitting analytics events: full path with events on vs off",
        "variants": {name: median_of(runs[name]) for name in runs},
        "overhead": 1 - statistics.median(ratios),
        "throughput_ratio_runs": ratios,
        "gateway_cpu_ms_per_request": cpu_ms,
        "gateway_cpu_overhead": cpu_ms["events on"] / cpu_ms["events off"] - 1 if len(cpu_ms) == 2 else None,
        "path_cpu_ms_per_request": path_ms,
        "path_cpu_ms_per_request_by_hop": {name: {hop: 1000 * seconds / requests[name] for hop, seconds in hops.items()}
                                           for name, hops in hop_cpu.items() if requests[name]},
        "path_cpu_overhead": path_ms["events on"] / path_ms["events off"] - 1 if len(path_ms) == 2 else None,
        "floor": {"figure": "overhead", "at_most": 0.05},
    }


async def _ingest(redis_url: str, events: int, maxlen: int, consumers: int) -> dict:
    stream = f"bench:events:{int(time.time())}"
    client = aioredis.Redis.from_url(redis_url)
    await client.flushdb()
    env = {**{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
           "PYTHONPATH": str(ROOT / "src"), "EVENTS_REDIS_URL": redis_url, "EVENTS_STREAM": stream,
           "CONSUMER_BATCH_SIZE": "500", "CONSUMER_BLOCK_MS": "200",
           "LOG_LEVEL": "warning"}
    await client.xgroup_create(stream, "analytics", id="0", mkstream=True)
    processes = [subprocess.Popen([sys.executable, "-m", "analytics.consumer"],
                                  env={**env, "REPLICA_NAME": f"bench-consumer-{n}", "METRICS_ADDRESS": "127.0.0.1:0"},
                                  cwd=ROOT) for n in range(consumers)]
    emitter = EventEmitter(client, service="bench", stream=stream, maxlen=maxlen, buffer_size=events,
                           flush_seconds=0.05)
    lengths, memory = [], []
    try:
        await asyncio.sleep(3)  # the consumers load the user-agent rules and join the group
        started = time.perf_counter()
        sent = 0
        while sent < events:  # as fast as one producer can: 2,000 events per flush
            for i in range(2000):
                emitter.emit(make_event("product_view" if i % 5 else "search", session=f"s{(sent + i) % 5000}",
                                        user_agent=AGENT, product=(sent + i) % 997, q=f"term {i % 50}",
                                        results=i % 3))
            sent += await emitter.flush()
            lengths.append(await client.xlen(stream))
            memory.append(await client.memory_usage(stream) or 0)
        produced = time.perf_counter() - started
        # Drained when the group has been handed the newest entry and acknowledged all it was
        # handed. (Not `lag == 0`: once MAXLEN trims entries nobody read, Redis cannot count
        # the lag and reports nil, and a loop waiting for 0 never ends.) Bounded in time.
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:
            group = (await client.xinfo_groups(stream))[0]
            newest = (await client.xinfo_stream(stream))["last-generated-id"]
            lengths.append(await client.xlen(stream))
            memory.append(await client.memory_usage(stream) or 0)
            if group["last-delivered-id"] == newest and group["pending"] == 0:
                break
            await asyncio.sleep(0.05)
        finished = time.perf_counter() - started
        applied = sum([int(await client.hget(f"an:meta:{kind}", "count") or 0) for kind in ("product_view", "search")])
    finally:
        for process in processes:
            stop(process)
        await client.delete(stream)
        await client.aclose()
    return {"events": sent, "applied": applied, "producer_events_per_s": sent / produced,
            "end_to_end_events_per_s": applied / finished, "seconds": finished,
            "stream_maxlen": maxlen, "stream_length_max": max(lengths), "stream_memory_max_bytes": max(memory)}


def ingest(bench: Bench) -> dict:
    """11) one producer, two consumers of one group, as fast as they go; stream bounded by MAXLEN ~."""
    redis_url = f"redis://{bench.target.address('redis')}:6379/12"
    events = int(os.environ.get("BENCH_INGEST_EVENTS", "100000"))
    maxlen = int(os.environ.get("BENCH_INGEST_MAXLEN", "20000"))
    result = asyncio.run(_ingest(redis_url, events, maxlen, consumers=2))
    return {"title": "Event ingest: producer -> Redis Stream -> consumer group (2 consumers)", **result,
            # Events MAXLEN trimmed before a consumer read them: the price of a bounded stream
            # when the producer outruns the consumers (analytics accepts it; orders never would).
            "trimmed_unread": result["events"] - result["applied"],
            "floor": {"figure": "end_to_end_events_per_s", "at_least": 5000}}


def lag_histogram(bench: Bench) -> dict[float, float]:
    """The stack's consumers' cumulative lag buckets, summed over both consumers."""
    buckets: dict[float, float] = {}
    for name in ("analytics-consumer-1", "analytics-consumer-2"):
        text = httpx.get(f"http://{bench.target.address(name)}:9810/metrics", timeout=5).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "analytics_event_lag_seconds_bucket":
                    bound = float(sample.labels["le"])
                    buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return buckets


def quantile(buckets: dict[float, float], q: float) -> float | None:
    """Prometheus's histogram_quantile over cumulative buckets (linear within a bucket)."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if not total:
        return None
    rank, previous_bound, previous_count = q * total, 0.0, 0.0
    for bound in bounds:
        if buckets[bound] >= rank:
            if bound == float("inf"):
                return previous_bound
            return previous_bound + (bound - previous_bound) * (rank - previous_count) / (buckets[bound] - previous_count)
        previous_bound, previous_count = bound, buckets[bound]
    return previous_bound


def lag_under_load(bench: Bench) -> dict:
    """12) end-to-end lag of the stack's consumers while `make load` runs."""
    users, duration = os.environ.get("LOAD_USERS", "20"), os.environ.get("LOAD_DURATION", "60")
    before = lag_histogram(bench)
    report = bench.workdir / "load"
    report.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "locust", "-f", "loadtests/locustfile.py", "--headless", "--host",
               bench.target.host, "--only-summary", "--csv", str(report / "load")]
    env = {**os.environ, "LOAD_SHAPE": "steady", "LOAD_USERS": users, "LOAD_DURATION": duration}
    completed = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    time.sleep(6)  # the last events of the run reach the consumers
    after = lag_histogram(bench)
    delta = {bound: after[bound] - before.get(bound, 0.0) for bound in after}
    return {"title": f"End-to-end event lag during make load (steady, {users} users, {duration} s)",
            "events": delta.get(float("inf"), 0.0), "lag_p50_s": quantile(delta, 0.5),
            "lag_p95_s": quantile(delta, 0.95), "lag_p99_s": quantile(delta, 0.99),
            "load_exit_code": completed.returncode, "load_summary": completed.stdout[-1500:],
            "floor": {"figure": "lag_p95_s", "at_most": 2.0}}
