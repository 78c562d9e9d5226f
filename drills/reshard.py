"""Online resharding drill (seed "Database Sharding Pattern": rebalancing when adding shards):
add the third orders shard and move users to it while customers keep ordering.

    python -m drills.reshard [--buckets 21] [--customers 30] [--rate 10]      (make reshard)

1. Customers sign up; each places one order with a known Idempotency-Key (replayed after the move).
2. Background shoppers place orders at `--rate` per second through nginx, each with a fresh
   Idempotency-Key, and list their orders; every answer is recorded (a non-2xx is a failed request).
3. `--buckets` buckets of users (of 64) move to orders-db-2, the empty third shard, one at a time:
   copy, catch up, fence, final copy, switch the directory, clean up (orders.resharding), progress
   printed as it goes.
4. Verdict, read from the shards themselves and through the API: every acknowledged order exists
   exactly once among the rows the shards own, on the shard the directory names for its customer
   (none lost, none duplicated); no row of a moved bucket is left on its old shard; each customer's
   GET /api/orders lists every order acknowledged to them; every first order's Idempotency-Key
   replays the same order after the move; 0 failed requests. Report in reports/reshard/.
"""

import argparse
import asyncio
import itertools
import json
import math
import random
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import psycopg2

from drills.stack import Stack, libpq_dsn, report_dir
from drills.traffic import Event, Loop, admin_headers
from orders.resharding import move, open_shards, status
from orders.settings import OrdersSettings
from orders.shard_keys import bucket_of

PASSWORD = "correct horse battery"
NEW_SHARD = 2


def customer(client: httpx.Client) -> dict:
    email = f"reshard-{uuid.uuid4().hex[:10]}@example.com"
    profile = client.post("/api/users/register", json={"email": email, "password": PASSWORD, "name": "Reshard"})
    profile.raise_for_status()
    token = client.post("/api/users/login", json={"email": email, "password": PASSWORD}).json()["access_token"]
    return {"id": profile.json()["id"], "headers": {"Authorization": f"Bearer {token}"}}


def order(client: httpx.Client, buyer: dict, product_id: int, key: str) -> httpx.Response:
    return client.post("/api/orders", headers={**buyer["headers"], "Idempotency-Key": key},
                       json={"items": [{"product_id": product_id, "quantity": 1}]})


def shopper(base_url: str, customers: list[dict], product_id: int, accepted: list, lock: threading.Lock,
            pause: float) -> Loop:
    """One order after another, customers in turn; each acknowledged order is noted with its customer."""
    turn = itertools.cycle(customers)

    def call(client: httpx.Client) -> Event:
        buyer = next(turn)
        answer = order(client, buyer, product_id, uuid.uuid4().hex)
        if answer.status_code == 201:
            with lock:
                accepted.append((answer.json()["id"], buyer["id"]))
            return Event(time.time(), True, 201)
        return Event(time.time(), False, answer.status_code, answer.text[:80])

    return Loop("shopper", call, base_url, pause=pause, paced=True)


def lister(base_url: str, customers: list[dict]) -> Loop:
    """GET /api/orders of a random customer: the read path during the move."""

    def call(client: httpx.Client) -> Event:
        answer = client.get("/api/orders", headers=random.choice(customers)["headers"], params={"limit": 5})
        return Event(time.time(), answer.status_code == 200, answer.status_code, answer.text[:80])

    return Loop("lister", call, base_url, pause=0.1)


def shard_rows(dsns: list[str]) -> tuple[dict[int, list[int]], dict[int, int]]:
    """order id -> the shards holding it among the buckets each owns; rows left in buckets a shard does not own."""
    where: dict[int, list[int]] = {}
    stray: dict[int, int] = {}
    for shard, dsn in enumerate(dsns):
        with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT o.id FROM orders o JOIN bucket_ownership b ON b.bucket = o.bucket WHERE b.owned")
            for (order_id,) in cursor.fetchall():
                where.setdefault(order_id, []).append(shard)
            cursor.execute("SELECT count(*) FROM orders o JOIN bucket_ownership b ON b.bucket = o.bucket "
                           "WHERE NOT b.owned")
            stray[shard] = cursor.fetchone()[0]
    return where, stray


