"""The background shopper: customers browsing and placing orders through nginx while a fault strikes.

Runs in a thread of the runner (its own asyncio loop) for the whole experiment:
- browsing: GET /api/products/{id} at BROWSE_RATE per second (cheap reads: the traffic
  the "≤ 0.1% failed requests" floor of replicated components is measured on);
- checkout: ORDER_RATE orders per second, each with its own Idempotency-Key, retried
  with the SAME key on a failure or a timeout, as a careful client does (so a retry can
  never place or charge twice); a 409 "sold out" is a business answer, not a failure.

Every HTTP request and every failure is counted by endpoint; each accepted order
(201) is remembered with its customer, items and the time it was accepted, for the
ledger to follow to its end.
"""

import asyncio
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

ORDER_RETRIES = 60  # x 1 s: longer than a key left in flight by a killed replica (30 s)
RETRY_PAUSE_SECONDS = 1.0


@dataclass
class Customer:
    email: str
    headers: dict


@dataclass
class Accepted:
    order_id: int
    customer: Customer
    product_id: int
    quantity: int
    accepted_at: float


@dataclass
class Tally:
    requests: Counter = field(default_factory=Counter)  # by endpoint
    failures: Counter = field(default_factory=Counter)  # by endpoint
    errors: Counter = field(default_factory=Counter)  # by "endpoint status/exception"
    sold_out: int = 0
    not_accepted: int = 0  # orders given up after every retry failed
    cut_off: int = 0  # orders still being retried when the shopper stopped (their outcome unknown to it)
    accepted: list[Accepted] = field(default_factory=list)


class Shopper:
    def __init__(self, host: str, customers: list[Customer], product_ids: list[int], *, order_rate: float,
                 browse_rate: float, browse_ids: list[int]):
        self.host, self.customers, self.product_ids = host, customers, product_ids
        self.order_rate, self.browse_rate, self.browse_ids = order_rate, browse_rate, browse_ids
        self.tally = Tally()
        self._ordering = 0  # orders between their first POST and their answer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="shopper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> Tally:
        self._stop.set()
        self._thread.join(timeout=120)
        return self.tally

    async def _run(self) -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        async with httpx.AsyncClient(base_url=self.host, timeout=10, limits=limits) as client:
            pending: set[asyncio.Task] = set()
            await asyncio.gather(self._arrivals(client, self.order_rate, self._order, pending),
                                 self._arrivals(client, self.browse_rate, self._browse, pending))
            if pending:
                await asyncio.wait(pending, timeout=90)
            self.tally.cut_off = self._ordering

    async def _arrivals(self, client, rate: float, job, pending: set) -> None:
        """Open arrivals at a fixed rate: a slow answer does not slow the arrivals down (like real users)."""
        if rate <= 0:
            return
        next_at = time.monotonic()
        while not self._stop.is_set():
            task = asyncio.create_task(job(client))
            pending.add(task)
            task.add_done_callback(pending.discard)
            next_at += 1 / rate
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def _request(self, client, endpoint: str, method: str, url: str, **kwargs) -> httpx.Response | None:
        self.tally.requests[endpoint] += 1
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            self.tally.failures[endpoint] += 1
            self.tally.errors[f"{endpoint} {type(error).__name__}"] += 1
            return None
        if response.status_code >= 400 and response.status_code != 409:
            self.tally.failures[endpoint] += 1
            self.tally.errors[f"{endpoint} {response.status_code}"] += 1
        return response

    async def _browse(self, client) -> None:
        await self._request(client, "GET /api/products/{id}", "GET", f"/api/products/{random.choice(self.browse_ids)}")

    async def _order(self, client) -> None:
        customer = random.choice(self.customers)
        product_id = random.choice(self.product_ids)
        headers = {**customer.headers, "Idempotency-Key": uuid.uuid4().hex}
        body = {"items": [{"product_id": product_id, "quantity": 1}]}
        self._ordering += 1
        try:
            await self._place(client, customer, product_id, headers, body)
        finally:
            self._ordering -= 1

    async def _place(self, client, customer: Customer, product_id: int, headers: dict, body: dict) -> None:
        for _ in range(ORDER_RETRIES):
            response = await self._request(client, "POST /api/orders", "POST", "/api/orders", headers=headers,
                                           json=body)
            if response is not None and response.status_code == 201:
                self.tally.accepted.append(Accepted(response.json()["id"], customer, product_id, 1, time.time()))
                return
            if response is not None and response.status_code == 409 and "stock" in response.text:
                self.tally.sold_out += 1
                return
            if response is not None and response.status_code < 500 and response.status_code not in (409, 429):
                return  # a 4xx other than "in flight"/"slow down": a bug the failure count shows
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
        self.tally.not_accepted += 1
