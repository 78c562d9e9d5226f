"""Client traffic during a drill: threads that keep writing and reading through nginx and record
every answer with its time, so what a client saw can be measured afterwards."""

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

ADMIN = {"email": "admin@scaleshop.local", "password": "dev-only-admin-password"}


@dataclass
class Event:
    at: float  # time.time() when the answer arrived
    ok: bool
    status: int  # 0: no answer (transport error)
    detail: str = ""
    value: dict | None = None


@dataclass
class Loop:
    """One client calling `call(client)` until stopped: `pause` seconds after each answer, or, when
    `paced`, on a fixed schedule of one call every `pause` seconds (a slow answer then eats into
    the wait instead of lowering the rate, until answers take longer than `pause`)."""

    name: str
    call: Callable[[httpx.Client], Event]
    base_url: str
    pause: float = 0.05
    paced: bool = False
    events: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> "Loop":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        next_call = time.monotonic()
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            while not self._stop.is_set():
                try:
                    event = self.call(client)
                except httpx.HTTPError as error:
                    event = Event(time.time(), False, 0, type(error).__name__)
                self.events.append(event)
                next_call = max(next_call + self.pause, time.monotonic()) if self.paced else time.monotonic() + self.pause
                self._stop.wait(next_call - time.monotonic())

    # ------------------------------------------------------------ what the events say

    @property
    def succeeded(self) -> list[Event]:
        return [event for event in self.events if event.ok]

    @property
    def failed(self) -> list[Event]:
        return [event for event in self.events if not event.ok]

    def failures_by_kind(self) -> dict[str, int]:
        return dict(Counter(f"{event.status} {event.detail}".strip() for event in self.failed))

    def longest_gap(self, after: float = 0.0) -> tuple[float, float, float]:
        """The longest time between two consecutive successes (around `after`): (seconds, from, to)."""
        times = [event.at for event in self.succeeded]
        best = (0.0, after, after)
        for before, then in zip(times, times[1:]):
            if then >= after and then - before > best[0]:
                best = (then - before, before, then)
        return best


def admin_headers(base_url: str) -> dict:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        answer = client.post("/api/users/login", json=ADMIN)
        answer.raise_for_status()
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def product_writer(base_url: str, headers: dict, tag: str) -> Loop:
    """Creates products (admin API: a write on products-db's primary); an acknowledged one has its id."""

    def call(client: httpx.Client) -> Event:
        answer = client.post("/api/products", headers=headers, json={
            "name": f"drill {tag} {uuid.uuid4().hex[:10]}", "category": "drill", "price": "1.00", "stock": 1})
        if answer.status_code == 201:
            return Event(time.time(), True, 201, value={"id": answer.json()["id"]})
        body = _json(answer)
        return Event(time.time(), False, answer.status_code, body.get("database") or body.get("detail", "")[:60])

    return Loop("writer", call, base_url)


def product_reader(base_url: str) -> Loop:
    """Lists products page by page (the read path: replica, or primary as the fallback)."""
    pages = iter(range(10**9))

    def call(client: httpx.Client) -> Event:
        answer = client.get("/api/products", params={"limit": 5, "offset": (next(pages) % 200) * 5, "sort": "price",
                                                   "nocache": uuid.uuid4().hex})  # past any edge cache
        return Event(time.time(), answer.status_code == 200, answer.status_code,
                     "" if answer.status_code == 200 else str(_json(answer).get("detail", ""))[:60])

    return Loop("reader", call, base_url)


def _json(answer: httpx.Response) -> dict:
    try:
        body = answer.json()
    except ValueError:
        return {"detail": answer.text[:60]}
    return body if isinstance(body, dict) else {}
