"""The checkout saga end to end, through nginx and the gateway on the live test stack.

register -> login -> browse/search -> order -> outbox relay -> payments (Celery) ->
orders PAID/CONFIRMED or FAILED with compensation -> notification; cancellation with
stock release and refund; one request id from nginx to the Celery tasks.
"""

import json
import uuid

import pytest
from checkout_support import (
    charges_of,
    money,
    new_product,
    new_user,
    notifications_of,
    place,
    stock_of,
    wait_for,
    wait_for_notification,
    wait_for_status,
    wait_for_stock,
)

pytestmark = pytest.mark.stack


def test_the_full_journey_ends_confirmed_with_a_charge_and_a_notification(stack):
    with stack.client() as client:
        user = new_user(client)
        page = client.get("/api/products", params={"limit": 5})
        assert page.status_code == 200 and page.json()["items"], page.text
        product = new_product(client, price="12.50", stock=10)

        def searchable() -> bool:
            found = client.get("/api/products/search", params={"q": product["name"]})
            assert found.status_code == 200, found.text
            return product["id"] in [item["id"] for item in found.json()["items"]]

        # Search reads the streaming replica (eventually consistent): the new product shows once the
        # replica has replayed its insert, a moment later on a busy machine.
        wait_for(searchable, "the new product in search results", timeout=15, interval=0.2)

        response = place(client, user, [(product["id"], 2)])
        assert response.status_code == 201, response.text
        order = response.json()
        assert order["status"] == "PENDING"
        assert money(order["total"]) == money("25.00")
        assert [(i["product_id"], i["quantity"], money(i["unit_price"])) for i in order["items"]] == \
            [(product["id"], 2, money("12.50"))]
        assert order["created_at"]
        assert stock_of(client, product["id"]) == 8  # reserved at once, before payment

        confirmed = wait_for_status(client, user, order["id"], "CONFIRMED", "FAILED")
        assert confirmed["status"] == "CONFIRMED"
        notification = wait_for_notification(client, user, order["id"], "order_confirmed")
        assert f"#{order['id']}" in notification["message"]
        assert {"id", "kind", "order_id", "message", "created_at"} <= notification.keys()
        charges = charges_of(client, user)
        assert [(c["order_id"], c["status"], money(c["amount"])) for c in charges] == \
            [(order["id"], "charged", money("25.00"))]
        listed = client.get("/api/orders", headers=user["headers"]).json()["items"]
        assert [o["id"] for o in listed] == [order["id"]]
        assert stock_of(client, product["id"]) == 8  # a confirmed order keeps its stock


def test_a_declined_payment_fails_the_order_releases_stock_and_tells_the_user(stack):
    with stack.client() as client:
        user = new_user(client)
        # The simulated provider declines amounts ending in .13, like a provider's test card.
        product = new_product(client, price="20.13", stock=5)
        response = place(client, user, [(product["id"], 1)])
        assert response.status_code == 201, response.text
        order_id = response.json()["id"]
        assert stock_of(client, product["id"]) == 4

        failed = wait_for_status(client, user, order_id, "FAILED", "CONFIRMED")
        assert failed["status"] == "FAILED"
        assert "declined" in failed["failure_reason"]
        wait_for_stock(client, product["id"], 5)  # compensation: the reservation is released
        notification = wait_for_notification(client, user, order_id, "order_failed")
        assert "declined" in notification["message"]
        assert [(c["order_id"], c["status"]) for c in charges_of(client, user)] == [(order_id, "declined")]
        assert client.post(f"/api/orders/{order_id}/cancel", headers=user["headers"]).status_code == 409


def test_cancelling_a_confirmed_order_releases_stock_and_refunds(stack):
    with stack.client() as client:
        user = new_user(client)
        product = new_product(client, price="7.00", stock=3)
        order_id = place(client, user, [(product["id"], 3)]).json()["id"]
        wait_for_status(client, user, order_id, "CONFIRMED")
        assert stock_of(client, product["id"]) == 0

        cancelled = client.post(f"/api/orders/{order_id}/cancel", headers=user["headers"])
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "CANCELLED"
        wait_for_stock(client, product["id"], 3)
        wait_for(lambda: [c["status"] for c in charges_of(client, user)] == ["refunded"], "the refund")
        notification = wait_for_notification(client, user, order_id, "order_cancelled")
        assert "refunded" in notification["message"]
        again = client.post(f"/api/orders/{order_id}/cancel", headers=user["headers"])
        assert again.status_code == 409 and "CANCELLED" in again.json()["detail"]


def test_cancelling_right_after_placing_never_leaves_money_taken(stack):
    """Cancelled while the charge may be in flight: whichever comes first, the user ends up not charged."""
    with stack.client() as client:
        user = new_user(client)
        product = new_product(client, price="9.00", stock=2)
        order_id = place(client, user, [(product["id"], 1)]).json()["id"]
        cancelled = client.post(f"/api/orders/{order_id}/cancel", headers=user["headers"])
        assert cancelled.status_code == 200, cancelled.text
        wait_for_stock(client, product["id"], 2)
        wait_for_notification(client, user, order_id, "order_cancelled")
        # order.created was committed first, so the charge still happens; seeing the order
        # cancelled, orders asks payments to refund it. Either way no money stays taken.
        wait_for(lambda: [c["status"] for c in charges_of(client, user)] == ["refunded"], "the refund")
        assert client.get(f"/api/orders/{order_id}", headers=user["headers"]).json()["status"] == "CANCELLED"
        assert "order_cancelled" in [n["kind"] for n in notifications_of(client, user)]


def test_one_request_id_follows_an_order_into_the_celery_tasks(stack):
    request_id = f"checkout-{uuid.uuid4().hex}"
    with stack.client() as client:
        user = new_user(client)
        product = new_product(client, price="3.00", stock=1)
        response = place(client, user, [(product["id"], 1)], **{"X-Request-ID": request_id})
        assert response.status_code == 201
        assert response.headers["x-request-id"] == request_id
        order_id = response.json()["id"]
        wait_for_notification(client, user, order_id, "order_confirmed")

    def tasks_logged():
        records = [json.loads(line) for line in stack.log("worker").splitlines() if request_id in line]
        return {"payments.charge", "orders.payment_result", "notifications.notify"} <= \
            {record.get("task") for record in records if record.get("request_id") == request_id}
    wait_for(tasks_logged, "the request id in the charge, result and notify task logs", timeout=5)
    # The services batch their access lines (flushed every 250 ms by a thread): wait, don't race the flush.
    wait_for(lambda: any(request_id in stack.log(name) for name in ("orders-1", "orders-2")),
             "the request id in an orders replica's log", timeout=5)
