"""Disaster-recovery drill (seed: "Disaster Recovery & Backup", RPO and RTO): lose the orders
database's disk under a stream of orders, restore it from pgBackRest, measure what was lost and
how long the shop could not take orders.

    python -m drills.dr [--warmup 30]      (make dr-drill)

1. A customer places orders continuously through nginx; every acknowledged (201) order is noted.
2. After the warm-up the orders database dies (SIGKILL) and its data directory is wiped: the
   disk is gone. Orders now fail with 503 naming orders-db.
3. Restore: `backups.cli restore orders` in the backup container (the newest backup plus every
   archived WAL segment, to the end of the archive), then the database is started again.
4. Healthy = the database answers its health check and a new order is acknowledged again.

RPO (data lost): acknowledged orders missing after the restore, and how many seconds of orders
that is (destruction minus the acknowledgement of the oldest missing order). WAL archiving
closes a segment at least every archive_timeout (15 s), so at most ~15 s of commits can be lost.
RTO (downtime): destruction to healthy. Orders placed before the destruction belong to one
customer, after it to another, so an order id reused by the restored sequence is never mistaken
for a survivor.
"""

import argparse
import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg2

from drills.stack import Stack, libpq_dsn, report_dir
from drills.traffic import Event, Loop, admin_headers

DATABASE = "orders-db"
PGDATA_TARGET = "/var/lib/postgresql/data"
PASSWORD = "correct horse battery"


def customer(client: httpx.Client, tag: str) -> dict:
    email = f"drill-{tag}-{uuid.uuid4().hex[:8]}@example.com"
    profile = client.post("/api/users/register", json={"email": email, "password": PASSWORD, "name": "Drill"})
    profile.raise_for_status()
    token = client.post("/api/users/login", json={"email": email, "password": PASSWORD}).json()["access_token"]
    return {"id": profile.json()["id"], "headers": {"Authorization": f"Bearer {token}"}}


def orderer(base_url: str, product_id: int, buyer: dict) -> Loop:
    """Places one order after another for `buyer["current"]` (switchable while running)."""

    def call(client: httpx.Client) -> Event:
        who = buyer["current"]
        answer = client.post("/api/orders", headers={**who["headers"], "Idempotency-Key": uuid.uuid4().hex},
                             json={"items": [{"product_id": product_id, "quantity": 1}]})
        if answer.status_code == 201:
            return Event(time.time(), True, 201, value={"id": answer.json()["id"], "user": who["id"]})
        try:
            detail = answer.json().get("database") or answer.json().get("detail", "")
        except ValueError:
            detail = answer.text[:60]
        return Event(time.time(), False, answer.status_code, str(detail)[:60])

    return Loop("orderer", call, base_url, pause=0.1)


def destroy(stack: Stack) -> Path:
    """Kill the database at once, keep it down, wipe its data directory (the volume itself stays)."""
    service = stack.plan[DATABASE]
    pgdata = next(m.native_path for m in service.mounts if m.target == PGDATA_TARGET)
    stack.kill_and_keep_down(DATABASE)
    for child in pgdata.iterdir():
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    return pgdata


def surviving(stack: Stack, user_id: int, ids: list[int]) -> set[int]:
    dsn = libpq_dsn(stack.env("orders-1")["DATABASE_URL"], connect_timeout="5")
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id FROM orders WHERE user_id = %s AND id = ANY(%s)", (user_id, ids))
        return {row[0] for row in cursor.fetchall()}


def newest_backup(stack: Stack) -> dict:
    out = subprocess.run([sys.executable, "-m", "stackctl", "exec", "backup", "--", "pgbackrest", "--stanza=orders",
                          "info", "--output=json"], capture_output=True, text=True, check=True).stdout
    backups = json.loads(out)[0].get("backup", [])
    return backups[-1] if backups else {}