def directory(dsn: str) -> dict[int, int]:
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT bucket, shard FROM shard_buckets")
        return dict(cursor.fetchall())


def run(stack: Stack, *, buckets: int, customers: int, rate: float, settle: float = 3.0) -> dict:
    base = stack.nginx
    urls = stack.env("orders-shards")["ORDERS_SHARD_URLS"]
    dsns = [libpq_dsn(url, connect_timeout="5") for url in urls.split(",")]
    with httpx.Client(base_url=base, timeout=30) as client:
        product = client.post("/api/products", headers=admin_headers(base), json={
            "name": f"reshard drill item {uuid.uuid4().hex[:8]}", "category": "drill", "price": "3.00",
            "stock": 1_000_000})
        product.raise_for_status()
        product_id = product.json()["id"]
        people = [customer(client) for _ in range(customers)]
        first_orders = {}
        for buyer in people:  # one order per customer with a key replayed after the move
            key = f"before-move-{uuid.uuid4().hex}"
            answer = order(client, buyer, product_id, key)
            answer.raise_for_status()
            first_orders[buyer["id"]] = (key, answer.json()["id"])

    accepted: list[tuple[int, int]] = [(order_id, user) for user, (_, order_id) in first_orders.items()]
    lock = threading.Lock()
    # One order a second per shopper (a customer's pace), on a fixed schedule, so `rate` shoppers
    # offer `rate` orders/s whatever an order's latency (below 1 s); the report says what was reached.
    shoppers = max(1, math.ceil(rate))
    loops = [shopper(base, people, product_id, accepted, lock, pause=shoppers / rate) for _ in range(shoppers)]
    loops.append(lister(base, people))
    for number, loop in enumerate(loops):
        loop.name = f"{loop.name}-{number}"  # failures are reported per loop
        loop.start()
    time.sleep(settle)

    settings = OrdersSettings(orders_shard_urls=urls)
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    async def moving():
        databases = open_shards(settings, pooled=False)
        try:
            before = await status(databases)
            say(f"before: {before}")
            # The drill's own customers' buckets first, so the move takes users whose orders it tracks.
            mine = [bucket for bucket, _ in Counter(bucket_of(person["id"]) for person in people).most_common()]
            moved = await move(databases, NEW_SHARD, buckets, say=say, prefer=mine)
            after = await status(databases)
            say(f"after: {after}")
            return before, moved, after
        finally:
            for database in databases:
                await database.dispose()

    started = time.time()
    before, moved, after = asyncio.run(moving())
    move_seconds = time.time() - started
    time.sleep(settle)
    for loop in loops:
        loop.stop()

    moved_buckets = {m.bucket for m in moved}
    replays = Counter()
    with httpx.Client(base_url=base, timeout=30) as client:
        for buyer in people:  # idempotency holds across the move: the same key replays the same order
            key, order_id = first_orders[buyer["id"]]
            answer = order(client, buyer, product_id, key)
            same = answer.status_code == 201 and answer.json()["id"] == order_id \
                and answer.headers.get("Idempotent-Replayed") == "true"
            replays["same order" if same else f"{answer.status_code} other"] += 1
        listed_missing = 0
        mine: dict[int, set[int]] = {}
        for order_id, user in accepted:
            mine.setdefault(user, set()).add(order_id)
        for buyer in people:
            seen: set[int] = set()
            for offset in range(0, 10_000, 100):
                page = client.get("/api/orders", headers=buyer["headers"], params={"limit": 100, "offset": offset})
                page.raise_for_status()
                items = page.json()["items"]
                seen |= {item["id"] for item in items}
                if len(items) < 100:
                    break
            listed_missing += len(mine.get(buyer["id"], set()) - seen)

    where, stray = shard_rows(dsns)
    shard_map = directory(dsns[0])
    ids = [order_id for order_id, _ in accepted]
    lost = [order_id for order_id in ids if order_id not in where]
    duplicated = [order_id for order_id in ids if len(where.get(order_id, [])) > 1]
    misplaced = [order_id for order_id, user in accepted
                 if order_id in where and where[order_id] != [shard_map[bucket_of(user)]]]
    moved_users = {user for _, user in accepted if bucket_of(user) in moved_buckets}
    requests = sum(len(loop.events) for loop in loops)
    failed = {loop.name: loop.failures_by_kind() for loop in loops if loop.failed}
    during = [order_id for order_id, _ in accepted[len(first_orders):]]
    return {
        "buckets_moved": len(moved), "users_moved": len(moved_users), "customers": customers,
        "orders_acknowledged": len(ids), "orders_during_drill": len(during),
        "order_rate_per_second": round(len(during) / (move_seconds + 2 * settle), 1),
        "requests": requests, "failed_requests": sum(len(loop.failed) for loop in loops), "failures": failed,
        "lost": len(lost), "duplicated": len(duplicated), "misplaced": len(misplaced),
        "rows_left_on_old_shards": sum(stray.values()), "listed_missing": listed_missing,
        "idempotent_replays": dict(replays), "move_seconds": round(move_seconds, 1),
        "longest_pause_ms": max((m.paused_ms for m in moved), default=0.0),
        "per_bucket": [{"bucket": m.bucket, "from": m.source, "to": m.target, "orders": m.copied.orders,
                        "keys": m.copied.keys, "paused_ms": m.paused_ms, "seconds": m.seconds} for m in moved],
        "before": before, "after": after, "log": lines,
    }


