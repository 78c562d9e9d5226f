"""ScaleShop's load test: simulated shoppers whose mix mirrors a real shop (seed: "Testing at Scale").

Most visitors browse, fewer search, fewer still open a product page, and a small share
checks out (browse >> search > view product > checkout): the user class weights below.
Each simulated user signs up and logs in once (on_start), then waits a human think
time between actions. Product choices follow a Zipf law over the catalogue, most
popular first, so the cache sees the hot set a real shop has.

Run it with `make load` (headless, a named shape, thresholds) or `make load-ui`
(Locust's web UI on :8089). Options (each also an environment variable):
  --load-shape steady|ramp|spike|soak  (LOAD_SHAPE; LOAD_SHAPE=none: plain -u/-r/-t or the web UI)
  --shape-users N, --shape-duration S  (LOAD_USERS, LOAD_DURATION)
  --max-p95-ms 500, --max-error-rate 0.01  (LOAD_MAX_P95_MS, LOAD_MAX_ERROR_RATE)
  --max-sign-up-p95-ms 2000  (LOAD_MAX_SIGN_UP_P95_MS: sign-up and login, argon2; see thresholds.py)
"""

import os
import random
import statistics
import time
from collections import Counter

from locust import FastHttpUser, LoadTestShape, between, events, task
from locust.stats import StatsEntry
from locust.util.timespan import parse_timespan

import agents
import shopper
import thresholds
from catalogue import Catalogue
from shapes import DEFAULT_DURATION, SHAPES, Stage, target_at

CATALOGUE = Catalogue(sample=int(os.environ.get("LOAD_CATALOGUE_SAMPLE", "1000")))
# Checkout is asynchronous: time from POST /api/orders to a settled order, kept apart from the
# request statistics (it includes queue and payment time, so it has no place in the p95 threshold).
SETTLE_SECONDS: list[float] = []
SETTLED_STATUSES: Counter = Counter()


@events.init_command_line_parser.add_listener
def add_options(parser) -> None:
    parser.add_argument("--load-shape", choices=[*sorted(SHAPES), "none"], default="steady", env_var="LOAD_SHAPE",
                        help="the load shape: steady, ramp, spike, soak, or none (-u/-r/-t or the web UI decide)")
    parser.add_argument("--shape-users", type=int, default=20, env_var="LOAD_USERS",
                        help="N: the shape's base number of users (ramp goes to 2N, spike to 3N)")
    parser.add_argument("--shape-duration", type=float, default=0.0, env_var="LOAD_DURATION",
                        help="total seconds of the shape (default per shape: 60/160/90/3600)")
    parser.add_argument("--max-p95-ms", type=float, default=500.0, env_var="LOAD_MAX_P95_MS",
                        help="fail the run when the p95 of the shopping requests (all but sign-up/login) reaches this (ms)")
    parser.add_argument("--max-sign-up-p95-ms", type=float, default=2000.0, env_var="LOAD_MAX_SIGN_UP_P95_MS",
                        help="the same for sign-up and login (argon2 is slow on purpose)")
    parser.add_argument("--max-error-rate", type=float, default=0.01, env_var="LOAD_MAX_ERROR_RATE",
                        help="fail the run when this fraction of requests failed (0.01 = 1%%)")


class ShopShape(LoadTestShape):
    """Plays the stages of the shape named by --load-shape, sized by --shape-users and --shape-duration."""

    def stages(self) -> list[Stage]:
        if not hasattr(self, "_stages"):
            options = self.runner.environment.parsed_options
            if options.load_shape == "none":  # named on the command line only: behave like -u/-r/-t
                until = float(parse_timespan(str(options.run_time))) if options.run_time else float("inf")
                self._stages = [(until, options.num_users or 1, options.spawn_rate or 1.0)]
            else:
                duration = options.shape_duration or DEFAULT_DURATION[options.load_shape]
                self._stages = SHAPES[options.load_shape](options.shape_users, duration)
        return self._stages

    def tick(self) -> tuple[int, float] | None:
        return target_at(self.stages(), self.get_run_time())


if os.environ.get("LOAD_SHAPE", "steady") == "none":
    del ShopShape  # no shape: the user count comes from -u/-r or the web UI


class ShopUser(FastHttpUser):
    abstract = True
    wait_time = between(1, 5)

    def on_start(self) -> None:
        self.auth = {**shopper.sign_up_and_log_in(self.client), **agents.browser_headers()}

    def view_product(self) -> None:
        product_id = CATALOGUE.popular_id(self.client)
        if product_id is not None:
            self.client.get(f"/api/products/{product_id}", headers=self.auth, name="/api/products/[id]")