def run(warmup: float) -> dict:
    stack = Stack()
    base = stack.nginx
    backup = newest_backup(stack)
    if not backup:
        raise SystemExit("orders has no backup yet: wait for the backup container's first one (make backup-info)")
    with httpx.Client(base_url=base, timeout=30) as client:
        product = client.post("/api/products", headers=admin_headers(base), json={
            "name": f"DR drill item {uuid.uuid4().hex[:8]}", "category": "drill", "price": "2.00", "stock": 1_000_000})
        product.raise_for_status()
        before, after = customer(client, "before"), customer(client, "after")
    buyer = {"current": before}
    orders = orderer(base, product.json()["id"], buyer).start()
    timeline = [("orders start", time.time())]
    time.sleep(warmup)

    destroyed_at = time.time()
    buyer["current"] = after
    destroy(stack)
    timeline.append(("orders-db killed and its data directory wiped", destroyed_at))
    restore = subprocess.run([sys.executable, "-m", "stackctl", "exec", "backup", "--", "python", "-m", "backups.cli",
                              "restore", "orders"], capture_output=True, text=True)
    if restore.returncode != 0:
        raise SystemExit(f"restore failed: {restore.stdout}{restore.stderr}")
    timeline.append(("restored from the repository (backup + archived WAL)", time.time()))
    stack.start(DATABASE)
    timeline.append(("orders-db healthy (recovered to the end of the archive, promoted)", time.time()))
    deadline = time.monotonic() + 300
    while not any(e.at > timeline[-1][1] for e in orders.succeeded):
        if time.monotonic() > deadline:
            raise SystemExit("no order acknowledged within 5 minutes of the restore")
        time.sleep(0.1)
    healthy_at = next(e.at for e in orders.succeeded if e.at > timeline[-1][1])
    timeline.append(("an order is acknowledged again", healthy_at))
    time.sleep(2)
    orders.stop()

    acknowledged = [e for e in orders.succeeded if e.value["user"] == before["id"]]
    kept = surviving(stack, before["id"], [e.value["id"] for e in acknowledged])
    lost = [e for e in acknowledged if e.value["id"] not in kept]
    last_kept = max((e.at for e in acknowledged if e.value["id"] in kept), default=destroyed_at)
    rpo_seconds = destroyed_at - min(e.at for e in lost) if lost else 0.0
    if lost:
        timeline.append(("oldest acknowledged order that was lost", min(e.at for e in lost)))
    timeline.append(("newest acknowledged order that survived", last_kept))
    failures = orders.failures_by_kind()
    return {
        "database": DATABASE,
        "backup_restored_from": {"label": backup.get("label"), "type": backup.get("type"),
                                 "age_seconds": round(destroyed_at - backup.get("timestamp", {}).get("stop", 0))},
        "orders_acknowledged_before_destruction": len(acknowledged),
        "orders_lost": len(lost),
        "rpo_seconds": round(rpo_seconds, 2),
        "rto_seconds": round(healthy_at - destroyed_at, 2),
        "failed_orders_during_outage": failures,
        "timeline": [(what, round(at - destroyed_at, 2)) for what, at in sorted(timeline, key=lambda item: item[1])],
    }


def markdown(result: dict) -> str:
    backup = result["backup_restored_from"]
    lines = ["# DR drill: the orders database's disk is lost", "",
             f"Restored from {backup['type']} backup {backup['label']} ({backup['age_seconds']} s old at the "
             "destruction) plus the archived WAL.", "",
             "| measure | value | floor |", "|---|---|---|",
             f"| RPO: acknowledged orders lost | {result['orders_lost']} of "
             f"{result['orders_acknowledged_before_destruction']} | - |",
             f"| RPO: seconds of orders lost | {result['rpo_seconds']} s | <= 60 s |",
             f"| RTO: destruction to healthy (an order acknowledged again) | {result['rto_seconds']} s | <= 120 s |",
             f"| orders refused meanwhile | {result['failed_orders_during_outage']} | 503 naming orders-db |", "",
             "## Timeline (seconds from the destruction)", ""]
    lines += [f"- {at:+.2f} s: {what}" for what, at in result["timeline"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds of orders before the destruction")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args()
    result = run(args.warmup)
    folder = report_dir("dr", "orders")
    (folder / "report.json").write_text(json.dumps(result, indent=2))
    (folder / "report.md").write_text(markdown(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    sys.stdout.write(markdown(result) + f"\nreport: {folder}/report.md\n")


if __name__ == "__main__":
    main()
