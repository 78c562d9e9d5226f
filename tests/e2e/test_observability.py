"""Observe every pattern live: metrics, dashboards, alert rules and correlated logs.

A short load through nginx exercises each pattern a dashboard shows (RED traffic on
every service, cache misses then hits, a failed login flood, a bad token, a checkout
that travels through the outbox to the Celery worker, one replica stopped under load).
Then, against the test stack's own Prometheus:
- every scrape target is up again, and the stopped replica was seen down while the
  other replica's request rate rose;
- every panel of every dashboard, template variables filled with "All", returns data;
- every alert rule is loaded and reads only metrics Prometheus holds;
- one request id is found in the logs of nginx, a gateway, the service and the worker.
Prometheus scrapes every 5 s: waits are bounded polls, never fixed sleeps.
"""

import json
import math
import re
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
import yaml

from promql_names import metric_names

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "infra" / "grafana" / "dashboards").glob("*.json"))
RULE_FILES = sorted((ROOT / "infra" / "prometheus" / "rules").glob("*.yml"))
SERVICES = ("users", "products", "orders", "payments", "notifications")
PASSWORD = "correct horse battery"
SCRAPE_WAIT = 30  # seconds: several scrape and evaluation intervals
# Dashboards use $__rate_interval; 5m spans the whole generated load.
RATE_WINDOW = "5m"


# ---------------------------------------------------------------- helpers


def poll(check, timeout: float = SCRAPE_WAIT, interval: float = 1.0):
    """Call `check` until it returns a truthy value or `timeout` passes; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def query(stack, expr: str) -> list[dict]:
    response = httpx.get(f"{stack.prometheus}/api/v1/query", params={"query": expr}, timeout=10)
    assert response.status_code == 200, f"{expr}: {response.text}"
    return response.json()["data"]["result"]


def finite_values(result: list[dict]) -> list[float]:
    return [float(s["value"][1]) for s in result if math.isfinite(float(s["value"][1]))]


def scalar(stack, expr: str) -> float:
    values = finite_values(query(stack, expr))
    return values[0] if values else 0.0


def filled(expr: str, variables: list[dict]) -> str:
    """A panel's PromQL as Grafana sends it with every variable on "All"."""
    expr = expr.replace("$__rate_interval", RATE_WINDOW)
    for variable in variables:
        expr = re.sub(rf"\$\{{?{variable['name']}\}}?", variable["allValue"], expr)
    return expr


def dashboard_targets() -> list[tuple[str, str]]:
    cases = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                cases.append((f"{path.stem}: {panel['title']} [{target['refId']}]",
                              filled(target["expr"], dashboard["templating"]["list"])))
    return cases


def alert_rules() -> list[dict]:
    return [rule for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"]]


def register_and_login(client: httpx.Client) -> dict:
    email = f"obs-{uuid.uuid4().hex[:12]}@example.com"
    response = client.post("/api/users/register", json={"email": email, "password": PASSWORD, "name": "Obs"})
    assert response.status_code == 201, response.text
    response = client.post("/api/users/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def place_order(client: httpx.Client, auth: dict, product_id: int, request_id: str | None = None) -> httpx.Response:
    headers = {**auth, "Idempotency-Key": uuid.uuid4().hex}
    if request_id:
        headers["X-Request-ID"] = request_id
    return client.post("/api/orders", json={"items": [{"product_id": product_id, "quantity": 1}]}, headers=headers)


class SteadyLoad(threading.Thread):
    """GETs through nginx one after another until stopped: a constant offered load."""

    def __init__(self, base_url: str, path: str):
        super().__init__(daemon=True)
        self.base_url, self.path = base_url, path
        self.done = threading.Event()
        self.sent = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=5) as client:
            while not self.done.is_set():
                try:
                    client.get(self.path)
                except httpx.HTTPError:
                    pass  # failover is measured in Prometheus, not here
                self.sent += 1

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=10)


# ---------------------------------------------------------------- the generated load


def products_1_rate(stack) -> float:
    return scalar(stack, 'sum(rate(http_requests_total{replica="products-1",route="/products/whoami"}[15s]))')


def stop_a_replica_under_load(stack) -> dict:
    """Stop products-2 while GETs run; return what Prometheus saw before and during the outage."""
    load = SteadyLoad(stack.nginx, "/api/products/whoami")
    load.start()
    try:
        assert poll(lambda: products_1_rate(stack) > 0), "no products-1 traffic in Prometheus"
        time.sleep(15)  # noqa: one full 15 s rate window of the steady load, both replicas up
        before = products_1_rate(stack)
        stack.ctl("stop", "products-2")
        try:
            down = poll(lambda: query(stack, 'up{replica="products-2"} == 0'))
            risen = poll(lambda: products_1_rate(stack) > 1.4 * before)
            return {"before": before, "during": products_1_rate(stack), "down_seen": bool(down),
                    "risen": bool(risen)}
        finally:
            stack.ctl("start", "products-2")
    finally:
        load.stop()


