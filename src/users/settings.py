"""Settings of the users service: token lifetimes, the profile cache, the development admin."""

from functools import cache

from pydantic import model_validator

from chassis.settings import DEV_SECRET_PREFIX, ServiceSettings


class UsersSettings(ServiceSettings):
    service_name: str = "users"

    # Short-lived access JWT (verified by the gateway without a call); long-lived opaque refresh token in Redis.
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 7 * 24 * 3600
    profile_cache_ttl_seconds: int = 300
    # argon2 hashes cost memory and tens of ms of CPU each: at most this many at once per
    # process (a bulkhead), so a burst of logins cannot exhaust memory or starve the event loop.
    password_hash_concurrency: int = 1
    # argon2id cost parameters (RFC 9106 low-memory profile); one lane = one thread per hash.
    password_hash_time_cost: int = 3
    password_hash_memory_kib: int = 65536
    password_hash_parallelism: int = 1

    # DEVELOPMENT DEFAULTS, refused outside ENVIRONMENT=development. An empty ADMIN_EMAIL seeds no admin.
    admin_email: str = "admin@scaleshop.local"
    admin_password: str = "dev-only-admin-password"
    admin_name: str = "Admin"

    @model_validator(mode="after")
    def refuse_dev_admin_password_outside_development(self):
        if self.environment != "development" and self.admin_email and self.admin_password.startswith(DEV_SECRET_PREFIX):
            raise ValueError("ADMIN_PASSWORD still has its development default outside ENVIRONMENT=development")
        return self


@cache
def get_settings() -> UsersSettings:
    return UsersSettings()
