"""Generate the provisioned Grafana dashboards: `python infra/grafana/build_dashboards.py`.

Seed: "Monitoring and Observability". One dashboard per family of patterns; each panel
is titled by the pattern it shows and described in one line, so a reader can kill a
replica or flood a cache and find the panel that moves. The JSON files under
dashboards/ are the output (Grafana provisions them; tests check every panel's PromQL
against the live test Prometheus): edit this file, re-run it, commit both.

Template variables use `allValue: ".*"` with `=~` matchers, so "All" is a regex that
the tests can substitute too.
"""

import json
from pathlib import Path

DASHBOARDS = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
RATE = "$__rate_interval"
SERVICES = ["gateway", "users", "products", "orders", "payments", "notifications"]
APP_JOBS = "users|products|orders|payments|notifications|gateway|worker"


# ---------------------------------------------------------------- building blocks


def target(expr: str, legend: str = "") -> dict:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "range": True}


def panel(title: str, description: str, *targets: dict, unit: str = "short", kind: str = "timeseries",
          width: int = 12, max_value: float | None = None) -> dict:
    defaults = {"unit": unit}
    if max_value is not None:
        defaults["max"] = max_value
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": [{**t, "refId": chr(ord("A") + i)} for i, t in enumerate(targets)],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}},
        "gridPos": {"w": width, "h": 8},
    }


def row(title: str) -> dict:
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "gridPos": {"w": 24, "h": 1}}


def variable(name: str, query: str, label: str) -> dict:
    return {
        "name": name, "label": label, "type": "query", "datasource": DATASOURCE,
        "query": {"query": query, "refId": name}, "definition": query,
        "multi": True, "includeAll": True, "allValue": ".*", "refresh": 2, "sort": 1,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
    }


def layout(panels: list[dict]) -> list[dict]:
    """Place panels left to right, 24 columns wide; a row starts a new line."""
    x = y = line_height = 0
    for panel_id, item in enumerate(panels, start=1):
        item["id"] = panel_id
        grid = item["gridPos"]
        if item["type"] == "row" or x + grid["w"] > 24:
            x, y = 0, y + line_height
            line_height = 0
        grid["x"], grid["y"] = x, y
        x += grid["w"]
        line_height = max(line_height, grid["h"])
        if item["type"] == "row":
            x, y, line_height = 0, y + grid["h"], 0
    return panels


def dashboard(uid: str, title: str, description: str, panels: list[dict], variables: list[dict]) -> dict:
    return {
        "uid": uid, "title": title, "description": description, "tags": ["scaleshop"],
        "schemaVersion": 39, "version": 1, "editable": True, "timezone": "browser",
        "refresh": "5s", "time": {"from": "now-15m", "to": "now"},
        "templating": {"list": variables}, "annotations": {"list": []},
        "panels": layout(panels),
    }


BY_VERSION = "* on (service, replica) group_left (version) service_version_info"


def ratio_or_zero(part: str, whole: str, by: str) -> str:
    """part/whole that is 0, not "no data", when `part` has no series yet (no error, no hit)."""
    return f"(sum by ({by}) ({part}) or sum by ({by}) ({whole}) * 0) / sum by ({by}) ({whole})"


# ---------------------------------------------------------------- the dashboards


