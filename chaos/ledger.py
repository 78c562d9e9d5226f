"""After the fault and the recovery: what happened to every order, charge and unit of stock.

Read through the public API only (the customers' own order and charge lists, the
products' stock), so the ledger is the same in both runtimes and sees what customers see:

- lost: accepted (201) but not found afterwards; stuck: still PENDING/PAID once the
  system had time to recover (saga recovery's bounded re-drives included);
- double charges: an order with more than one charge, or money kept ("charged", not
  refunded) for an order that ended FAILED or CANCELLED;
- oversold units: more units in live orders than the products had; leaked units:
  stock still reserved for orders that failed or were never placed (S0 - S1 != units in
  live orders), once the reconciler had time to release abandoned claims;
- unacknowledged orders: placed by the shop although the shopper never saw their 201 (its
  retries were cut off when it stopped, mid-fault). They are not lost: the customer finds
  them in their order list (GET /api/orders), where the ledger looks for them, and their
  units count as live, not leaked. They must settle like the others.
"""

import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import httpx

from chaos.shopper import Accepted, Customer

LIVE = {"PENDING", "PAID", "CONFIRMED"}
FINAL = {"CONFIRMED", "FAILED", "CANCELLED"}
# orders' IDEMPOTENCY_ABANDONED_SECONDS (120) + a reconciler round (5 s) + slack.
ABANDONED_CLAIM_SECONDS = 150
PAGE = 100  # the API's largest page


@dataclass
class Ledger:
    placed: int
    settled: int
    confirmed: int
    failed: int
    stuck: int
    lost: int
    double_charges: int
    money_kept_for_failed_orders: int
    oversold_units: int
    leaked_units: int
    unacknowledged_orders: int
    last_settled_at: float | None
    statuses: dict


def settle(host: str, accepted: list[Accepted], *, timeout: float) -> dict[int, dict]:
    """Poll every accepted order until all are final or `timeout` passes; the last view of each."""
    seen: dict[int, dict] = {}
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=host, timeout=10) as client:
        while True:
            for order in accepted:
                if seen.get(order.order_id, {}).get("status") in FINAL:
                    continue
                try:
                    response = client.get(f"/api/orders/{order.order_id}", headers=order.customer.headers)
                except httpx.HTTPError:
                    continue
                seen[order.order_id] = response.json() if response.status_code == 200 else {"status": "MISSING",
                                                                                              "code": response.status_code}
            if all(seen.get(o.order_id, {}).get("status") in FINAL for o in accepted) or time.monotonic() > deadline:
                return seen
            time.sleep(1)


def unacknowledged(host: str, customers: list[Customer], accepted: list[Accepted],
                   product_ids: set[int]) -> list[Accepted]:
    """Orders of this experiment's products in the customers' own lists that the shopper was never
    told about (one entry per item)."""
    known = {order.order_id for order in accepted}
    found: list[Accepted] = []
    with httpx.Client(base_url=host, timeout=10) as client:
        for customer in customers:
            for view in _own_list(client, customer, "/api/orders"):
                ours = [item for item in view["items"] if item["product_id"] in product_ids]
                if ours and view["id"] not in known:
                    found.extend(Accepted(view["id"], customer, item["product_id"], item["quantity"], 0.0)
                                 for item in ours)
    return found


def _own_list(client: httpx.Client, customer: Customer, path: str) -> list[dict]:
    """Every item of one of a customer's own lists (GET /api/orders, /api/payments), page by page."""
    rows, offset = [], 0
    while True:
        page = client.get(path, headers=customer.headers, params={"limit": PAGE, "offset": offset})
        page.raise_for_status()
        items = page.json()["items"]
        rows.extend(items)
        if len(items) < PAGE:
            return rows
        offset += PAGE


def account(host: str, accepted: list[Accepted], seen: dict[int, dict], stock_before: dict[int, int],
            unseen: list[Accepted] = ()) -> Ledger:
    """`accepted`: the orders the shopper got a 201 for; `unseen`: the unacknowledged ones (both
    followed by `settle` into `seen`)."""
    statuses: dict[str, int] = defaultdict(int)
    for view in seen.values():
        statuses[view.get("status", "UNKNOWN")] += 1
    everyone = [*accepted, *unseen]
    with httpx.Client(base_url=host, timeout=10) as client:
        charges = _charges(client, everyone)
        stock_after = _stock(client, stock_before)
        # Units held for an order that was never accepted (the shopper gave up while its reservation
        # was in doubt) come back when the reconciler finds the abandoned claim (orders.recovery):
        # wait that long before calling them leaked.
        deadline = time.monotonic() + ABANDONED_CLAIM_SECONDS
        while _units_missing(stock_before, stock_after, everyone, seen) > 0 and time.monotonic() < deadline:
            time.sleep(5)
            stock_after = _stock(client, stock_before)
    per_order = defaultdict(list)
    for charge in charges:
        per_order[charge["order_id"]].append(charge)
    ours = {o.order_id for o in everyone}
    double = sum(1 for order_id, rows in per_order.items() if order_id in ours and len(rows) > 1)
    kept = sum(1 for order_id, rows in per_order.items() if order_id in ours
               and seen.get(order_id, {}).get("status") in ("FAILED", "CANCELLED")
               and any(row["status"] == "charged" for row in rows))
    live_units = defaultdict(int)
    for order in everyone:
        if seen.get(order.order_id, {}).get("status") in LIVE:
            live_units[order.product_id] += order.quantity
    oversold = sum(max(0, live_units[pid] - stock_before[pid]) for pid in stock_before)
    leaked = sum((stock_before[pid] - stock_after[pid]) - live_units[pid] for pid in stock_before)
    settled_times = [_epoch(view["updated_at"]) for view in seen.values()
                     if view.get("status") in FINAL and view.get("updated_at")]
    return Ledger(
        placed=len({o.order_id for o in everyone}),
        settled=sum(statuses[s] for s in FINAL),
        confirmed=statuses["CONFIRMED"], failed=statuses["FAILED"],
        stuck=statuses["PENDING"] + statuses["PAID"],
        lost=statuses["MISSING"] + sum(1 for o in accepted if o.order_id not in seen),
        double_charges=double, money_kept_for_failed_orders=kept,
        oversold_units=oversold, leaked_units=leaked,
        unacknowledged_orders=len({o.order_id for o in unseen}),
        last_settled_at=max(settled_times) if settled_times else None,
        statuses=dict(statuses),
    )


def _stock(client: httpx.Client, stock_before: dict[int, int]) -> dict[int, int]:
    return {pid: client.get(f"/api/products/{pid}", headers={"Cache-Control": "no-cache"}).json()["stock"]
            for pid in stock_before}


def _units_missing(stock_before: dict, stock_after: dict, accepted: list[Accepted], seen: dict) -> int:
    live = sum(o.quantity for o in accepted if seen.get(o.order_id, {}).get("status") in LIVE)
    return sum(stock_before[pid] - stock_after[pid] for pid in stock_before) - live


def _charges(client: httpx.Client, accepted: list[Accepted]) -> list[dict]:
    """Every charge of the shopper's customers (their own list: GET /api/payments, paged)."""
    customers = {o.customer.email: o.customer for o in accepted}
    return [row for customer in customers.values() for row in _own_list(client, customer, "/api/payments")]


def ended_at(view: dict) -> float | None:
    """When a final order took its final state (its updated_at), as a Unix time; None if not final."""
    return _epoch(view["updated_at"]) if view.get("status") in FINAL and view.get("updated_at") else None


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
