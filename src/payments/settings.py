"""Settings of the payments service, including the knobs of the simulated payment provider."""

from decimal import Decimal
from functools import cache

from pydantic import AliasChoices, Field

from chassis.settings import ServiceSettings


class PaymentsSettings(ServiceSettings):
    service_name: str = "payments"

    # The web replicas get DATABASE_URL; the shared Celery worker gets one URL per service.
    database_url: str | None = Field(default=None, validation_alias=AliasChoices("PAYMENTS_DATABASE_URL",
                                                                                 "DATABASE_URL"))
    # Simulated provider (chaos experiments turn these up): share of charges declined, latency of a call.
    payment_decline_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    payment_latency_ms: int = Field(default=50, ge=0)
    # Deterministic declines so tests can force the failure path on any stack: amounts whose
    # cents are these digits are always declined ("test card" amounts, as real providers do).
    payment_decline_cents: str = "13"
    # Amounts above this are declined too (a per-charge limit); 0 disables it.
    payment_decline_above: Decimal = Decimal("0")


@cache
def get_settings() -> PaymentsSettings:
    return PaymentsSettings()
