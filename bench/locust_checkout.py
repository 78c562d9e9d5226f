"""Scenario 6's load: checkouts at a fixed arrival rate, timed from POST to a settled order.

wrk cannot follow an order to its confirmation, so this one scenario uses Locust:
`constant_throughput` users start one checkout every 1/BENCH_ORDER_RATE_PER_USER
seconds whatever the answer time (an open, fixed arrival rate while a checkout takes
less than that), and the times from POST /api/orders to CONFIRMED/FAILED are written
as JSON to BENCH_CHECKOUT_OUT when the run ends. The journeys' own code
(loadtests/shopper.py) does the HTTP work, so the bench and the load test agree.

The customers are signed up and logged in BEFORE the run (bench/scenarios_load.py
writes their tokens to BENCH_CHECKOUT_USERS): argon2 sign-ups inside the window would
measure a sign-up storm, not checkout. The window opens at the first POST and lasts
BENCH_CHECKOUT_WINDOW seconds; orders are only started inside it, and the run goes on
a little longer so the last ones can settle.
"""

import itertools
import json
import os
import random
import time
from datetime import datetime

from locust import FastHttpUser, constant_throughput, events, task

import shopper
from catalogue import Catalogue

CATALOGUE = Catalogue(sample=1000)
SETTLE_SECONDS: list[float] = []
STATUSES: dict[str, int] = {}
WINDOW: dict[str, float] = {}
WINDOW_SECONDS = float(os.environ.get("BENCH_CHECKOUT_WINDOW", "60"))
POLL_SECONDS = 0.5
TOKENS = json.loads(open(os.environ["BENCH_CHECKOUT_USERS"]).read()) if os.environ.get("BENCH_CHECKOUT_USERS") else []
NEXT_TOKEN = itertools.count()


class Checkout(FastHttpUser):
    wait_time = constant_throughput(float(os.environ.get("BENCH_ORDER_RATE_PER_USER", "0.25")))

    def on_start(self) -> None:
        index = next(NEXT_TOKEN)
        self.auth = ({"Authorization": f"Bearer {TOKENS[index % len(TOKENS)]}"} if TOKENS
                     else shopper.sign_up_and_log_in(self.client))
        CATALOGUE.popular_id(self.client)

    @task
    def checkout(self) -> None:
        # Uniform over the top 1000, not Zipf: a bench must not sell the head of the catalogue out.
        product_id = random.choice(CATALOGUE.ids) if CATALOGUE.ids else None
        if product_id is None or not self.auth:
            return
        now = time.time()
        opened = WINDOW.setdefault("first_post", now)
        if now > opened + WINDOW_SECONDS:
            return  # the window is over: only let the orders in flight settle
        posted = time.perf_counter()
        order_id = shopper.place_order(self.client, self.auth, [{"product_id": product_id, "quantity": 1}])
        post_seconds = time.perf_counter() - posted
        if order_id is not None:
            WINDOW["placed"] = WINDOW.get("placed", 0) + 1
        # The settle time is the POST's own time plus the order's server-side clock (created_at to
        # the updated_at of its last move): exact whatever the polling interval, so the bench can
        # poll every 0.5 s. (Polling every 0.1 s from 80 users was 800 GETs/s: the bench loaded
        # the stack it measures more than the checkouts did.)
        order = {} if order_id is None else shopper.follow_order(self.client, self.auth, order_id,
                                                                 interval=POLL_SECONDS)
        status = order.get("status", "NOT_CREATED")
        STATUSES[status] = STATUSES.get(status, 0) + 1
        if status in shopper.SETTLED:
            server_seconds = (datetime.fromisoformat(order["updated_at"])
                              - datetime.fromisoformat(order["created_at"])).total_seconds()
            SETTLE_SECONDS.append(post_seconds + server_seconds)
            WINDOW["last_settled"] = time.time()


@events.quitting.add_listener
def write_figures(environment, **_) -> None:
    total = environment.stats.total
    by_endpoint = {f"{entry.method} {entry.name}": {"requests": entry.num_requests, "failures": entry.num_failures}
                   for entry in environment.stats.entries.values()}
    figures = {"settle_seconds": SETTLE_SECONDS, "statuses": STATUSES, **WINDOW, "window_seconds": WINDOW_SECONDS,
               "http_requests": total.num_requests, "http_failures": total.num_failures, "by_endpoint": by_endpoint}
    with open(os.environ["BENCH_CHECKOUT_OUT"], "w") as output:
        json.dump(figures, output)
    environment.process_exit_code = 0  # the bench reports failures; it does not judge them here