def write(result: dict) -> str:
    directory_ = report_dir("reshard", f"{result['buckets_moved']}-buckets")
    (directory_ / "report.json").write_text(json.dumps(result, indent=2, default=str))
    floors = {"0 failed requests": result["failed_requests"] == 0, "0 lost orders": result["lost"] == 0,
              "0 duplicated orders": result["duplicated"] == 0, "0 misplaced orders": result["misplaced"] == 0,
              "0 rows left behind": result["rows_left_on_old_shards"] == 0,
              "every order listed": result["listed_missing"] == 0,
              "every key replays its order": set(result["idempotent_replays"]) == {"same order"}}
    lines = [f"# Online resharding: {result['buckets_moved']} buckets ({result['users_moved']} of the drill's "
             f"customers) to orders-db-2 under {result['order_rate_per_second']} orders/s", "",
             "| figure | value |", "|---|---|"]
    for key in ("orders_acknowledged", "orders_during_drill", "requests", "failed_requests", "lost", "duplicated",
                "misplaced", "rows_left_on_old_shards", "listed_missing", "move_seconds", "longest_pause_ms"):
        lines.append(f"| {key.replace('_', ' ')} | {result[key]} |")
    lines += ["", "| floor | met |", "|---|---|", *(f"| {name} | {'yes' if ok else '**NO**'} |"
                                                    for name, ok in floors.items()),
              "", f"Before: {result['before']}", "", f"After: {result['after']}", ""]
    (directory_ / "report.md").write_text("\n".join(lines))
    return str(directory_ / "report.md")


def main() -> None:
    parser = argparse.ArgumentParser(prog="drills.reshard", description=__doc__.split("\n\n")[0])
    parser.add_argument("--buckets", type=int, default=21, help="buckets (of 64) to move to the third shard")
    parser.add_argument("--customers", type=int, default=30)
    parser.add_argument("--rate", type=float, default=10.0, help="orders per second during the move")
    parser.add_argument("--json", help="also write the result here (tests/e2e/test_orders_sharding.py)")
    args = parser.parse_args()
    result = run(Stack(), buckets=args.buckets, customers=args.customers, rate=args.rate)
    if args.json:
        Path(args.json).write_text(json.dumps(result, default=str))
    print(json.dumps({k: v for k, v in result.items() if k not in ("log", "per_bucket")}, indent=2, default=str))
    print(f"report: {write(result)}")
    ok = (result["failed_requests"] == 0 and result["lost"] == 0 and result["duplicated"] == 0
          and result["misplaced"] == 0 and result["rows_left_on_old_shards"] == 0 and result["listed_missing"] == 0)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
