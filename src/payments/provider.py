"""A simulated payment provider: the slow, sometimes-failing external dependency of a checkout.

Knobs (environment, see PaymentsSettings) for chaos and load experiments:
PAYMENT_LATENCY_MS (each call sleeps this long), PAYMENT_DECLINE_RATE (share of random
declines). Deterministic declines, like a real provider's test cards, let a test force
the failure path on any stack: an amount whose cents are PAYMENT_DECLINE_CENTS ("13",
e.g. 20.13) or above PAYMENT_DECLINE_ABOVE (when set) is always declined.

Fault flags (chassis.flags, `make flag NAME=payment_failure_rate VALUE=1`) turn the provider
slow (`payment_latency_ms`), failing (`payment_failure_rate`: the call raises, the charge
task retries, the saga recovery settles the order) or declining (`payment_decline_rate`)
at run time, without a restart.

Calls carry an idempotency key (the order id), as real provider APIs accept, so a
retried call could never capture money twice on the provider's side either.
"""

import asyncio
import random
import uuid
from dataclasses import dataclass
from decimal import Decimal

from chassis.flags import Flags, flags_for
from payments.settings import PaymentsSettings


class ProviderUnavailable(ConnectionError):
    """The provider did not answer: nothing was captured, the caller may retry."""


@dataclass(frozen=True)
class ProviderAnswer:
    approved: bool
    provider_ref: str
    reason: str | None = None


async def authorize(*, amount: Decimal, idempotency_key: str, settings: PaymentsSettings,
                    flags: Flags | None = None) -> ProviderAnswer:
    """Ask the provider to capture `amount`; approved, or declined with a reason. `flags`: the process's
    fault flags unless given (a test passes its own)."""
    await asyncio.sleep(settings.payment_latency_ms / 1000)
    decline_rate = settings.payment_decline_rate
    flags = flags or flags_for(settings)
    if flags.any_set:
        await asyncio.sleep(flags.value("payment_latency_ms") / 1000)
        if random.random() < flags.value("payment_failure_rate"):
            raise ProviderUnavailable("payment provider unavailable (fault flag payment_failure_rate)")
        decline_rate = max(decline_rate, flags.value("payment_decline_rate"))
    provider_ref = f"sim_{uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key).hex[:24]}"
    test_cents = settings.payment_decline_cents
    if f"{amount:.2f}".endswith("." + test_cents):
        return ProviderAnswer(False, provider_ref, f"card declined (test amount ending in .{test_cents})")
    if settings.payment_decline_above and amount > settings.payment_decline_above:
        return ProviderAnswer(False, provider_ref, f"amount above the limit of {settings.payment_decline_above}")
    if random.random() < decline_rate:
        return ProviderAnswer(False, provider_ref, "card declined")
    return ProviderAnswer(True, provider_ref)
