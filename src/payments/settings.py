"""Settings of the payments service."""

from functools import cache

from chassis.settings import ServiceSettings


class PaymentsSettings(ServiceSettings):
    service_name: str = "payments"


@cache
def get_settings() -> PaymentsSettings:
    return PaymentsSettings()
