"""Settings of the orders service."""

from functools import cache

from chassis.settings import ServiceSettings


class OrdersSettings(ServiceSettings):
    service_name: str = "orders"


@cache
def get_settings() -> OrdersSettings:
    return OrdersSettings()