def overview() -> dict:
    """Golden signals (latency, traffic, errors, saturation) with a row per service."""
    panels = [
        row("Stack"),
        panel("Health checks: replicas up per component",
              "Scrape targets answering /metrics, per job: a killed replica drops its count.",
              target(f'sum by (job) (up{{job=~"{APP_JOBS}|postgres|redis|nginx"}})', "{{job}}")),
        panel("Traffic: requests per second per service",
              "RED rate of every service, all replicas summed.",
              target(f'sum by (service) (rate(http_requests_total{{replica=~"$replica"}}[{RATE}]))', "{{service}}"),
              unit="reqps"),
        # Deploys (stackctl/deploy.py): service_version_info joined on (service, replica) splits RED by version.
        row("Deploys: versions"),
        panel("Replicas per version",
              "service_version_info per service and version: a rolling deploy moves replicas from one line to the "
              "other, a canary adds one beside the baseline, a rollback takes it away.",
              target("count by (service, version) (service_version_info)", "{{service}} {{version}}"), width=8),
        panel("Error rate by version",
              "5xx share of each version's requests: the canary analysis' error rate, canary vs baseline.",
              target(ratio_or_zero(f'rate(http_requests_total{{status=~"5.."}}[{RATE}]) {BY_VERSION}',
                                   f"rate(http_requests_total[{RATE}]) {BY_VERSION}", "service, version"),
                     "{{service}} {{version}}"), unit="percentunit", width=8),
        panel("p95 latency by version",
              "The canary analysis' p95, canary vs baseline.",
              target(f"histogram_quantile(0.95, sum by (service, version, le) "
                     f"(rate(http_request_duration_seconds_bucket[{RATE}]) {BY_VERSION}))", "{{service}} {{version}}"),
              unit="s", width=8),
    ]
    for service in SERVICES:
        selector = f'service="{service}",replica=~"$replica"'
        all_requests = f"rate(http_requests_total{{{selector}}}[{RATE}])"
        errors = f'rate(http_requests_total{{{selector},status=~"5.."}}[{RATE}])'
        buckets = f"rate(http_request_duration_seconds_bucket{{{selector}}}[{RATE}])"
        saturation = [target(f"sum by (replica) (http_requests_in_flight{{{selector}}})", "in flight {{replica}}")]
        if service != "gateway":  # the gateway keeps no database
            saturation.append(target(
                f'sum by (replica) (db_pool_connections{{{selector},state="checked_out"}})', "db conns {{replica}}"))
        panels += [
            row(f"{service}"),
            panel(f"{service} traffic: requests per second by route",
                  "RED rate: requests per second per route template, all replicas.",
                  target(f"sum by (route) ({all_requests})", "{{route}}"), unit="reqps", width=6),
            panel(f"{service} errors: share of 5xx responses",
                  "RED errors: server errors over all requests (alert HighErrorRate at 5%).",
                  target(ratio_or_zero(errors, all_requests, "service"), "5xx ratio"), unit="percentunit", width=6),
            panel(f"{service} latency: p50 / p95 / p99",
                  "RED duration from the latency histogram (alert HighLatency at p95 > 1 s).",
                  *(target(f"histogram_quantile({q}, sum by (le) ({buckets}))", f"p{int(q * 100)}")
                    for q in (0.5, 0.95, 0.99)), unit="s", width=6),
            panel(f"{service} saturation: in-flight requests and DB connections",
                  "Work in progress per replica: requests being served and pooled connections checked out.",
                  *saturation, width=6),
        ]
    return dashboard("scaleshop-overview", "ScaleShop / Overview",
                     "Golden signals per service: traffic, errors, latency, saturation.",
                     panels, [variable("replica", "label_values(http_requests_total, replica)", "Replica")])


