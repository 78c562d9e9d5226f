"""Settings of the products service."""

from functools import cache

from chassis.settings import ServiceSettings


class ProductsSettings(ServiceSettings):
    service_name: str = "products"


@cache
def get_settings() -> ProductsSettings:
    return ProductsSettings()
