"""Web analytics live, through nginx: shop traffic becomes events at the gateway and the beacon,
the stack's two consumers apply them, and /api/analytics/... and "bought together" show them.
A consumer SIGKILLed while events flow loses and doubles nothing."""

import threading
import time
import uuid

import httpx
import pytest

from checkout_support import new_product, new_user, place, wait_for, wait_for_status

pytestmark = pytest.mark.stack

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
LIVE_TIMEOUT = 90.0  # seconds: events are applied within ~0.1 s; a loaded shared box took 10-30 s


def analytics(client, path: str, **params) -> dict:
    response = client.get(f"/api/analytics/{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_shop_traffic_shows_in_the_analytics(stack):
    session = uuid.uuid4().hex
    browser = {"User-Agent": FIREFOX, "X-Session-Id": session}
    nothing = f"zzq nothing {uuid.uuid4().hex[:8]}"
    with stack.client(headers=browser) as client:
        first, second = new_product(client, price="3.00", stock=50), new_product(client, price="4.00", stock=50)
        viewed_in_hour = time.time() // 3600
        for _ in range(25):  # more views than any other test makes in five minutes
            # no-cache: a view answered by the edge's microcache never reaches a gateway, so it
            # is not an event (README, known limits); these 25 must all reach the app.
            viewed = client.get(f"/api/products/{first['id']}", headers={"Cache-Control": "no-cache"})
            assert viewed.status_code == 200
        assert client.get("/api/products/search", params={"q": nothing}).json()["total"] == 0
        cart = client.post("/api/analytics/events", json={"type": "add_to_cart", "product_id": first["id"]})
        assert cart.status_code == 202, cart.text
        user = new_user(client)
        order = place(client, user, [(first["id"], 1), (second["id"], 1)])
        assert order.status_code == 201, order.text
        wait_for_status(client, user, order.json()["id"], "CONFIRMED")

        top = wait_for(lambda: [i for i in analytics(client, "top-products", window="5m")["items"]
                                if i["product_id"] == first["id"] and i["views"] >= 25], "top products", LIVE_TIMEOUT)
        assert top[0]["views"] == 25
        assert first["id"] in [i["product_id"] for i in analytics(client, "top-products", window="1h")["items"]]
        wait_for(lambda: {"query": nothing, "count": 1} in analytics(client, "searches-without-results")["items"],
                 "the search without results", LIVE_TIMEOUT)
        funnel = wait_for(lambda: (f := {s["stage"]: s["count"] for s in analytics(client, "funnel")["stages"]})
                          and f["confirmed"] >= 1 and f["order"] >= 1 and f, "the funnel", LIVE_TIMEOUT)
        assert funnel["view"] >= funnel["cart"] >= 1
        agents = analytics(client, "browsers")
        assert agents["browsers"].get("Firefox", 0) >= 1 and agents["os"].get("Linux", 0) >= 1
        assert agents["visitors"] >= 1
        types = analytics(client, "event-types")
        assert {"product_view", "search", "add_to_cart", "order_placed", "order_confirmed", "sign_up"} <= set(types)
        assert {"id", "ts", "session", "ua", "rid", "type"} <= set(types["product_view"]["fields"])
        hitters = analytics(client, "heavy-hitters", kind="products")
        assert hitters["error_bound"] == pytest.approx(hitters["epsilon"] * hitters["total"])
        if time.time() // 3600 == viewed_in_hour:  # the sketch is per hour: across a boundary it is another table
            assert any(h["key"] == str(first["id"]) and h["estimate"] >= 25 for h in hitters["items"])

        together = wait_for(lambda: client.get(f"/api/products/{first['id']}/bought-together").json()["items"],
                            "bought together", LIVE_TIMEOUT)
        assert together[0]["product_id"] == second["id"] and together[0]["confidence"] == 1.0


def test_bad_analytics_input_is_a_clear_422(stack):
    with stack.client() as client:
        assert client.get("/api/analytics/top-products", params={"window": "7m"}).status_code == 422
        refused = client.post("/api/analytics/events", json={"type": "order_placed", "product_id": 1})
        assert refused.status_code == 422 and "detail" in refused.json()


def test_the_analytics_api_is_in_the_merged_openapi_spec(stack):
    with stack.client() as client:
        paths = wait_for(lambda: (d := client.get("/api/openapi.json").json()) and "analytics" not in
                         d["x-unavailable-services"] and d["paths"], "the merged spec", LIVE_TIMEOUT)
    for path in ("top-products", "funnel", "browsers", "searches-without-results"):
        assert "get" in paths[f"/api/analytics/{path}"]
        assert paths[f"/api/analytics/{path}"]["get"]["security"] == []  # public, read-only
    assert "/api/products/{product_id}/bought-together" in paths


def dropped_by_the_beacon(stack) -> float:
    """Events analytics-1 counted as dropped (its producer never blocks: a slow Redis drops, visibly)."""
    text = httpx.get(f"{stack.url('analytics-1', 8000)}/metrics", timeout=10).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("events_dropped_total{"))


def test_a_consumer_killed_while_events_flow_loses_and_doubles_nothing(stack):
    page = f"/e2e-{uuid.uuid4().hex[:8]}"
    sent = []
    dropped_before = dropped_by_the_beacon(stack)

    def send(count: int) -> None:
        with stack.client() as client:
            for _ in range(count):
                response = client.post("/api/analytics/events", json={"type": "page_view", "page": page})
                sent.append(response.status_code)

    senders = [threading.Thread(target=send, args=(150,)) for _ in range(2)]
    for sender in senders:
        sender.start()
    stack.ctl("kill", "analytics-consumer-1")  # mid-stream: the other consumer and its restart take over
    for sender in senders:
        sender.join()
    assert sent.count(202) == 300

    def views():
        with stack.client() as client:
            return {i["page"]: i["views"] for i in analytics(client, "top-pages", limit=100)["items"]}.get(page, 0)

    # Every page view is applied, or was counted as dropped by its producer (never silently lost).
    wait_for(lambda: views() + dropped_by_the_beacon(stack) - dropped_before >= 300,
             "all 300 page views applied or counted as dropped", LIVE_TIMEOUT)
    assert views() <= 300  # and none twice, although a consumer died mid-stream
