"""A zero-downtime schema change, walked through under load (seed "Database Migration":
expand -> migrate -> contract; "Zero-Downtime Deployment").

    python -m drills.schema_change [--batch 500] [--to bigint|integer]      (make schema-change)

The change: `order_items.quantity` from integer to bigint on every orders shard. Every step that
takes a table lock waits at most 300 ms for it and tries again (`with_short_locks`): a DDL statement
waiting for its lock makes every later query on the table queue behind it. Done directly,
`ALTER TABLE order_items ALTER COLUMN quantity TYPE bigint` rewrites the whole table under an
ACCESS EXCLUSIVE lock: every checkout and every order read waits for the rewrite (minutes on a big
table). Expand/contract instead takes that lock only for a rename, milliseconds:

    1. expand    ADD COLUMN quantity_new bigint (nullable, no default: no rewrite), and a trigger
                 that copies quantity into it on every insert and update: from now on every new
                 or changed row is written to both columns, while the code knows only `quantity`
    2. backfill  the existing rows, in batches of --batch (UPDATE ... WHERE id IN (SELECT ... LIMIT
                 n FOR UPDATE SKIP LOCKED)), a short transaction each, progress printed; then
                 CHECK (quantity_new IS NOT NULL) NOT VALID + VALIDATE (no long lock), and the two
                 columns compared row by row
    3. switch    one short transaction (lock_timeout 300 ms, retried): drop the trigger, drop the old
                 column, rename quantity_new to quantity, SET NOT NULL (instant: the validated
                 check proves it). The code's next statement reads and writes the bigint column
                 under the name it always used: the rename is the code switch, no deploy needed.
    4. contract  drop the helper check constraint and trigger function; the old column's space is
                 reclaimed by later vacuums

This is safe behind pgbouncer because the services keep no prepared statement across
transactions (chassis/db.py): a cached plan of `SELECT ... order_items` would otherwise fail with
"cached plan must not change result type" right after the switch.

Meanwhile customers keep ordering (every order writes order_items) and reading their orders
through nginx; the verdict: 0 failed requests, the column's type on every shard, no row lost.
`--to integer` walks the same steps back (for running the walkthrough again).
"""

import argparse
import json
import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg2

from drills.reshard import customer, lister, order, shopper
from drills.stack import Stack, libpq_dsn, report_dir
from drills.traffic import admin_headers

TABLE, COLUMN, HELPER = "order_items", "quantity", "quantity_new"


LOCK_TIMEOUT = "300ms"


def with_short_locks(connection, step, say, what: str, attempts: int = 40) -> float:
    """Run `step(cursor)` in one transaction that waits at most LOCK_TIMEOUT for its table lock, and
    try again if it was not granted. A DDL statement waiting for its lock makes every later query on
    the table wait behind it: the wait must be short, or the shop queues behind the schema change."""
    for attempt in range(1, attempts + 1):
        started = time.perf_counter()
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                step(cursor)
            connection.commit()
            return time.perf_counter() - started
        except psycopg2.errors.LockNotAvailable:
            connection.rollback()
            say(f"  {what}: lock not granted within {LOCK_TIMEOUT} (attempt {attempt}), trying again")
            time.sleep(0.2)
    raise SystemExit(f"{what}: no lock after {attempts} attempts")


def column_type(cursor) -> str:
    cursor.execute("SELECT data_type FROM information_schema.columns WHERE table_name = %s AND column_name = %s",
                   (TABLE, COLUMN))
    return cursor.fetchone()[0]


