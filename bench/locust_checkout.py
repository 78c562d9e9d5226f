"""Scenario 6's load: checkouts at a fixed arrival rate, timed from POST to a settled order.

wrk cannot follow an order to its confirmation, so this one scenario uses Locust:
`constant_throughput` users start one checkout every 1/BENCH_ORDER_RATE_PER_USER
seconds whatever the answer time (an open, fixed arrival rate while a checkout takes
less than that), and the times from POST /api/orders to CONFIRMED/FAILED are written
as JSON to BENCH_CHECKOUT_OUT when the run ends. The journeys' own code
(loadtests/shopper.py) does the HTTP work, so the bench and the load test agree.
"""

import json
import os
import random
import time

from locust import FastHttpUser, constant_throughput, events, task

import shopper
from catalogue import Catalogue

CATALOGUE = Catalogue(sample=1000)
SETTLE_SECONDS: list[float] = []
STATUSES: dict[str, int] = {}
WINDOW: dict[str, float] = {}


class Checkout(FastHttpUser):
    wait_time = constant_throughput(float(os.environ.get("BENCH_ORDER_RATE_PER_USER", "0.25")))

    def on_start(self) -> None:
        self.auth = shopper.sign_up_and_log_in(self.client)
        CATALOGUE.popular_id(self.client)

    @task
    def checkout(self) -> None:
        # Uniform over the top 1000, not Zipf: a bench must not sell the head of the catalogue out.
        product_id = random.choice(CATALOGUE.ids) if CATALOGUE.ids else None
        if product_id is None or not self.auth:
            return
        started = time.perf_counter()
        WINDOW.setdefault("first_post", time.time())
        order_id = shopper.place_order(self.client, self.auth, [{"product_id": product_id, "quantity": 1}])
        # Poll every 100 ms: fine enough for the figure, light enough not to load the stack it measures.
        settled = None if order_id is None else shopper.wait_until_settled(self.client, self.auth, order_id,
                                                                            interval=0.1)
        status = settled or "NOT_CREATED"
        STATUSES[status] = STATUSES.get(status, 0) + 1
        if status in shopper.SETTLED:
            SETTLE_SECONDS.append(time.perf_counter() - started)
            WINDOW["last_settled"] = time.time()


@events.quitting.add_listener
def write_figures(environment, **_) -> None:
    total = environment.stats.total
    figures = {"settle_seconds": SETTLE_SECONDS, "statuses": STATUSES, **WINDOW,
               "http_requests": total.num_requests, "http_failures": total.num_failures}
    with open(os.environ["BENCH_CHECKOUT_OUT"], "w") as output:
        json.dump(figures, output)
    environment.process_exit_code = 0  # the bench reports failures; it does not judge them here
