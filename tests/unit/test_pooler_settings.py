"""The pooler's settings agree with the services that use it (infra/pgbouncer/pgbouncer.ini,
chassis/db.py, docker-compose.yml): asyncpg keeps no prepared statement across transactions
behind pgbouncer, the pool size is HikariCP's formula, and pgbouncer admits every client the
services' own pools can open."""

import configparser
import re
from pathlib import Path

import pytest

from chassis.db import pooler_connect_args
from chassis.settings import ServiceSettings
from compose_model import compose_model
from worker import task_loop

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = compose_model()["services"]
# The reference machine of the README's pool sizing (2 cores, one SSD).
CORES, EFFECTIVE_SPINDLES = 2, 1


@pytest.fixture(scope="module")
def ini() -> configparser.ConfigParser:
    config = configparser.ConfigParser(inline_comment_prefixes=(";",), interpolation=None)
    config.read(ROOT / "infra" / "pgbouncer" / "pgbouncer.ini")
    return config


def pooled_services() -> dict[str, dict]:
    return {name: spec for name, spec in COMPOSE.items()
            if any(re.search(r"\+asyncpg://[^@]*@pgbouncer:6432/", str(value))
                   for value in (spec.get("environment") or {}).values())}


def test_behind_pgbouncer_asyncpg_prepares_nothing_that_outlives_a_transaction():
    args = pooler_connect_args(ServiceSettings(database_pooler="pgbouncer", replica_name="orders-1"))
    assert args["statement_cache_size"] == 0 and args["prepared_statement_cache_size"] == 0
    first, second = args["prepared_statement_name_func"](), args["prepared_statement_name_func"]()
    assert first != second, "two clients lent one server connection would collide on one name"
    # pgbouncer 1.18 refuses unknown startup parameters: only the ones it tracks may be sent.
    assert set(args["server_settings"]) == {"application_name"}


def test_the_statement_timeout_is_set_by_the_pooler_for_every_database(ini):
    timeout_ms = ServiceSettings().db_statement_timeout_ms
    for database, line in ini["databases"].items():
        assert f"SET statement_timeout = {timeout_ms}" in line, database


def test_the_pool_size_is_hikaris_formula_and_a_hard_ceiling(ini):
    pooler = ini["pgbouncer"]
    assert pooler["pool_mode"] == "transaction"
    assert pooler.getint("default_pool_size") == CORES * 2 + EFFECTIVE_SPINDLES
    assert pooler.getint("reserve_pool_size") == 0
    assert pooler.getint("max_db_connections") == pooler.getint("default_pool_size")


def test_every_pooled_service_names_the_pooler_and_a_database_it_serves(ini):
    services = pooled_services()
    assert {"users-1", "orders-1", "payments-1", "notifications-1", "worker"} <= set(services)
    for name, spec in services.items():
        env = spec["environment"]
        assert env.get("DATABASE_POOLER") == "pgbouncer", f"{name}: a pooled URL without DATABASE_POOLER"
        for value in env.values():
            if match := re.search(r"@pgbouncer:6432/(\w+)", str(value)):
                assert match.group(1) in ini["databases"], f"{name}: pgbouncer has no database {match.group(1)}"


def test_pgbouncer_admits_every_connection_the_services_pools_can_open(ini):
    """Each web worker may open pool_size + max_overflow connections; beyond max_client_conn pgbouncer
    refuses logins, which the services would see as a database outage."""
    settings = ServiceSettings()
    per_engine = settings.db_pool_size + settings.db_max_overflow

    def engines(spec: dict) -> int:
        """One pooled engine per distinct database URL through the pooler (orders: one per shard)."""
        urls = {url for value in spec["environment"].values() for url in str(value).split(",")
                if re.search(r"\+asyncpg://[^@]*@pgbouncer:6432/", url)}
        return len(urls)

    web = sum(int(spec["environment"].get("WEB_CONCURRENCY", 1)) * engines(spec) * per_engine
              for name, spec in pooled_services().items() if name != "worker")
    # Each prefork child of the worker keeps a small pool per database URL (worker/task_loop.py).
    children = int(re.search(r"--concurrency=(\d+)", " ".join(COMPOSE["worker"]["command"])).group(1))
    worker = children * (task_loop.WORKER_POOL_SIZE + task_loop.WORKER_MAX_OVERFLOW) * engines(COMPOSE["worker"])
    assert web + worker < ini["pgbouncer"].getint("max_client_conn")
