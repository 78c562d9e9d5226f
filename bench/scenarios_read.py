"""Scenarios 1-3: what a cached read costs, what the cache buys, what keepalive buys (seed: caching, LB).

Each returns its figures: the median of `repeats` wrk runs per variant, and the ratio
between variants (ratios measured in one run on one machine are what can be compared).
"""

import statistics

from bench.context import Bench, cache_samples, scrape, warm
from bench.cpu import context_switches, cpu_seconds, per_request_ms
from bench.processes import bench_nginx, gunicorn_app
from bench.wrk import measure, median_of, run_wrk

DB_SAMPLES = {"db_query_duration_seconds_count", "db_query_duration_seconds_sum"}


def full_path_vs_hello(bench: Bench) -> dict:
    """1) nginx -> gateway -> products -> Redis vs a bare FastAPI endpoint under the same gunicorn."""
    host = bench.target.host
    paths = [f"/api/products/{product_id}" for product_id in bench.product_ids]
    sources = warm(host, paths)
    hops = full_path_markers(bench) if bench.target.native else {}
    hello_address = bench.target.spare_address(0)
    hello_marker = {"hello": f"--bind {hello_address}:8000"}
    full_runs, hello_runs, ratios = [], [], []
    full_cpu = {name: 0.0 for name in hops}
    hello_cpu = {"hello": 0.0}
    switches = {"full path": 0, "hello": 0}
    with gunicorn_app("hello", "hello_app:create_app()", hello_address, bench.workdir, {},
                      ready_path="/hello") as hello_base:
        # Paired runs, full path then hello, so that both figures of a ratio see the same machine
        # (a shared machine's speed drifts by 20% from one minute to the next).
        for _ in range(bench.repeats):
            before, switched = cpu_seconds(hops), context_switches()
            full_runs.append(run_wrk(host, bench.zipf_load("/api/products/")))
            add_cpu(full_cpu, before, cpu_seconds(hops))
            switches["full path"] += context_switches() - switched
            before, switched = cpu_seconds(hello_marker), context_switches()
            hello_runs.append(run_wrk(hello_base + "/hello", bench.load))
            add_cpu(hello_cpu, before, cpu_seconds(hello_marker))
            switches["hello"] += context_switches() - switched
            ratios.append(full_runs[-1]["rps"] / hello_runs[-1]["rps"])
    full, hello = median_of(full_runs), median_of(hello_runs)
    result = {
        "title": "Full path cached product read vs bare FastAPI hello",
        "variants": {"full path (cached)": full, "hello (bare FastAPI)": hello},
        "throughput_ratio": statistics.median(ratios),
        "throughput_ratio_runs": ratios,
        "warm_x_cache": sources,
        "floor": {"figure": "throughput_ratio", "at_least": 0.25},
    }
    full_requests = sum(run["requests"] for run in full_runs)
    hello_requests = sum(run["requests"] for run in hello_runs)
    if full_requests and hello_requests:
        # Machine-wide, so wrk's own are included: the full path wakes nginx, a gateway, a products
        # replica and Redis in turn, hello one process that is kept busy by every connection.
        result["context_switches_per_request"] = {"full path": switches["full path"] / full_requests,
                                                  "hello": switches["hello"] / hello_requests}
    if hops and full_requests and hello_requests:
        # CPU per request does not move with what else the machine runs: the ratio a machine of our
        # own would give if every hop were CPU-bound, and which hop to profile first.
        per_hop = {name: 1000 * seconds / full_requests for name, seconds in full_cpu.items()}
        result["cpu_ms_per_request"] = {**per_hop, "full path total": sum(per_hop.values()),
                                        "hello": 1000 * hello_cpu["hello"] / hello_requests}
        result["cpu_ratio"] = result["cpu_ms_per_request"]["hello"] / sum(per_hop.values())
    return result


def add_cpu(totals: dict[str, float], before: dict[str, float], after: dict[str, float]) -> None:
    for name in totals:
        totals[name] += after[name] - before[name]


def full_path_markers(bench: Bench) -> dict[str, str]:
    """How to find each hop's processes: gunicorn's --bind, nginx's config path, redis's address."""
    target = bench.target
    markers = {name: f"--bind {target.address(name)}:8000"
               for name in ("gateway-1", "gateway-2", "products-1", "products-2")}
    markers["nginx"] = target.plan["nginx"]["container_dir"] + "/"
    markers["redis"] = f"redis-server {target.address('redis')}:6379"
    return markers


