"""Domain rules of products and payments without a server: how a reservation's rows are taken
(products.stock.lines), and the simulated payment provider's answers under settings and fault
flags (a fake flag reader instead of the Redis-backed one)."""

from decimal import Decimal

import pytest

from payments import provider
from payments.settings import PaymentsSettings
from products import stock
from products.schemas import ReservationItemIn


def items(*pairs: tuple[int, int]) -> list[ReservationItemIn]:
    return [ReservationItemIn(product_id=product, quantity=quantity) for product, quantity in pairs]


# --- stock: the lock order and one line per product ---

def test_rows_are_taken_in_product_id_order_whatever_the_order_of_the_items():
    assert stock.lines(items((9, 1), (2, 3), (5, 1))) == [(2, 3), (5, 1), (9, 1)]


def test_the_same_product_twice_is_one_line_with_the_summed_quantity():
    assert stock.lines(items((4, 2), (1, 1), (4, 3))) == [(1, 1), (4, 5)]


# --- the payment provider ---

class FakeFlags:
    """The fault flags a test sets: the reader's two calls (any_set, value) over a dict."""

    def __init__(self, **values):
        self.values = values

    @property
    def any_set(self) -> bool:
        return bool(self.values)

    def value(self, name: str):
        return self.values.get(name, 0)


def settings(**overrides) -> PaymentsSettings:
    return PaymentsSettings(payment_latency_ms=0, **overrides)


async def authorize(amount: str, key: str = "order-1", flags=None, **overrides) -> provider.ProviderAnswer:
    return await provider.authorize(amount=Decimal(amount), idempotency_key=key, settings=settings(**overrides),
                                    flags=flags or FakeFlags())


async def test_an_ordinary_amount_is_approved():
    answer = await authorize("20.00")
    assert answer.approved and answer.reason is None


async def test_a_test_card_amount_is_always_declined_with_its_reason():
    answer = await authorize("20.13")
    assert not answer.approved and ".13" in answer.reason


async def test_an_amount_above_the_limit_is_declined_and_the_limit_itself_is_not():
    assert not (await authorize("100.01", payment_decline_above=Decimal("100"))).approved
    assert (await authorize("100.00", payment_decline_above=Decimal("100"))).approved


async def test_the_provider_reference_is_the_same_for_a_retried_call_and_differs_per_order():
    first, retry, other = await authorize("5.00", "order-1"), await authorize("5.00", "order-1"), \
        await authorize("5.00", "order-2")
    assert first.provider_ref == retry.provider_ref != other.provider_ref


async def test_the_failure_flag_makes_the_provider_unavailable_so_the_charge_is_retried():
    with pytest.raises(provider.ProviderUnavailable):
        await authorize("5.00", flags=FakeFlags(payment_failure_rate=1.0))


@pytest.mark.parametrize("configured, flagged", [(1.0, 0.0), (0.0, 1.0)])
async def test_a_decline_rate_of_one_from_settings_or_a_flag_declines_everything(configured, flagged):
    flags = FakeFlags(payment_decline_rate=flagged) if flagged else FakeFlags()
    answer = await authorize("5.00", flags=flags, payment_decline_rate=configured)
    assert not answer.approved and answer.reason == "card declined"
