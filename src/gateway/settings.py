"""Gateway settings: the replicas of every service it routes to, and the edge knobs (limits, breakers, pools)."""

from functools import cache
from typing import Literal

from chassis.settings import ServiceSettings

ROUTED_SERVICES = ("users", "products", "orders", "payments", "notifications", "analytics")


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    users_upstreams: str = "http://localhost:8001"
    products_upstreams: str = "http://localhost:8002"
    orders_upstreams: str = "http://localhost:8003"
    payments_upstreams: str = "http://localhost:8004"
    notifications_upstreams: str = "http://localhost:8005"
    analytics_upstreams: str = "http://localhost:8006"
    # Client-side balancing over each service's replicas (chassis.balancing):
    # round-robin | least-outstanding | p2c (power of two choices).
    gateway_lb: Literal["round-robin", "least-outstanding", "p2c"] = "round-robin"
    # Replica discovery (gateway.discovery): how often the replica sets in Redis are read.
    discovery_interval_seconds: float = 1.0
    # Passive health check: how long a replica that refused a connection stays out of rotation.
    upstream_eject_seconds: float = 5.0
    # Connections per upstream service and process, kept open for reuse (false = no keepalive:
    # a TCP handshake per call, to benchmark what keepalive buys).
    upstream_max_connections: int = 100
    upstream_keepalive: bool = True
    # Circuit breaker per upstream service: open after N consecutive failed calls, probe after TTL.
    circuit_breaker_threshold: int = 5
    circuit_breaker_ttl_seconds: float = 10.0

    # Rate limits (fixed window in Redis, shared by every gateway replica); 0 disables one.
    # Generous by default: a load test's ~50 users, or wrk from one address at the stack's full
    # throughput (bench scenario 1), must never be throttled.
    rate_limit_user_per_second: int = 200
    rate_limit_anonymous_per_second: int = 10000
    # Request limits are counted locally and added to Redis this often (gateway.ratelimit).
    rate_limit_sync_seconds: float = 0.05
    # Brute-force protection: failed logins per client address and email per minute.
    rate_limit_login_failures_per_minute: int = 10

    # Fault knob until the flag store exists: every proxied request waits this long first, to make
    # one gateway replica slow (`make lb-demo`: how each edge algorithm copes with it).
    added_latency_ms: float = 0.0

    # The merged OpenAPI document is rebuilt at most this often (it costs a call to every service).
    openapi_cache_seconds: float = 30.0

    def upstreams_of(self, service: str) -> str:
        return getattr(self, f"{service}_upstreams")


@cache
def get_settings() -> GatewaySettings:
    return GatewaySettings()