def edge() -> dict:
    """nginx in front of the gateways, the gateways in front of the service replicas."""
    service = 'service=~"$service"'
    panels = [
        row("Edge (nginx)"),
        panel("Reverse proxy: requests per second at nginx",
              "Everything the shop receives, counted by nginx (nginx-exporter).",
              target(f"sum(rate(nginx_http_requests_total[{RATE}]))", "requests/s"), unit="reqps"),
        panel("Keepalive: nginx client connections by state",
              "Active, reading, writing and idle keepalive (waiting) client connections.",
              target("nginx_connections_active", "active"), target("nginx_connections_reading", "reading"),
              target("nginx_connections_writing", "writing"), target("nginx_connections_waiting", "waiting")),
        panel("Edge cache: hit ratio",
              "Share of edge responses served from nginx's cache (HIT, or STALE/UPDATING while refreshing).",
              target(ratio_or_zero(f'rate(edge_requests_total{{cache=~"HIT|STALE|UPDATING"}}[{RATE}])',
                                   f'rate(edge_requests_total{{cache!="BYPASS"}}[{RATE}])', "job"), "hit ratio"),
              unit="percentunit"),
        panel("Edge cache: responses by X-Cache-Status",
              "Every edge response by cache status (mtail over nginx's log); BYPASS: personal, writes, other routes.",
              target(f"sum by (cache) (rate(edge_requests_total[{RATE}]))", "{{cache}}"), unit="reqps"),
        panel("Edge: response time by cache status (p50 / p99)",
              "What a hit saves: nginx's own request time for hits, misses and bypassed requests.",
              *(target(f"histogram_quantile({q}, sum by (le, cache) (rate(edge_request_seconds_bucket[{RATE}])))",
                       f"p{int(q * 100)} {{{{cache}}}}") for q in (0.5, 0.99)), unit="s"),
        row("Load balancing"),
        panel("Edge balancing: requests per gateway as nginx sent them",
              "The active algorithm's share (make lb ALGO=...): requests each gateway answered at the edge.",
              target(f"sum by (gateway) (rate(edge_upstream_requests_total[{RATE}]))", "{{gateway}}"),
              unit="reqps"),
        panel("Edge balancing: gateway response time seen by nginx (p50 / p99)",
              "Per gateway: a slow replica shows here, and least_conn sends it less.",
              *(target(f"histogram_quantile({q}, sum by (le, gateway) "
                       f"(rate(edge_upstream_response_seconds_bucket[{RATE}])))", f"p{int(q * 100)} {{{{gateway}}}}")
                for q in (0.5, 0.99)), unit="s"),
        panel("Load balancing (edge algorithm): requests per gateway replica",
              "How nginx spreads requests over gateway-1 and gateway-2, counted by the gateways.",
              target(f'sum by (replica) (rate(http_requests_total{{service="gateway"}}[{RATE}]))', "{{replica}}"),
              unit="reqps"),
        panel("Load balancing: requests served per service replica",
              "Each replica's share of its service's traffic: even when healthy, shifted when one is down.",
              target(f'sum by (replica) (rate(http_requests_total{{{service},service!="gateway"}}[{RATE}]))',
                     "{{replica}}"), unit="reqps"),
        panel("Client-side load balancing: gateway calls per upstream replica",
              "The gateway's own round robin over the replicas of each service, by the replica that answered.",
              target(f'sum by (service, upstream) (rate(upstream_requests_total{{caller="gateway",{service}}}[{RATE}]))',
                     "{{service}} → {{upstream}}"), unit="reqps"),
        row("Failover"),
        panel("Health checks: service replicas up",
              "1 while Prometheus can scrape the replica; a killed replica drops to 0.",
              target(f'up{{job=~"{APP_JOBS}",{service}}}', "{{replica}}"), max_value=1),
        panel("Failover: failed calls per upstream replica",
              "Calls the gateway could not complete on a replica (connect refused, timeout), then ejected it.",
              target(f'sum by (service, upstream, kind) (increase(upstream_errors_total{{{service}}}[{RATE}]))',
                     "{{upstream}} {{kind}}")),
        panel("Failover: calls retried on another replica",
              "A failed call moved to the next replica (tenacity retry with jitter).",
              target(f'sum by (caller, service) (rate(upstream_retries_total{{{service}}}[{RATE}]))',
                     "{{caller}} → {{service}}"), unit="reqps"),
    ]
    return dashboard("scaleshop-edge", "ScaleShop / Edge & load balancing",
                     "nginx, the gateways and the service replicas: distribution and failover.",
                     panels, [variable("service", "label_values(upstream_requests_total, service)", "Service")])


