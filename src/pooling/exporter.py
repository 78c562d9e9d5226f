"""pgbouncer's pools as Prometheus metrics: `python -m pooling.exporter` (compose: pgbouncer-exporter).

Why not Debian's prometheus-pgbouncer-exporter (1.7): it reads `total_requests` from SHOW STATS,
a column pgbouncer renamed in 1.8, so against Debian's own pgbouncer 1.18 every scrape fails; it
also holds one connection for its life (a restarted pgbouncer leaves it failing) and reports no
server connections per database. This is the same idea on prometheus-client's custom-collector
API: each scrape opens a connection to pgbouncer's admin console (as a `stats_users` member),
reads SHOW POOLS, DATABASES and STATS, and closes it. A scrape that cannot reach pgbouncer
answers `pgbouncer_up 0` instead of failing.

What the pattern needs to be seen (README "Connection pooling"): client connections (active,
waiting for a server connection) against server connections (active, idle, used, ...) per
database, the pool size they are held to, how long clients waited, and transactions per second.
"""

import os
import time

import psycopg2
from prometheus_client import start_http_server
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily

CLIENT_STATES = {"cl_active": "active", "cl_waiting": "waiting"}
SERVER_STATES = {"sv_active": "active", "sv_idle": "idle", "sv_used": "used", "sv_tested": "tested",
                 "sv_login": "login"}
ADMIN_DATABASE = "pgbouncer"  # the admin console lists itself as a database: not a pool of the shop


def show(cursor, what: str) -> list[dict]:
    cursor.execute(f"SHOW {what}")
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


class PgbouncerCollector:
    """One scrape = one admin-console connection; the metrics are built from what it answers."""

    def __init__(self, dsn: str, timeout_seconds: float = 3.0):
        self.dsn = dsn
        self.timeout_seconds = timeout_seconds

    def read(self) -> dict[str, list[dict]]:
        connection = psycopg2.connect(self.dsn, connect_timeout=max(1, int(self.timeout_seconds)))
        try:
            connection.autocommit = True  # the admin console knows no transactions
            with connection.cursor() as cursor:
                return {what: [row for row in show(cursor, what)
                               if row.get("database", row.get("name")) != ADMIN_DATABASE]
                        for what in ("POOLS", "DATABASES", "STATS")}
        finally:
            connection.close()

    def collect(self):
        up = GaugeMetricFamily("pgbouncer_up", "1 when the last scrape read pgbouncer's admin console")
        try:
            answers = self.read()
        except psycopg2.Error:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from self.pools(answers["POOLS"])
        yield from self.databases(answers["DATABASES"])
        yield from self.stats(answers["STATS"])

    @staticmethod
    def pools(rows: list[dict]):
        clients = GaugeMetricFamily("pgbouncer_pool_client_connections",
                                    "Client connections by state: active (paired with a server connection) "
                                    "or waiting for one", labels=["database", "user", "state"])
        servers = GaugeMetricFamily("pgbouncer_pool_server_connections",
                                    "Postgres server connections by state: active (lent to a client), idle, "
                                    "used (to be checked), tested, login", labels=["database", "user", "state"])
        max_wait = GaugeMetricFamily("pgbouncer_pool_max_wait_seconds",
                                     "How long the oldest waiting client has waited", labels=["database", "user"])
        for row in rows:
            labels = [row["database"], row["user"]]
            for column, state in CLIENT_STATES.items():
                clients.add_metric([*labels, state], float(row[column]))
            for column, state in SERVER_STATES.items():
                servers.add_metric([*labels, state], float(row[column]))
            max_wait.add_metric(labels, float(row["maxwait"]) + float(row.get("maxwait_us", 0)) / 1e6)
        yield from (clients, servers, max_wait)

    @staticmethod
    def databases(rows: list[dict]):
        pool_size = GaugeMetricFamily("pgbouncer_database_pool_size",
                                      "Server connections a pool may hold (default_pool_size)", labels=["database"])
        current = GaugeMetricFamily("pgbouncer_database_server_connections",
                                    "Server connections open to this database now", labels=["database"])
        for row in rows:
            pool_size.add_metric([row["name"]], float(row["pool_size"]))
            current.add_metric([row["name"]], float(row["current_connections"]))
        yield from (pool_size, current)

    @staticmethod
    def stats(rows: list[dict]):
        transactions = CounterMetricFamily("pgbouncer_transactions", "Transactions pooled", labels=["database"])
        queries = CounterMetricFamily("pgbouncer_queries", "Queries pooled", labels=["database"])
        query_time = CounterMetricFamily("pgbouncer_query_seconds",
                                         "Time spent in queries on server connections", labels=["database"])
        wait_time = CounterMetricFamily("pgbouncer_client_wait_seconds",
                                        "Time clients spent waiting for a server connection", labels=["database"])
        for row in rows:
            database = [row["database"]]
            # The console answers numeric columns (psycopg2: Decimal): Prometheus wants floats.
            transactions.add_metric(database, float(row["total_xact_count"]))
            queries.add_metric(database, float(row["total_query_count"]))
            query_time.add_metric(database, float(row["total_query_time"]) / 1e6)
            wait_time.add_metric(database, float(row["total_wait_time"]) / 1e6)
        yield from (transactions, queries, query_time, wait_time)


def main() -> None:
    host, _, port = os.environ.get("METRICS_ADDRESS", "0.0.0.0:9127").rpartition(":")
    REGISTRY.register(PgbouncerCollector(os.environ["PGBOUNCER_DSN"]))
    start_http_server(int(port), addr=host)
    print(f"pgbouncer exporter on {host}:{port}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
