"""Who may see and touch an order, and what bad input gets: 401/404/409/422, never a 500."""

import pytest
from checkout_support import new_product, new_user, place, wait_for_status

pytestmark = pytest.mark.stack


def test_orders_need_a_token(stack):
    with stack.client() as client:
        assert client.get("/api/orders").status_code == 401
        assert client.post("/api/orders", headers={"Idempotency-Key": "x"},
                           json={"items": [{"product_id": 1, "quantity": 1}]}).status_code == 401
        assert client.get("/api/notifications").status_code == 401
        assert client.get("/api/payments").status_code == 401


def test_another_users_order_is_not_found_and_cannot_be_cancelled(stack):
    with stack.client() as client:
        owner, stranger = new_user(client), new_user(client)
        product = new_product(client, price="1.00", stock=3)
        order_id = place(client, owner, [(product["id"], 1)]).json()["id"]
        wait_for_status(client, owner, order_id, "CONFIRMED")
        assert client.get(f"/api/orders/{order_id}", headers=stranger["headers"]).status_code == 404
        assert client.post(f"/api/orders/{order_id}/cancel", headers=stranger["headers"]).status_code == 404
        assert client.get(f"/api/payments/{order_id}", headers=stranger["headers"]).status_code == 404
        assert client.get("/api/orders", headers=stranger["headers"]).json()["items"] == []
        assert client.get("/api/notifications", headers=stranger["headers"]).json()["items"] == []
        assert client.get(f"/api/orders/{order_id}", headers=owner["headers"]).json()["status"] == "CONFIRMED"


BAD_BODIES = [
    {},
    {"items": []},
    {"items": "nope"},
    {"items": [{"product_id": 1}]},
    {"items": [{"product_id": "one", "quantity": 1}]},
    {"items": [{"product_id": 1, "quantity": 0}]},
    {"items": [{"product_id": 1, "quantity": 101}]},
    {"items": [{"product_id": -5, "quantity": 1}]},
    {"items": [{"product_id": 2**40, "quantity": 1}]},
    {"items": [{"product_id": 1, "quantity": 1}, {"product_id": 1, "quantity": 2}]},
    {"items": [{"product_id": n, "quantity": 1} for n in range(1, 52)]},
    {"items": [{"product_id": 1, "quantity": 1, "price": "0.01"}]},
    {"items": [{"product_id": 1, "quantity": 1}], "user_id": 1},
    {"items": [{"product_id": 2_000_000_000, "quantity": 1}]},  # well-formed, but no such product
    [1, 2, 3],
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_bad_order_bodies_get_422_json(stack, body):
    with stack.client() as client:
        user = new_user(client)
        response = place_raw(client, user, body)
        assert response.status_code == 422, response.text
        assert "detail" in response.json()
        assert client.get("/api/orders", headers=user["headers"]).json()["items"] == []


def place_raw(client, user, body):
    return client.post("/api/orders", headers={**user["headers"], "Idempotency-Key": "bad-body"}, json=body)


def test_bad_paths_and_queries_are_4xx_never_500(stack):
    with stack.client() as client:
        user = new_user(client)
        headers = user["headers"]
        not_json = client.post("/api/orders", headers={**headers, "Idempotency-Key": "k",
                                                       "Content-Type": "application/json"}, content=b"{oops")
        assert not_json.status_code == 422
        for path, expected in [("/api/orders/abc", 422), ("/api/orders/0", 422), ("/api/orders/99999999999", 404),
                               (f"/api/orders/{2**70}", 422), ("/api/orders?limit=0", 422),
                               ("/api/orders?limit=abc", 422), ("/api/payments/abc", 422),
                               ("/api/notifications?offset=-1", 422)]:
            assert client.get(path, headers=headers).status_code == expected, path
        assert client.post("/api/orders/99999999999/cancel", headers=headers).status_code == 404