def caching() -> dict:
    """The application caches in Redis, their strategies, write-behind, and the database load they save."""
    cache = 'cache=~"$cache"'
    lookups = f"rate(cache_requests_total{{{cache}}}[{RATE}])"
    hits = f'rate(cache_requests_total{{{cache},result="hit"}}[{RATE}])'
    panels = [
        row("Application caches (Redis)"),
        panel("Cache-aside: hit ratio per cache",
              "Share of lookups answered from Redis (alert CacheHitRatioLow under 70%).",
              target(ratio_or_zero(hits, lookups, "cache"), "{{cache}}"), unit="percentunit", max_value=1),
        panel("Cache-aside: lookups per second by result",
              "Hits and misses per cache; every miss goes to the database and fills the cache.",
              target(f"sum by (cache, result) ({lookups})", "{{cache}} {{result}}"), unit="reqps"),
        panel("DB queries avoided: cache hits per second",
              "Each hit is a database read that did not happen.",
              target(f"sum by (cache) ({hits})", "{{cache}}"), unit="reqps"),
        panel("Cache fill: values written per cache",
              "Sets after a miss (cache-aside) or on write (write-through).",
              target(f"sum by (cache) (rate(cache_sets_total{{{cache}}}[{RATE}]))", "{{cache}}"), unit="ops"),
        panel("Invalidation: entries dropped on change per cache",
              "Event-based invalidation: a write (price, stock) removes the cached entry.",
              target(f"sum by (cache) (rate(cache_invalidations_total{{{cache}}}[{RATE}]))", "{{cache}}"),
              unit="ops"),
        panel("Database behind the cache: products queries per second",
              "SQL statements the products service still sends, by database role.",
              target(f'sum by (database) (rate(db_query_duration_seconds_count{{service="products"}}[{RATE}]))',
                     "{{database}}"), unit="ops"),
        row("Caching strategies (flag product_cache_strategy) and write-behind"),
        panel("Strategies: hit ratio per cache and strategy",
              "Share of reads answered from Redis under each strategy (chassis/cache_strategies.py); switch the "
              "flag and watch the lines change places.",
              target(ratio_or_zero(f'rate(cache_reads_total{{{cache},source="HIT"}}[{RATE}])',
                                   f"rate(cache_reads_total{{{cache}}}[{RATE}])", "cache, strategy"),
                     "{{cache}} {{strategy}}"), unit="percentunit", max_value=1),
        panel("Strategies: database loads per read",
              "Loads a strategy made (misses, early and background reloads) per read: DB queries per request "
              "(floor 0.05 warm, bench scenario 13).",
              target(ratio_or_zero(f"rate(cache_loads_total{{{cache}}}[{RATE}])",
                                   f"rate(cache_reads_total{{{cache}}}[{RATE}])", "cache, strategy"),
                     "{{cache}} {{strategy}}")),
        panel("Strategies: age of the copy a hit served (p95)",
              "How long ago the served entry was stored: an upper bound on its staleness; refresh-ahead keeps it "
              "young, a TTL alone lets it reach the TTL.",
              target(f"histogram_quantile(0.95, sum by (le, cache, strategy) "
                     f"(rate(cache_served_age_seconds_bucket{{{cache}}}[{RATE}])))", "{{cache}} {{strategy}}"),
              unit="s"),
        panel("Write-behind: backlog of unflushed events",
              "View events in the queue Redis not yet in the database (pending plus claimed batches), per replica's "
              "last flush; it drains every flush interval (1 s) unless the flusher or the database is down.",
              target("max by (buffer) (write_behind_backlog)", "{{buffer}}")),
        panel("Write-behind: events recorded vs database writes",
              "Events counted in Redis and the batches (one transaction each) that wrote them: the gap is the "
              "database work write-behind saves.",
              target(f"sum by (buffer) (rate(write_behind_events_total[{RATE}]))", "{{buffer}} events"),
              target(f"sum by (buffer) (rate(write_behind_batches_total[{RATE}]))", "{{buffer}} batches"),
              unit="ops"),
        row("Redis: cache and queue"),
        panel("Redis: memory used and limit, cache and queue",
              "Both bounded: the cache evicts (LRU) when full, the queue refuses writes (noeviction).",
              target("redis_memory_used_bytes", "{{replica}} used"),
              target("redis_memory_max_bytes", "{{replica}} maxmemory"), unit="bytes"),
        panel("Redis: evicted and expired keys per second",
              "Keys removed by the LRU policy (memory pressure) or by their TTL; the queue Redis never evicts.",
              target(f"rate(redis_evicted_keys_total[{RATE}])", "{{replica}} evicted"),
              target(f"rate(redis_expired_keys_total[{RATE}])", "{{replica}} expired"), unit="ops"),
        panel("Redis: commands per second",
              "Cache Redis (cache, sessions, rate limits) and queue Redis (Celery broker, flag store).",
              target(f"rate(redis_commands_processed_total[{RATE}])", "{{replica}}"), unit="ops"),
        panel("Queue Redis: durability (append-only file)",
              "1 = AOF on (fsync every second): a crash loses at most ~1 s of queue writes; the cache Redis has none.",
              target("redis_aof_enabled", "{{replica}} AOF"), max_value=1),
    ]
    return dashboard("scaleshop-caching", "ScaleShop / Caching & CDN",
                     "Cache hit ratios, the database reads they save, and Redis itself. The nginx edge cache's "
                     "hit ratio is on the Edge & load balancing dashboard (edge_requests_total, from mtail).",
                     panels, [variable("cache", "label_values(cache_requests_total, cache)", "Cache")])