def expand(cursor, to: str) -> None:
    cursor.execute(f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS {HELPER} {to}")
    cursor.execute(f"""CREATE OR REPLACE FUNCTION {TABLE}_{HELPER}_sync() RETURNS trigger AS $$
                       BEGIN NEW.{HELPER} := NEW.{COLUMN}; RETURN NEW; END $$ LANGUAGE plpgsql""")
    cursor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{HELPER}_sync ON {TABLE}")
    cursor.execute(f"""CREATE TRIGGER {TABLE}_{HELPER}_sync BEFORE INSERT OR UPDATE OF {COLUMN} ON {TABLE}
                       FOR EACH ROW EXECUTE FUNCTION {TABLE}_{HELPER}_sync()""")


def backfill(connection, batch: int, say, shard: int, pause: float = 0.02) -> int:
    """Copy the old column into the new one, `batch` rows per short transaction."""
    done = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(f"""UPDATE {TABLE} SET {HELPER} = {COLUMN} WHERE id IN (
                                 SELECT id FROM {TABLE} WHERE {HELPER} IS NULL ORDER BY id LIMIT %s
                                 FOR UPDATE SKIP LOCKED)""", (batch,))
            changed = cursor.rowcount
        connection.commit()
        if changed == 0:
            return done
        done += changed
        say(f"  shard {shard}: backfilled {done} rows")
        time.sleep(pause)  # leave the database to the shop between batches


def add_check(cursor) -> None:
    cursor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {HELPER}_not_null")
    cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {HELPER}_not_null CHECK ({HELPER} IS NOT NULL) NOT VALID")


def verify(cursor) -> int:
    """Prove quantity_new complete and equal: VALIDATE the NOT NULL check (it scans the table without
    blocking writes), then compare the two columns row by row."""
    cursor.execute(f"ALTER TABLE {TABLE} VALIDATE CONSTRAINT {HELPER}_not_null")
    cursor.execute(f"SELECT count(*) FROM {TABLE} WHERE {HELPER} IS DISTINCT FROM {COLUMN}")
    return cursor.fetchone()[0]


def switch(cursor) -> None:
    """The rename: drop the trigger and the old column, give the new one its name, NOT NULL (instant:
    the validated check proves it)."""
    cursor.execute(f"DROP TRIGGER {TABLE}_{HELPER}_sync ON {TABLE}")
    cursor.execute(f"ALTER TABLE {TABLE} DROP COLUMN {COLUMN}")
    cursor.execute(f"ALTER TABLE {TABLE} RENAME COLUMN {HELPER} TO {COLUMN}")
    cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN {COLUMN} SET NOT NULL")


def contract(cursor) -> None:
    cursor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {HELPER}_not_null")
    cursor.execute(f"DROP FUNCTION IF EXISTS {TABLE}_{HELPER}_sync()")


def change(dsns: list[str], to: str, batch: int, say) -> dict:
    figures = {"rows_backfilled": 0, "mismatches": 0, "switch_ms": [], "already": []}
    connections = [psycopg2.connect(dsn) for dsn in dsns]
    try:
        todo = []
        for shard, connection in enumerate(connections):
            with connection.cursor() as cursor:
                current = column_type(cursor)
            connection.commit()
            (figures["already"] if current == to else todo).append(shard)
        say(f"1. expand: {HELPER} {to} + a trigger writing it with {COLUMN}, on shards {todo}")
        for shard in todo:
            with_short_locks(connections[shard], lambda cursor: expand(cursor, to), say, f"shard {shard} expand")
        say(f"2. backfill in batches of {batch}")
        for shard in todo:
            figures["rows_backfilled"] += backfill(connections[shard], batch, say, shard)
            with_short_locks(connections[shard], add_check, say, f"shard {shard} check")
            with connections[shard].cursor() as cursor:
                mismatches = verify(cursor)
            connections[shard].commit()
            figures["mismatches"] += mismatches
            say(f"  shard {shard}: {HELPER} validated NOT NULL, {mismatches} rows differ from {COLUMN}")
        if figures["mismatches"]:
            raise SystemExit("the backfill left rows that differ: not switching")
        say(f"3. switch: drop the old column, rename the new one to its name (lock_timeout {LOCK_TIMEOUT})")
        for shard in todo:
            held = with_short_locks(connections[shard], switch, say, f"shard {shard} switch")
            figures["switch_ms"].append(round(1000 * held, 1))
            say(f"  shard {shard}: switched in {1000 * held:.0f} ms")
        say("4. contract: drop the helper constraint and trigger function")
        for shard in todo:
            with_short_locks(connections[shard], contract, say, f"shard {shard} contract")
        figures["types"] = []
        for connection in connections:
            with connection.cursor() as cursor:
                figures["types"].append(column_type(cursor))
            connection.commit()
    finally:
        for connection in connections:
            connection.close()
    return figures


def run(stack: Stack, *, to: str, batch: int, customers: int, rate: float, seed_orders: int) -> dict:
    base = stack.nginx
    dsns = [libpq_dsn(url, connect_timeout="5") for url in stack.env("orders-shards")["ORDERS_SHARD_URLS"].split(",")]
    with httpx.Client(base_url=base, timeout=30) as client:
        product = client.post("/api/products", headers=admin_headers(base), json={
            "name": f"schema drill item {uuid.uuid4().hex[:8]}", "category": "drill", "price": "1.50",
            "stock": 1_000_000})
        product.raise_for_status()
        product_id = product.json()["id"]
        people = [customer(client) for _ in range(customers)]
        for number in range(seed_orders):  # rows for the backfill to move
            order(client, people[number % customers], product_id, uuid.uuid4().hex).raise_for_status()
    accepted: list = []
    lock = threading.Lock()
    loops = [shopper(base, people, product_id, accepted, lock, pause=1.0) for _ in range(max(1, round(rate)))]
    loops.append(lister(base, people))
    for number, loop in enumerate(loops):
        loop.name = f"{loop.name}-{number}"  # failures are reported per loop
        loop.start()
    time.sleep(2)
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    started = time.time()
    figures = change(dsns, to, batch, say)
    seconds = time.time() - started
    time.sleep(2)
    for loop in loops:
        loop.stop()
    with httpx.Client(base_url=base, timeout=30) as client:  # every order placed meanwhile reads back whole
        unreadable = 0
        for order_id, user in accepted:
            buyer = next(person for person in people if person["id"] == user)
            answer = client.get(f"/api/orders/{order_id}", headers=buyer["headers"])
            if answer.status_code != 200 or [item["quantity"] for item in answer.json()["items"]] != [1]:
                unreadable += 1
    return {**figures, "to": to, "seconds": round(seconds, 1), "orders_during": len(accepted),
            "requests": sum(len(loop.events) for loop in loops),
            "failed_requests": sum(len(loop.failed) for loop in loops),
            "failures": {loop.name: loop.failures_by_kind() for loop in loops if loop.failed},
            "orders_unreadable": unreadable, "log": lines}


def main() -> None:
    parser = argparse.ArgumentParser(prog="drills.schema_change", description=__doc__.split("\n\n")[0])
    parser.add_argument("--to", choices=("bigint", "integer"), default="bigint")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--customers", type=int, default=8)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--seed-orders", type=int, default=40)
    parser.add_argument("--json", help="also write the result here (tests/e2e/test_schema_change.py)")
    args = parser.parse_args()
    result = run(Stack(), to=args.to, batch=args.batch, customers=args.customers, rate=args.rate,
                 seed_orders=args.seed_orders)
    directory = report_dir("schema-change", f"to-{args.to}")
    (directory / "report.json").write_text(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result))
    print(json.dumps({k: v for k, v in result.items() if k != "log"}, indent=2))
    print(f"report: {directory / 'report.json'}")
    ok = result["failed_requests"] == 0 and result["orders_unreadable"] == 0 and set(result["types"]) == {args.to}
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
