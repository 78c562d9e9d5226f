"""The connection pooler on the live test stack (infra/pgbouncer, seed "Stage 6: Database
Optimization", connection pooling): the services reach their databases through pgbouncer, and
many concurrent clients share the pool's few Postgres server connections, never more.

The bound is read on both sides: pgbouncer's own view (SHOW POOLS) and the database's
(pg_stat_activity), so a pooler that lied about its server connections would still fail.
"""

import asyncio
import configparser
import os
import threading
import time
from contextlib import closing
from pathlib import Path

import asyncpg
import psycopg2
import pytest

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 200
TRANSACTIONS_PER_CLIENT = 10
MONITOR = "pooler-test-monitor"


def pool_size() -> int:
    config = configparser.ConfigParser(inline_comment_prefixes=(";",))
    config.read(ROOT / "infra" / "pgbouncer" / "pgbouncer.ini")
    return config.getint("pgbouncer", "default_pool_size")


def admin(stack):
    """pgbouncer's admin console, read-only side (SHOW ...), as the exporter reads it. Closed with
    contextlib.closing: psycopg2's own `with connection` opens a transaction, which the console refuses."""
    password = os.environ.get("PGBOUNCER_STATS_PASSWORD", "dev-only-pgbouncer-stats")
    connection = psycopg2.connect(host=stack.address("pgbouncer"), port=6432, dbname="pgbouncer",
                                  user="pgbouncer_stats", password=password)
    connection.autocommit = True
    return connection


def show(connection, what: str) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {what}")
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def test_the_services_reach_their_databases_through_the_pooler(stack):
    """Every service's readiness checks its database: through pgbouncer, each pool has served transactions."""
    with closing(admin(stack)) as connection:
        stats = {row["database"]: row for row in show(connection, "STATS")}
    for database in ("users", "orders", "payments", "notifications"):
        assert stats[database]["total_xact_count"] > 0, f"{database}: no transaction went through pgbouncer"


def test_many_clients_share_the_pool_and_postgres_never_sees_more_than_its_size(stack):
    size = pool_size()
    password = os.environ.get("ORDERS_DB_PASSWORD", "dev-only-orders")
    peaks = {"server_connections": 0, "backends": 0, "clients": 0, "waiting": 0}
    stop = threading.Event()

    def watch() -> None:
        """Sample both sides every 50 ms while the clients run."""
        direct = psycopg2.connect(host=stack.address("orders-db"), dbname="orders", user="orders",
                                  password=password, application_name=MONITOR)
        direct.autocommit = True
        with closing(admin(stack)) as console, closing(direct):
            while not stop.is_set():
                pool = next(row for row in show(console, "POOLS") if row["database"] == "orders")
                servers = sum(pool[state] for state in ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login"))
                with direct.cursor() as cursor:
                    # Server connections as Postgres counts them: the orders role's client backends,
                    # minus those that connect directly: this monitor, the postgres-exporter, and
                    # pgBackRest when the backup container happens to back orders-db up.
                    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = 'orders' AND "
                                   "usename = 'orders' AND backend_type = 'client backend' AND "
                                   "pid <> pg_backend_pid() AND application_name <> 'postgres-exporter' AND "
                                   "application_name NOT LIKE 'pgBackRest%'")
                    backends = cursor.fetchone()[0]
                for key, value in (("server_connections", servers), ("backends", backends),
                                   ("clients", pool["cl_active"] + pool["cl_waiting"]),
                                   ("waiting", pool["cl_waiting"])):
                    peaks[key] = max(peaks[key], value)
                time.sleep(0.05)

    async def client(number: int) -> int:
        # What chassis/db.py does behind pgbouncer: no prepared statement kept across transactions.
        connection = await asyncpg.connect(host=stack.address("pgbouncer"), port=6432, database="orders",
                                           user="orders", password=password, statement_cache_size=0,
                                           timeout=30, server_settings={"application_name": f"pooler-test-{number}"})
        try:
            done = 0
            for _ in range(TRANSACTIONS_PER_CLIENT):
                async with connection.transaction():
                    await connection.fetchval("SELECT pg_sleep(0.01)")
                    done += 1
            return done
        finally:
            await connection.close()

    async def all_clients() -> list:
        return await asyncio.gather(*(client(n) for n in range(CLIENTS)), return_exceptions=True)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        results = asyncio.run(all_clients())
    finally:
        stop.set()
        watcher.join(timeout=10)

    errors = [repr(result) for result in results if isinstance(result, BaseException)]
    assert not errors, f"{len(errors)} of {CLIENTS} clients failed, e.g. {errors[:3]}"
    assert sum(results) == CLIENTS * TRANSACTIONS_PER_CLIENT
    print(f"pool size {size}; peaks over {CLIENTS} clients: {peaks}")
    assert peaks["clients"] >= CLIENTS // 2, f"the clients never overlapped: {peaks}"
    assert peaks["waiting"] > 0, f"no client ever queued: the test did not saturate the pool ({peaks})"
    assert 0 < peaks["server_connections"] <= size, f"pgbouncer opened more than the pool size: {peaks}"
    assert 0 < peaks["backends"] <= size, f"Postgres saw more connections than the pool size: {peaks}"
