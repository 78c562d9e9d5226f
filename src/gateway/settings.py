"""Gateway settings: the replicas of every service it routes to (comma-separated base URLs)."""

from functools import cache

from chassis.settings import ServiceSettings

ROUTED_SERVICES = ("users", "products", "orders", "payments", "notifications")


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    users_upstreams: str = "http://localhost:8001"
    products_upstreams: str = "http://localhost:8002"
    orders_upstreams: str = "http://localhost:8003"
    payments_upstreams: str = "http://localhost:8004"
    notifications_upstreams: str = "http://localhost:8005"
    # Passive health check: how long a replica that refused a connection stays out of rotation.
    upstream_eject_seconds: float = 5.0

    def upstreams_of(self, service: str) -> str:
        return getattr(self, f"{service}_upstreams")


@cache
def get_settings() -> GatewaySettings:
    return GatewaySettings()