def databases() -> dict:
    """Pools, query latency, the read replica and the Postgres servers."""
    service = 'service=~"$service"'
    panels = [
        row("From the services"),
        panel("Connection pooling: pooled connections by state",
              "Per service and database role: size, checked out, idle, overflow (SQLAlchemy pool).",
              target(f"sum by (service, database, state) (db_pool_connections{{{service}}})",
                     "{{service}} {{database}} {{state}}")),
        panel("Query latency: p95 per service and database",
              "95th percentile of SQL statement time, from SQLAlchemy cursor events.",
              target(f"histogram_quantile(0.95, sum by (service, database, le) "
                     f"(rate(db_query_duration_seconds_bucket{{{service}}}[{RATE}])))", "{{service}} {{database}}"),
              unit="s"),
        panel("Query rate: statements per second",
              "SQL statements per service and database role (primary or read replica).",
              target(f"sum by (service, database) (rate(db_query_duration_seconds_count{{{service}}}[{RATE}]))",
                     "{{service}} {{database}}"), unit="ops"),
        row("Read replica"),
        panel("Read replica: reads by the database that served them",
              "Reads routed to the replica, and fallbacks to the primary when it is down or lagging.",
              target(f"sum by (service, target, reason) (rate(db_reads_total{{{service}}}[{RATE}]))",
                     "{{service}} {{target}} ({{reason}})"), unit="ops"),
        panel("Replication lag: bytes the replica has not replayed",
              "The primary's pg_stat_replication (alert ReplicationLagHigh above 16 MiB) and the services' own check.",
              target("pg_replication_lag_bytes", "{{database}} → {{replica}}"),
              target(f"max by (service) (db_replica_lag_bytes{{{service}}})", "seen by {{service}}"), unit="bytes"),
        row("Postgres servers"),
        panel("Database per service: servers up",
              "postgres-exporter's connection to each database (alert DatabaseDown).",
              target("pg_up", "{{database}}"), max_value=1),
        panel("Database per service: client connections",
              "Connections open on each server, all states.",
              target('sum by (database) (pg_stat_activity_count)', "{{database}}")),
        panel("Database per service: transactions per second",
              "Commits per second on each server.",
              target(f'sum by (database) (rate(pg_stat_database_xact_commit{{datname!~"template.*|postgres"}}[{RATE}]))',
                     "{{database}}"), unit="ops"),
        row("Connection pooler (pgbouncer, transaction mode)"),
        panel("Pooler: client vs server connections per database",
              "Many client connections (the services' pools, active or waiting) share a few Postgres server "
              "connections, never more than the pool size (5: HikariCP's formula, README \"Connection pooling\").",
              target("sum by (database, state) (pgbouncer_pool_client_connections)", "{{database}} clients {{state}}"),
              target("sum by (database) (pgbouncer_pool_server_connections)", "{{database}} server connections"),
              target("max by (database) (pgbouncer_database_pool_size)", "{{database}} pool size")),
        panel("Pooler: pool saturation",
              "Server connections lent to a client now, as a share of the pool; at 100% new transactions queue.",
              target("sum by (database) (pgbouncer_pool_server_connections{state=\"active\"}) "
                     "/ max by (database) (pgbouncer_database_pool_size)", "{{database}}"),
              unit="percentunit", max_value=1),
        panel("Pooler: longest wait for a server connection",
              "How long the oldest waiting client has waited (alert PoolerClientsWaiting above 1 s for 2 min).",
              target("max by (database) (pgbouncer_pool_max_wait_seconds)", "{{database}}"), unit="s"),
        panel("Pooler: transactions per second per database",
              "Transactions pgbouncer passed to each database, and the time clients spent queued per second.",
              target(f"sum by (database) (rate(pgbouncer_transactions_total[{RATE}]))", "{{database}} transactions"),
              target(f"sum by (database) (rate(pgbouncer_client_wait_seconds_total[{RATE}]))",
                     "{{database}} seconds queued per second"), unit="ops"),
        row("Orders shards (hash of the user behind a directory)"),
        panel("Shards: orders written per second by shard",
              "Orders placed, by the shard that holds the customer (orders.shards); even shares = balanced buckets.",
              target(f"sum by (shard) (rate(orders_shard_orders_total[{RATE}]))", "shard {{shard}}"), unit="ops"),
        panel("Shards: orders held and buckets owned per shard",
              "Rows each shard holds in the buckets it owns, and its buckets (of 64): `make reshard` moves them.",
              target('pg_shard_orders{database=~"orders-db.*"}', "{{database}} orders"),
              target('pg_shard_buckets{database=~"orders-db.*"}', "{{database}} buckets")),
    ]
    return dashboard("scaleshop-databases", "ScaleShop / Databases",
                     "Connection pools, the pooler, query latency, primary vs replica, replication lag, the servers.",
                     panels, [variable("service", "label_values(db_pool_connections, service)", "Service")])