def drive_every_pattern(stack) -> dict:
    """One pass of shop traffic through nginx that moves every panel's metric."""
    with stack.client() as client:
        for _ in range(10):
            for service in SERVICES:
                assert client.get(f"/api/{service}/whoami").status_code == 200
        page = client.get("/api/products", params={"limit": 5})
        assert page.status_code == 200, page.text
        product_ids = [item["id"] for item in page.json()["items"]]
        for product_id in product_ids:
            # An edge MISS (and a Redis miss that fills the products cache), an edge HIT, then a read
            # that skips the edge (Cache-Control: no-cache) and hits the products cache in Redis.
            for headers in ({}, {}, {"Cache-Control": "no-cache"}):
                assert client.get(f"/api/products/{product_id}", headers=headers).status_code == 200
        auth = register_and_login(client)
        for _ in range(3):
            assert client.get("/api/users/me", headers=auth).status_code == 200
        assert client.get("/api/orders", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
        email = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
        # Brute-force guard: 10 failures per minute, counted in fixed one-minute windows. Attempts
        # that straddle a window boundary (slow logins on a loaded machine) split between two
        # windows, so up to 21 are made: any 21 within two windows put 11 in one of them.
        refusals = []
        while 429 not in refusals and len(refusals) < 21:
            refusals.append(client.post("/api/users/login",
                                        json={"email": email, "password": "wrong password"}).status_code)
        assert 429 in refusals, refusals
        orders = [place_order(client, auth, product_id) for product_id in product_ids[:3]]
        assert all(order.status_code == 201 for order in orders), [o.text for o in orders]
    return {"product_ids": product_ids, "auth": auth}


@pytest.fixture(scope="module")
def exercised(stack) -> dict:
    """Drive every pattern, stop one replica under load, then drive every pattern again.

    Twice because Prometheus cannot see a counter's first increments: a series appears
    with its value already counted, so rate() shows only what happens after a scrape.
    """
    drive_every_pattern(stack)
    failover = stop_a_replica_under_load(stack)
    return {**drive_every_pattern(stack), "failover": failover}


# ---------------------------------------------------------------- metrics


def test_every_scrape_target_is_up(stack, exercised):
    def down_targets():
        targets = httpx.get(f"{stack.prometheus}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        return [(t["labels"].get("replica", t["labels"]["job"]), t["lastError"]) for t in targets
                if t["health"] != "up"] or None

    assert poll(lambda: down_targets() is None, timeout=60), down_targets()
    jobs = {s["metric"]["job"] for s in query(stack, "up == 1")}
    assert {"worker", "nginx", "edge", "redis", "postgres", "gateway", *SERVICES} <= jobs


def test_a_stopped_replica_shows_down_and_its_sibling_takes_the_load(exercised):
    failover = exercised["failover"]
    assert failover["down_seen"], "up{replica=products-2} never went to 0"
    assert failover["risen"], f"products-1 rate did not rise: {failover}"


PANEL_TARGETS = dashboard_targets()


@pytest.mark.parametrize("name,expr", PANEL_TARGETS, ids=[case[0] for case in PANEL_TARGETS])
def test_every_dashboard_panel_returns_data(stack, exercised, name, expr):
    result = poll(lambda: finite_values(query(stack, expr)))
    assert result, f"{name}: no series with a value for\n{expr}"


def test_every_alert_rule_is_loaded_and_healthy(stack):
    def loaded() -> dict[str, dict]:
        groups = httpx.get(f"{stack.prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
        return {rule["name"]: rule for group in groups for rule in group["rules"]}

    expected = {rule.get("alert") or rule["record"] for rule in alert_rules()}
    assert expected <= set(loaded())
    # A rule is "unknown" until its first evaluation, "err" when its query fails.
    assert poll(lambda: all(rule["health"] == "ok" for rule in loaded().values())), \
        {name: (rule["health"], rule.get("lastError")) for name, rule in loaded().items() if rule["health"] != "ok"}


def test_alert_rules_read_only_metrics_that_exist(stack, exercised):
    known = set(httpx.get(f"{stack.prometheus}/api/v1/label/__name__/values", timeout=5).json()["data"])
    read = set().union(*(metric_names(rule["expr"]) for rule in alert_rules()))
    assert read - known == set()


# ---------------------------------------------------------------- correlated logs


def logs_with(stack, request_id: str, names: list[str]) -> dict[str, bool]:
    found = {}
    for name in names:
        try:
            found[name] = request_id in stack.log(name)
        except FileNotFoundError:
            found[name] = False
    return found


def test_one_request_id_appears_at_nginx_a_gateway_and_the_service(stack, exercised):
    request_id = f"obs-{uuid.uuid4().hex}"
    with stack.client() as client:
        # no-cache: an edge cache HIT would answer at nginx and never reach a gateway.
        response = client.get(f"/api/products/{exercised['product_ids'][0]}",
                              headers={"X-Request-ID": request_id, "Cache-Control": "no-cache"})
    assert response.status_code == 200 and response.headers["x-request-id"] == request_id

    def hops():
        found = logs_with(stack, request_id, ["nginx", "gateway-1", "gateway-2", "products-1", "products-2"])
        return found if found["nginx"] and (found["gateway-1"] or found["gateway-2"]) and (
            found["products-1"] or found["products-2"]) else None

    assert poll(hops, timeout=15), logs_with(stack, request_id, ["nginx", "gateway-1", "gateway-2",
                                                                 "products-1", "products-2"])


def test_an_orders_request_id_reaches_the_celery_worker(stack, exercised):
    request_id = f"obs-order-{uuid.uuid4().hex}"
    with stack.client() as client:
        response = place_order(client, exercised["auth"], exercised["product_ids"][-1], request_id=request_id)
    assert response.status_code == 201, response.text

    def hops():
        found = logs_with(stack, request_id, ["nginx", "gateway-1", "gateway-2", "orders-1", "orders-2", "worker"])
        return found if found["nginx"] and found["worker"] and (found["gateway-1"] or found["gateway-2"]) and (
            found["orders-1"] or found["orders-2"]) else None

    assert poll(hops), logs_with(stack, request_id, ["nginx", "gateway-1", "gateway-2", "orders-1", "orders-2",
                                                     "worker"])
    worker_lines = [json.loads(line) for line in stack.log("worker").splitlines()
                    if request_id in line and line.startswith("{")]
    assert worker_lines and all(line["request_id"] == request_id for line in worker_lines)
