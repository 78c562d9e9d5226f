"""The microservice chassis: the cross-cutting code every ScaleShop service shares, written once.

Its public API, by module (`from chassis import X` works for each name, and so does the module path):

    app              create_service_app: the FastAPI factory (logs, middleware, errors, health, metrics)
    settings         ServiceSettings, get_settings: env-driven config, insecure defaults refused outside dev
    db               Database, create_engine: async engine per process, sessions, pool metrics
    dependencies     SessionDep, app_state: what routes ask FastAPI for (a session, what the lifespan opened)
    replicas         ReadRouter, read_routing: reads on the replica, falling back to the primary
    models           new_base, DeadLetterColumns: declarative bases with one naming convention
    migrations_env   run_migrations (each service's Alembic env.py); migrate: the prestart step
    redis_client     create_redis, reconnect_retry: the shared Redis client, short timeouts
    versioned_cache  VersionedCache: versioned keys, TTL, negative caching, stampede guards
    cache_strategies strategies, Strategy: cache-aside, read-through, refresh-ahead, write-through
    write_behind     WriteBehindCounter, flush_forever: counts buffered in Redis, flushed in batches
    event_stream     EventEmitter, make_event, emit_direct: the analytics event stream
    errors           the error tree (drawn in its docstring); error_handlers: mapped to HTTP once, documented
    fields           Text, Email, IsoDate, integer, ...: request fields whose schema and validation agree
    identity         CurrentUser, AdminUser, Identity: the caller the gateway verified
    tokens           issue_access_token, verify_access_token: JWTs
    balancer         ReplicaPool; balancing: strategies; service_client: ServiceClient (retries, breaker)
    flags            flags_for, store_for: OpenFeature flags; flag_store, flag_catalogue; faults: fault flags
    logs             configure_logging: JSON logs with the request id; middleware: request id + RED metrics
    metrics/         web, db, cache, upstream: the chassis' Prometheus metrics
    health           /health/live and /health/ready; healthcheck: the container probe; gunicorn_conf

Names resolve lazily (PEP 562): `python -m chassis.healthcheck` runs every few seconds and must
not import FastAPI, SQLAlchemy or Redis to do it.
"""

from importlib import import_module

_EXPORTS = {
    "create_service_app": "app",
    "ServiceSettings": "settings", "get_settings": "settings",
    "Database": "db", "create_engine": "db",
    "SessionDep": "dependencies", "app_state": "dependencies",
    "ReadRouter": "replicas", "read_routing": "replicas",
    "new_base": "models", "DeadLetterColumns": "models",
    "create_redis": "redis_client", "reconnect_retry": "redis_client",
    "VersionedCache": "versioned_cache",
    "Strategy": "cache_strategies", "strategies": "cache_strategies",
    "WriteBehindCounter": "write_behind", "flush_forever": "write_behind",
    "EventEmitter": "event_stream", "make_event": "event_stream", "emit_direct": "event_stream",
    "Text": "fields", "Email": "fields", "IsoDate": "fields", "integer": "fields",
    "CurrentUser": "identity", "AdminUser": "identity", "Identity": "identity",
    "issue_access_token": "tokens", "verify_access_token": "tokens",
    "ReplicaPool": "balancer", "ServiceClient": "service_client",
    "flags_for": "flags", "store_for": "flags",
    "configure_logging": "logs",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'chassis' has no attribute {name!r}")
    return getattr(import_module(f"chassis.{_EXPORTS[name]}"), name)