def cache_hit_vs_database(bench: Bench) -> dict:
    """2) GET /products/{id} at a products replica: Redis cache-aside vs PRODUCTS_CACHE_ENABLED=false."""
    target = bench.target
    cached_base = f"http://{target.address('products-1')}:8000"
    paths = [f"/products/{product_id}" for product_id in bench.product_ids]
    load = bench.zipf_load("/products/")
    warm(cached_base, paths)
    cached_marker = {"products-1": f"--bind {target.address('products-1')}:8000"}
    before, cache_before, cpu_before = scrape(cached_base, DB_SAMPLES), cache_samples(cached_base), cpu_seconds(
        cached_marker)
    hit = measure(cached_base + paths[0], load, repeats=bench.repeats)
    after, cache_after, cpu_after = scrape(cached_base, DB_SAMPLES), cache_samples(cached_base), cpu_seconds(
        cached_marker)
    hit_requests = sum(run["requests"] for run in hit["runs"])
    queries = after["db_query_duration_seconds_count"] - before["db_query_duration_seconds_count"]
    hits = cache_after.get("hit", 0) - cache_before.get("hit", 0)
    misses = cache_after.get("miss", 0) - cache_before.get("miss", 0)

    env = {**target.env_of("products-1"), "PRODUCTS_CACHE_ENABLED": "false"}
    nocache_address = target.spare_address(1)
    nocache_marker = {"products (cache disabled)": f"--bind {nocache_address}:8000"}
    with gunicorn_app("products-nocache", "products.main:create_app()", nocache_address, bench.workdir,
                      env, ready_path="/health/ready") as nocache_base:
        db_before, db_cpu_before = scrape(nocache_base, DB_SAMPLES), cpu_seconds(nocache_marker)
        database = measure(nocache_base + paths[0], load, repeats=bench.repeats)
        db_after, db_cpu_after = scrape(nocache_base, DB_SAMPLES), cpu_seconds(nocache_marker)
    db_requests = sum(run["requests"] for run in database["runs"])
    db_queries = db_after["db_query_duration_seconds_count"] - db_before["db_query_duration_seconds_count"]
    db_seconds = db_after["db_query_duration_seconds_sum"] - db_before["db_query_duration_seconds_sum"]
    return {
        "title": "Product read at the service: cache hit vs cache disabled",
        "variants": {"cache-aside (Redis)": hit, "cache disabled (Postgres)": database},
        "throughput_ratio": hit["rps"] / database["rps"],
        "db_queries_per_request_cached": queries / hit_requests if hit_requests else None,
        "db_queries_per_request_uncached": db_queries / db_requests if db_requests else None,
        "mean_db_query_ms": 1000 * db_seconds / db_queries if db_queries else None,
        "cache_hit_ratio": hits / (hits + misses) if hits + misses else None,
        # The products process's own CPU per read: what the cache saves the service (the DB's is apart).
        "cpu_ms_per_request": {**per_request_ms(cpu_before, cpu_after, hit_requests),
                               **per_request_ms(db_cpu_before, db_cpu_after, db_requests)},
        "distinct_products": len(bench.product_ids),
        "floor": {"figure": "throughput_ratio", "at_least": 3.0, "and": "db_queries_per_request_cached <= 0.05"},
    }


def keepalive_on_vs_off(bench: Bench) -> dict:
    """3) upstream keepalive: gateway -> products (UPSTREAM_KEEPALIVE=false) and nginx -> gateways."""
    target = bench.target
    load = bench.zipf_load("/api/products/")
    gateway_base = f"http://{target.address('gateway-1')}:8000"
    variants = {"gateway->services keepalive": measure(gateway_base, load, repeats=bench.repeats)}
    env = {**target.env_of("gateway-1"), "UPSTREAM_KEEPALIVE": "false"}
    with gunicorn_app("gateway-nokeepalive", "gateway.main:create_app()", target.spare_address(2), bench.workdir,
                      env, ready_path="/health/ready") as base:
        variants["gateway->services no keepalive"] = measure(base, load, repeats=bench.repeats)

    gateways = [f"{target.address(name)}:8000" for name in ("gateway-1", "gateway-2")]
    for index, keepalive in ((3, True), (4, False)):
        name = f"nginx->gateways {'keepalive' if keepalive else 'no keepalive'}"
        with bench_nginx(f"nginx-{'keepalive' if keepalive else 'nokeepalive'}", target.spare_address(index),
                         gateways, keepalive=keepalive, workdir=bench.workdir) as base:
            variants[name] = measure(base, load, repeats=bench.repeats)
    return {
        "title": "Upstream keepalive on vs off",
        "variants": variants,
        "gateway_ratio": variants["gateway->services keepalive"]["rps"]
        / variants["gateway->services no keepalive"]["rps"],
        "nginx_ratio": variants["nginx->gateways keepalive"]["rps"] / variants["nginx->gateways no keepalive"]["rps"],
    }
