"""A dependency of the checkout goes down: the client gets a 503 naming it, nothing half-done is kept."""

import uuid

import pytest
from checkout_support import new_product, new_user, place, stock_of, wait_for, wait_for_status

pytestmark = pytest.mark.stack

PRODUCTS = ("products-1", "products-2")


def test_with_products_down_an_order_is_a_503_naming_products_and_the_key_stays_usable(stack):
    with stack.client() as client:
        user = new_user(client)
        product = new_product(client, price="8.00", stock=4)
        key = uuid.uuid4().hex
        try:
            for name in PRODUCTS:
                stack.ctl("stop", name)
            refused = place(client, user, [(product["id"], 1)], key=key)
            assert refused.status_code == 503, refused.text
            assert refused.json()["dependency"] == "products"
            assert client.get("/api/orders", headers=user["headers"]).json()["items"] == []
        finally:
            for name in PRODUCTS:
                stack.ctl("start", name)

        # The failed attempt released its Idempotency-Key: the client's retry places the order.
        def retried():
            response = place(client, user, [(product["id"], 1)], key=key)
            return response if response.status_code == 201 else None
        order = wait_for(retried, "an order once products is back", interval=1.0).json()
        wait_for_status(client, user, order["id"], "CONFIRMED")
        assert stock_of(client, product["id"]) == 3
