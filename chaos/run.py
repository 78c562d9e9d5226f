"""`make chaos [EXPERIMENT=kill-queue]`: the chaos matrix against the running stack, with a report.

For each experiment (chaos/experiments/<name>.json), in order:
1. fresh products with a small stock (so selling out, and overselling, are possible) and
   customers logged in, all before the measured window;
2. the background shopper starts (chaos/shopper.py); after a warm-up, Chaos Toolkit runs
   the experiment: steady-state hypothesis, the fault, the wait for the steady state
   again, the hypothesis again, rollbacks;
3. the shopper keeps shopping for a while, then stops; the ledger (chaos/ledger.py) waits
   for every accepted order to end and accounts for orders, charges and stock.

The report (reports/chaos/<time>/report.md and report.json) gives per scenario requests,
failed requests, orders placed/settled/stuck/lost, double charges, oversold and leaked
units, seconds to steady state, and whether each floor of issue 11 holds; the exit
status is 1 when one does not.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import httpx

from chaos import ledger, report, stack
from chaos.shopper import Customer, Shopper

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "chaos" / "experiments"
ADMIN = {"email": "admin@scaleshop.local", "password": "dev-only-admin-password"}
PASSWORD = "chaos-shopper-password"


def matrix() -> list[dict]:
    """Every experiment file, in the order of the matrix (its `scaleshop.order`)."""
    found = [json.loads(path.read_text()) | {"name": path.stem} for path in EXPERIMENTS.glob("*.json")]
    return sorted(found, key=lambda e: e["configuration"]["scaleshop_order"])


def login(client: httpx.Client, email: str, password: str) -> dict:
    response = client.post("/api/users/login", json={"email": email, "password": password})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def register(client: httpx.Client, count: int) -> list[str]:
    emails = [f"chaos-{uuid.uuid4().hex[:10]}@example.com" for _ in range(count)]
    for email in emails:
        client.post("/api/users/register", json={"email": email, "password": PASSWORD, "name": "Chaos shopper"}
                    ).raise_for_status()
    return emails


def new_products(client: httpx.Client, admin: dict, count: int, stock: int) -> list[int]:
    ids = []
    for _ in range(count):
        response = client.post("/api/products", headers=admin, json={
            "name": f"Chaos item {uuid.uuid4().hex[:8]}", "category": "chaos", "price": "9.99", "stock": stock,
            "description": "made by make chaos"})
        response.raise_for_status()
        ids.append(response.json()["id"])
    return ids


def run_one(experiment: dict, args, host: str, emails: list[str], out: Path) -> dict:
    name = experiment["name"]
    directory = out / name
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["CHAOS_STATE_DIR"] = str(directory)
    with httpx.Client(base_url=host, timeout=120) as client:  # argon2 sign-ups and logins: slow on purpose
        admin = login(client, **ADMIN)
        products = new_products(client, admin, 2, args.stock)
        customers = [Customer(email, login(client, email, PASSWORD)) for email in emails]
        browse = [item["id"] for item in client.get("/api/products", params={"limit": 50}).json()["items"]]
    stock_before = {pid: args.stock for pid in products}
    shopper = Shopper(host, customers, products, order_rate=args.order_rate, browse_rate=args.browse_rate,
                      browse_ids=browse)
    print(f"[{name}] shopping: {args.order_rate:g} orders/s, {args.browse_rate:g} reads/s", flush=True)
    shopper.start()
    time.sleep(args.warmup)
    started = time.time()
    journal = directory / "journal.json"
    chaos = subprocess.run(
        [str(Path(sys.executable).parent / "chaos"), "--log-file", str(directory / "chaostoolkit.log"), "run",
         "--journal-path", str(journal), "--rollback-strategy", "always", str(EXPERIMENTS / f"{name}.json")],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}"}, capture_output=True, text=True)
    print(f"[{name}] chaos toolkit exit {chaos.returncode}; shopping on for {args.cooldown:g}s", flush=True)
    time.sleep(args.cooldown)
    tally = shopper.stop()
    window = time.time() - started + args.warmup
    unseen = ledger.unacknowledged(host, customers, tally.accepted, set(products))
    print(f"[{name}] {len(tally.accepted)} orders accepted (+{len({o.order_id for o in unseen})} placed but never "
          "acknowledged to the shopper); waiting for each to end", flush=True)
    seen = ledger.settle(host, [*tally.accepted, *unseen], timeout=args.settle_timeout)
    books = ledger.account(host, tally.accepted, seen, stock_before, unseen)
    return summarise(experiment, tally, books, seen, journal, window, chaos.returncode)


def summarise(experiment: dict, tally, books: ledger.Ledger, seen: dict, journal: Path, window: float,
              exit_code: int) -> dict:
    events = stack.events()
    steady = [e["seconds"] for e in events if e["event"] == "steady"]
    back = [e["at"] for e in events if e["event"] == "back"]
    requests, failures = sum(tally.requests.values()), sum(tally.failures.values())
    # The orders accepted while the component was down (or before): how long after it was back the last one ended.
    ended = [ledger.ended_at(seen.get(o.order_id, {})) for o in tally.accepted if back and o.accepted_at < back[0]]
    settled_after_back = None
    if ended and all(ended):
        settled_after_back = round(max(0.0, max(ended) - back[0]), 1)
    status = json.loads(journal.read_text()).get("status") if journal.exists() else "not run"
    return {
        "name": experiment["name"], "title": experiment["title"],
        "replicated": experiment["configuration"].get("scaleshop_replicated", False),
        "journal_status": status, "chaostoolkit_exit": exit_code,
        "window_seconds": round(window, 1),
        "requests": requests, "failed_requests": failures,
        "failed_share": failures / requests if requests else 0.0,
        "failures_by_endpoint": dict(tally.failures), "errors": dict(tally.errors),
        "sold_out_answers": tally.sold_out, "orders_not_accepted": tally.not_accepted,
        "orders_cut_off": tally.cut_off,
        "seconds_to_steady_state": steady[-1] if steady else None,
        "last_order_settled_after_component_back_s": settled_after_back,
        **{key: value for key, value in asdict(books).items() if key != "last_settled_at"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chaos", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--experiment", default=os.environ.get("EXPERIMENT", ""),
                        help="comma-separated experiment names (default: the whole matrix)")
    parser.add_argument("--order-rate", type=float, default=float(os.environ.get("CHAOS_ORDER_RATE", "2")))
    parser.add_argument("--browse-rate", type=float, default=float(os.environ.get("CHAOS_BROWSE_RATE", "15")))
    parser.add_argument("--warmup", type=float, default=float(os.environ.get("CHAOS_WARMUP", "10")))
    parser.add_argument("--cooldown", type=float, default=float(os.environ.get("CHAOS_COOLDOWN", "20")))
    parser.add_argument("--settle-timeout", type=float, default=float(os.environ.get("CHAOS_SETTLE_TIMEOUT", "180")))
    parser.add_argument("--stock", type=int, default=int(os.environ.get("CHAOS_STOCK", "60")))
    parser.add_argument("--customers", type=int, default=int(os.environ.get("CHAOS_CUSTOMERS", "6")))
    parser.add_argument("--out", default=os.environ.get("CHAOS_OUT", ""))
    args = parser.parse_args(argv)
    chosen = [e for e in matrix() if not args.experiment or e["name"] in args.experiment.split(",")]
    if not chosen:
        raise SystemExit(f"no experiment {args.experiment!r}; known: {', '.join(e['name'] for e in matrix())}")
    out = Path(args.out or ROOT / "reports" / "chaos" / datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S"))
    out.mkdir(parents=True, exist_ok=True)
    host = stack.host()
    with httpx.Client(base_url=host, timeout=120) as client:  # argon2 sign-ups and logins: slow on purpose
        emails = register(client, args.customers)
        admin = login(client, **ADMIN)
        probe_product = new_products(client, admin, 1, 1_000_000)[0]
        probe_email = register(client, 1)[0]
    os.environ.update({"CHAOS_PROBE_EMAIL": probe_email, "CHAOS_PROBE_PASSWORD": PASSWORD,
                       "CHAOS_PROBE_PRODUCT": str(probe_product), "CHAOS_HOST": host})
    results = []
    for experiment in chosen:
        results.append(run_one(experiment, args, host, emails, out))
        report.write(out, results, vars(args))
    verdicts = report.write(out, results, vars(args))
    print(f"report: {out / 'report.md'}")
    return 0 if all(verdicts.values()) else 1
