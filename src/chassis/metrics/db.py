"""Database metrics (seed: database optimization): pool use, query latency, replica vs primary reads."""

from prometheus_client import Counter, Gauge, Histogram

DB_POOL = Gauge(
    "db_pool_connections", "Connection pool state per process, summed over live workers",
    ["service", "replica", "database", "state"], multiprocess_mode="livesum",
)
DB_QUERY_DURATION = Histogram(
    "db_query_duration_seconds", "Latency of SQL statements", ["service", "database"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
DB_READS = Counter(
    "db_reads_total", "Reads by the database that served them and why",
    ["service", "target", "reason"],  # target: replica|primary; reason: replica|fallback_down|fallback_lag|primary
)
DB_REPLICA_LAG_BYTES = Gauge(
    "db_replica_lag_bytes", "Replication lag seen by the service's last check", ["service"], multiprocess_mode="max"
)
