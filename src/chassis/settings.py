"""Settings every service shares; a service subclasses `ServiceSettings` for its own knobs.

Every runtime knob is an environment variable with a safe default. Secrets have
development defaults that are refused outside development (full-stack-fastapi-template).
"""

from functools import cache

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_PREFIX = "dev-only-"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "service"
    replica_name: str = "local"
    # What this replica runs (seed: "Zero-Downtime Deployment"): a "v2" is the same image with another
    # SERVICE_VERSION, told apart in /health/live, the X-Service-Version header and service_version_info.
    service_version: str = "v1"
    environment: str = "development"
    log_level: str = "info"

    database_url: str | None = None
    # How a 503 names this service's database ("products-db"); default "<service_name>-db".
    database_label: str | None = None
    # Connection pooling (seed: "Database Optimization", connection pooling): per process.
    db_pool_size: int = 5
    db_max_overflow: int = 5
    db_pool_timeout_seconds: float = 3.0
    db_statement_timeout_ms: int = 5000
    # "pgbouncer" when DATABASE_URL points at the transaction-mode pooler (infra/pgbouncer): asyncpg
    # then keeps no prepared statements across transactions (chassis.db.pooler_connect_args).
    database_pooler: str = ""

    redis_url: str = "redis://localhost:6379/0"
    redis_timeout_seconds: float = 1.0
    # The flag store (chassis.flag_store): a Redis hash; defaults to REDIS_URL.
    flags_redis_url: str | None = None

    # Calls to other services: short timeouts so a slow dependency cannot pile up requests.
    http_connect_timeout_seconds: float = 1.0
    http_timeout_seconds: float = 10.0
    readiness_timeout_seconds: float = 2.0

    # The analytics event stream (chassis.event_stream): its own Redis URL so that it can move
    # to the durable queue Redis with one environment change (empty: REDIS_URL).
    events_redis_url: str = ""
    events_enabled: bool = True
    events_stream: str = "analytics:events"
    # Bounded stream (XADD MAXLEN ~): memory stays bounded however far consumers fall behind.
    events_stream_maxlen: int = 100_000
    # Bounded in-process buffer: beyond it events are dropped (counted), never waited on.
    events_buffer_size: int = 10_000
    # One script call per flush: at 0.2 s a busy gateway worker sends batches of dozens of events
    # (Redis's fixed cost per call shared), and an event waits at most 0.2 s of the 2 s lag budget.
    events_flush_seconds: float = 0.2
    # The flush runs in the background, so a generous timeout costs no request anything.
    events_timeout_seconds: float = 2.0

    jwt_secret: str = "dev-only-jwt-secret-change-me-in-production-0123456789"

    @model_validator(mode="after")
    def refuse_dev_secrets_outside_development(self):
        if self.environment != "development" and self.jwt_secret.startswith(DEV_SECRET_PREFIX):
            raise ValueError("JWT_SECRET still has its development default outside ENVIRONMENT=development")
        return self


@cache
def get_settings() -> ServiceSettings:
    return ServiceSettings()