def async_work() -> dict:
    """Celery queue and workers, the transactional outbox, the order saga."""
    task = 'task=~"$task"'
    panels = [
        row("Queue and workers (Celery)"),
        panel("Message queue: tasks waiting in Redis",
              "Length of each Celery queue list in the queue Redis: celery, orders, payments, notifications (alert QueueBacklogGrowing).",
              target('sum by (key) (redis_key_size{db="db0"})', "{{key}}")),
        panel("Background workers: task executions by outcome",
              "Tasks started, succeeded, failed and retried per second, per task.",
              target(f"sum by (task, state) (rate(celery_tasks_total{{{task}}}[{RATE}]))", "{{task}} {{state}}"),
              unit="ops"),
        panel("Background workers: task duration p95",
              "95th percentile of the time a task ran in a worker.",
              target(f"histogram_quantile(0.95, sum by (task, le) "
                     f"(rate(celery_task_duration_seconds_bucket{{{task}}}[{RATE}])))", "{{task}}"), unit="s"),
        row("Transactional outbox"),
        panel("Outbox: rows waiting to be published",
              "Events stored with their order but not yet on the queue (postgres-exporter on orders-db).",
              target('pg_outbox_backlog{database="orders-db"}', "in orders-db"),
              target("sum(outbox_backlog)", "seen by the relay")),
        panel("Outbox: age of the oldest unpublished row",
              "Grows when the relay is stuck (alert OutboxStuck after 60 s).",
              target('pg_outbox_oldest_age_seconds{database="orders-db"}', "oldest"), unit="s"),
        panel("Outbox relay: events published per topic",
              "Rows the relay moved from the outbox table to the queue.",
              target(f"sum by (topic) (rate(outbox_published_total[{RATE}]))", "{{topic}}"), unit="ops"),
        row("Order saga"),
        panel("Saga: order status transitions per second",
              "Orders entering each state: PENDING, then PAID and CONFIRMED, or a compensated failure.",
              target(f"sum by (status) (rate(orders_status_total[{RATE}]))", "{{status}}"), unit="ops"),
        panel("Saga recovery: stuck orders re-driven and timed out",
              "Orders the reconciler moved on after the step deadline, and those failed with compensation (alert SagaTimeouts).",
              target(f"sum by (status) (increase(saga_recovered_total[{RATE}]))", "re-driven from {{status}}"),
              target(f"sum(increase(saga_failed_by_timeout_total[{RATE}]))", "failed by timeout"),
              target("max(saga_stuck_orders)", "still past the deadline")),
        panel("Idempotency: checkout requests by key outcome",
              "New keys, replayed responses and conflicts: a retried checkout never places a second order.",
              target(f"sum by (result) (rate(idempotency_requests_total[{RATE}]))", "{{result}}"), unit="reqps"),
        panel("Business: orders placed and payments by result",
              "Checkouts accepted, and the payment outcome of each (charged, declined, refunded).",
              target(f"sum(rate(orders_placed_total[{RATE}]))", "orders placed"),
              target(f"sum by (result) (rate(payments_total[{RATE}]))", "payments {{result}}"), unit="ops"),
        panel("Business: revenue per minute",
              "Amount charged per minute, by currency.",
              target(f"sum by (currency) (rate(revenue_total[{RATE}])) * 60", "{{currency}}")),
    ]
    return dashboard("scaleshop-async", "ScaleShop / Async & saga",
                     "Queue depth, task rates, the outbox and the order saga.",
                     panels, [variable("task", "label_values(celery_tasks_total, task)", "Task")])


