"""Settings of the orders service (web replicas and its Celery tasks in the shared worker)."""

from functools import cache

from pydantic import AliasChoices, Field

from chassis.settings import ServiceSettings


class OrdersSettings(ServiceSettings):
    service_name: str = "orders"

    # The web replicas get DATABASE_URL; the shared Celery worker gets one URL per service.
    database_url: str | None = Field(default=None, validation_alias=AliasChoices("ORDERS_DATABASE_URL",
                                                                                 "DATABASE_URL"))
    products_upstreams: str = "http://localhost:8000"
    # The shards (orders.shards), comma-separated, index = shard number; shard 0 also holds the
    # directory. Empty: one shard, DATABASE_URL.
    orders_shard_urls: str = ""

    # Idempotency keys are kept at least this long (a client may retry a day later).
    idempotency_ttl_hours: int = 24
    # A key still "in flight" after this long belongs to a request that died: a retry may take it over.
    idempotency_lock_seconds: int = 30
    # A key in flight this long was abandoned (no request lives longer than gunicorn's 30 s timeout,
    # and a client that gave up has had a minute and a half to retry): its reservation is released.
    idempotency_abandoned_seconds: int = 120
    # Rows the outbox relay publishes per run.
    outbox_batch_size: int = 100
    # Saga recovery (orders.recovery): an order waiting this long in PENDING/PAID is re-driven;
    # after this many re-drives without an answer it fails with compensation.
    saga_step_deadline_seconds: float = 15.0
    saga_max_recoveries: int = 4
    saga_recovery_batch_size: int = 100


@cache
def get_settings() -> OrdersSettings:
    return OrdersSettings()