class Browser(ShopUser):
    """Pages through the catalogue and its categories, now and then opening a product."""

    weight = 60

    @task(5)
    def browse_popular(self) -> None:
        page = min(int(random.paretovariate(1.2)) - 1, 19)  # most people stay on the first pages
        self.client.get(f"/api/products?sort=popularity&limit=20&offset={20 * page}", headers=self.auth,
                        name="/api/products?sort=popularity")

    @task(3)
    def browse_category(self) -> None:
        CATALOGUE.popular_id(self.client)  # loads the categories on first use
        category = CATALOGUE.category()
        if category:
            self.client.get(f"/api/products?category={category}&limit=20", headers=self.auth,
                            name="/api/products?category=[category]")

    @task(1)
    def open_product(self) -> None:
        self.view_product()


class Searcher(ShopUser):
    """Searches for a word, then opens one of the results."""

    weight = 25

    @task
    def search(self) -> None:
        CATALOGUE.popular_id(self.client)
        with self.client.get(f"/api/products/search?q={CATALOGUE.search_term()}", headers=self.auth,
                             name="/api/products/search?q=[term]", catch_response=True) as response:
            items = response.json().get("items", []) if response.status_code == 200 else []
        if items:
            self.client.get(f"/api/products/{random.choice(items)['id']}", headers=self.auth,
                            name="/api/products/[id]")


class Viewer(ShopUser):
    """Lands on product pages (from ads, links, recommendations): the hot set of the cache."""

    weight = 10

    @task
    def view(self) -> None:
        self.view_product()


class Buyer(ShopUser):
    """Looks at a few products, orders one to three of them and waits for the confirmation."""

    weight = 5
    wait_time = between(2, 8)

    @task
    def checkout(self) -> None:
        chosen = {CATALOGUE.popular_id(self.client) for _ in range(random.randint(1, 3))} - {None}
        for product_id in chosen:
            self.view_product()
            # The storefront's add-to-cart beacon (the funnel's middle stage).
            self.client.post("/api/analytics/events", json={"type": "add_to_cart", "product_id": product_id},
                             headers=self.auth, name="/api/analytics/events")
        if not chosen:
            return
        started = time.perf_counter()
        order_id = shopper.place_order(self.client, self.auth,
                                       [{"product_id": product_id, "quantity": 1} for product_id in chosen])
        if order_id is None:
            return
        status = shopper.wait_until_settled(self.client, self.auth, order_id)
        SETTLED_STATUSES[status] += 1
        if status in shopper.SETTLED:
            SETTLE_SECONDS.append(time.perf_counter() - started)


@events.quitting.add_listener
def enforce_thresholds(environment, **_) -> None:
    """Print the verdicts and set the exit code (overriding Locust's 'any failure exits 1')."""
    if environment.runner is None or environment.parsed_options is None:
        return
    total, options = environment.stats.total, environment.parsed_options
    shopping = StatsEntry(environment.stats, "shopping", "")
    sign_up = StatsEntry(environment.stats, "sign-up", "")
    for entry in environment.stats.entries.values():
        (sign_up if entry.name in thresholds.SIGN_UP_REQUESTS else shopping).extend(entry)
    verdicts = thresholds.check(
        requests=total.num_requests, failures=total.num_failures,
        p95_ms=shopping.get_response_time_percentile(0.95) or 0.0, max_p95_ms=options.max_p95_ms,
        max_error_rate=options.max_error_rate,
        sign_up_p95_ms=sign_up.get_response_time_percentile(0.95) or 0.0,
        max_sign_up_p95_ms=options.max_sign_up_p95_ms,
    )
    print("\nThresholds (seed: p95 < 500 ms, error rate < 1%):")
    for verdict in verdicts:
        print("  " + verdict.line())
    failed = [verdict.name for verdict in verdicts if not verdict.passed]
    if environment.runner.exceptions:
        failed.append(f"{len(environment.runner.exceptions)} exception(s) in the journeys' code")
    print(f"Thresholds failed: {', '.join(failed)}" if failed else "All thresholds passed.")
    environment.process_exit_code = 1 if failed else 0


@events.quitting.add_listener
def print_checkout_times(environment, **_) -> None:
    if not SETTLED_STATUSES:
        return
    print(f"\nCheckout, POST /api/orders to a settled order: {dict(SETTLED_STATUSES)}")
    if len(SETTLE_SECONDS) >= 2:
        cuts = statistics.quantiles(SETTLE_SECONDS, n=100)
        print(f"  p50 {cuts[49] * 1000:.0f} ms, p95 {cuts[94] * 1000:.0f} ms over {len(SETTLE_SECONDS)} orders")