def resilience() -> dict:
    """What the gateway and the service clients do when a dependency fails."""
    panels = [
        row("Calls between services"),
        panel("Timeouts and failures: upstream errors by kind",
              "Connect refused, timeouts and transport errors per upstream replica.",
              target(f"sum by (caller, service, kind) (increase(upstream_errors_total[{RATE}]))",
                     "{{caller}} → {{service}} {{kind}}")),
        panel("Retries with jitter: calls retried on another replica",
              "Idempotent or never-sent calls retried after a failure.",
              target(f"sum by (caller, service) (rate(upstream_retries_total[{RATE}]))", "{{caller}} → {{service}}"),
              unit="reqps"),
        panel("Circuit breakers: state per caller and service",
              "0 closed, 1 half-open (probing), 2 open (failing fast); alert CircuitOpen.",
              target("max by (caller, service) (circuit_breaker_state)", "{{caller}} → {{service}}"), max_value=2),
        panel("Upstream responses by status",
              "Status codes the callers received from each service.",
              target(f"sum by (service, status) (rate(upstream_requests_total[{RATE}]))", "{{service}} {{status}}"),
              unit="reqps"),
        row("Gateway"),
        panel("Rate limiting: requests refused with 429 by scope",
              "Per-user and per-address limits, and the failed-login (brute-force) guard.",
              target(f"sum by (scope) (rate(gateway_rate_limited_total[{RATE}]))", "{{scope}}"), unit="reqps"),
        panel("Authentication at the gateway: 401 by reason",
              "Requests refused before reaching a service: missing, expired or invalid token.",
              target(f"sum by (reason) (rate(gateway_auth_failures_total[{RATE}]))", "{{reason}}"), unit="reqps"),
    ]
    return dashboard("scaleshop-resilience", "ScaleShop / Resilience",
                     "Retries, timeouts, circuit breakers and the gateway's rate limits.", panels, [])


def analytics() -> dict:
    """Web analytics over the event stream: producers, the consumer group, lag (seed 000)."""
    panels = [
        row("Producers (gateway, analytics beacon, orders)"),
        panel("Event stream: events emitted per service",
              "Events appended to the Redis Stream by each producer (one script call per flush).",
              target(f"sum by (service) (rate(events_emitted_total[{RATE}]))", "{{service}}"), unit="ops"),
        panel("Backpressure: events dropped instead of slowing requests",
              "buffer_full: the in-process buffer was full; stream_down: Redis refused the flush (alert AnalyticsEventsDropped).",
              target(f"sum by (service, reason) (rate(events_dropped_total[{RATE}]))", "{{service}} {{reason}}"),
              unit="ops"),
        row("Stream processing (consumer group)"),
        panel("Consumers: entries processed by outcome",
              "applied, duplicate (same event id seen before), late (beyond the allowed lateness), invalid.",
              target(f"sum by (outcome) (rate(analytics_events_processed_total[{RATE}]))", "{{outcome}}"),
              unit="ops"),
        panel("End-to-end lag p50 / p95 (emit -> applied)",
              "Includes the producer's flush interval and the batch; floor: p95 <= 2 s under load (alert AnalyticsLagHigh).",
              target(f"histogram_quantile(0.5, sum by (le) (rate(analytics_event_lag_seconds_bucket[{RATE}])))", "p50"),
              target(f"histogram_quantile(0.95, sum by (le) (rate(analytics_event_lag_seconds_bucket[{RATE}])))", "p95"),
              unit="s"),
        panel("Consumer group: pending and undelivered entries",
              "Pending: delivered, not yet acknowledged; lag: in the stream, not yet delivered to any consumer.",
              target("max(analytics_group_pending)", "pending"), target("max(analytics_group_lag)", "lag")),
        panel("Stream: length and memory (bounded by MAXLEN ~)",
              "Entries kept in the stream and the memory they take in Redis.",
              target("max(analytics_stream_length)", "entries"),
              target("max(analytics_stream_memory_bytes) / 1024", "KiB")),
        panel("Failover: entries taken over from a dead consumer",
              "XAUTOCLAIM of entries pending too long at another member of the group.",
              target(f"sum(rate(analytics_consumer_claimed_total[{RATE}]))", "claimed"), unit="ops"),
    ]
    return dashboard("scaleshop-analytics", "ScaleShop / Analytics stream",
                     "The event stream: producers, drops, the consumer group's throughput, lag and backlog.",
                     panels, [])


BUILDERS = {"overview": overview, "edge": edge, "caching": caching, "databases": databases,
            "async": async_work, "resilience": resilience, "analytics": analytics}


def main() -> None:
    DASHBOARDS.mkdir(exist_ok=True)
    for name, build in BUILDERS.items():
        path = DASHBOARDS / f"{name}.json"
        path.write_text(json.dumps(build(), indent=2) + "\n")
        print(f"wrote {path.relative_to(DASHBOARDS.parent.parent.parent)}")


if __name__ == "__main__":
    main()
