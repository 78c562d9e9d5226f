"""Disaster-recovery drill (seed: "Disaster Recovery & Backup", RPO and RTO): lose the orders
database's disk under a stream of orders, restore it from pgBackRest, measure what was lost and
how long the shop could not take orders, and where that time went.

    python -m drills.dr [--warmup 60] [--orderers 4]      (make dr-drill)

1. Customers place orders continuously through nginx (`--orderers` loops, one order after the
   other each); every acknowledged (201) order is noted.
2. After the warm-up the orders database dies (SIGKILL) and its data directory is wiped: the
   disk is gone. Orders now fail with 503 naming orders-db.
3. Restore: `backups.cli restore orders` in the backup container (the newest backup plus every
   archived WAL segment, to the end of the archive), then the database is started: it replays
   the archived WAL (fetched by pgBackRest's restore_command) and promotes.
4. Healthy = the database answers its health check and a new order is acknowledged again.

RPO (data lost): acknowledged orders missing after the restore, and how many seconds of orders
that is (destruction minus the acknowledgement of the oldest missing order). WAL archiving
closes a segment at least every archive_timeout, so what is lost is what was committed after
the last archived segment: the report gives that segment's age at the destruction.
RTO (downtime): destruction to healthy, split into its parts (the profile): copying the backup
back, replaying the WAL archived since that backup (how many segments), the health check
noticing, the services reconnecting. Orders placed before the destruction belong to one
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
from contextlib import closing
from pathlib import Path

import httpx
import psycopg2

from backups.schedule import segment_position
from drills.stack import Stack, libpq_dsn, report_dir
from drills.traffic import Event, Loop, admin_headers
from orders.shard_keys import bucket_of

DATABASE = "orders-db"
PGDATA_TARGET = "/var/lib/postgresql/data"
PASSWORD = "correct horse battery"


def customer(client: httpx.Client, tag: str) -> dict:
    email = f"drill-{tag}-{uuid.uuid4().hex[:8]}@example.com"
    profile = client.post("/api/users/register", json={"email": email, "password": PASSWORD, "name": "Drill"})
    profile.raise_for_status()
    token = client.post("/api/users/login", json={"email": email, "password": PASSWORD}).json()["access_token"]
    return {"id": profile.json()["id"], "headers": {"Authorization": f"Bearer {token}"}}


def orderer(base_url: str, product_id: int, buyer: dict, number: int) -> Loop:
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

    return Loop(f"orderer-{number}", call, base_url, pause=0.1)


def orders_dsn(stack: Stack) -> str:
    """orders-db itself (the migrations' direct URL), not the pooler the services use."""
    return libpq_dsn(stack.env("orders-migrate")["DATABASE_URL"], connect_timeout="5")


def on_shard_zero(stack: Stack, user_id: int) -> bool:
    """Orders are sharded by user (orders.shards): the drill's customers must live on orders-db, shard 0."""
    with psycopg2.connect(orders_dsn(stack)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT shard FROM shard_buckets WHERE bucket = %s", (bucket_of(user_id),))
        row = cursor.fetchone()
    return row is None or row[0] == 0


def archive_state(stack: Stack) -> dict:
    """What the archive holds at this moment: the last WAL segment archived and when, against the
    segment being written now (everything after the last archived one is lost with the disk)."""
    with psycopg2.connect(orders_dsn(stack)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT last_archived_wal, extract(epoch FROM last_archived_time), failed_count, "
                       "pg_walfile_name(pg_current_wal_lsn()) FROM pg_stat_archiver")
        last, at, failed, current = cursor.fetchone()
    return {"last_archived_wal": last, "last_archived_at": float(at) if at else None,
            "archive_failures": failed, "current_wal": current}


def destroy(stack: Stack) -> Path:
    """Kill the database at once, keep it down, wipe its data directory (the volume itself stays)."""
    service = stack.plan[DATABASE]
    pgdata = next(m.native_path for m in service.mounts if m.target == PGDATA_TARGET)
    stack.kill_and_keep_down(DATABASE)
    for child in pgdata.iterdir():
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    return pgdata


def surviving(stack: Stack, user_id: int, ids: list[int]) -> set[int]:
    with psycopg2.connect(orders_dsn(stack)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id FROM orders WHERE user_id = %s AND id = ANY(%s)", (user_id, ids))
        return {row[0] for row in cursor.fetchall()}


def repository(stack: Stack) -> dict:
    """The orders stanza as `pgbackrest info` sees it: its backups and its WAL archive."""
    out = subprocess.run([sys.executable, "-m", "stackctl", "exec", "backup", "--", "pgbackrest", "--stanza=orders",
                          "info", "--output=json"], capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]


def replayed_segments(log: str) -> int:
    """WAL segments the database fetched from the archive while it recovered (its log since the start)."""
    return len({line.split('"')[1] for line in log.splitlines()
                if 'LOG:  restored log file "' in line and not line.split('"')[1].endswith(".history")})


def wait_until_writable(stack: Stack, timeout: float = 600) -> float:
    """When the database left recovery (promoted): it accepts connections, read-only, before that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with closing(psycopg2.connect(orders_dsn(stack))) as connection, connection.cursor() as cursor:
                cursor.execute("SELECT pg_is_in_recovery()")
                if not cursor.fetchone()[0]:
                    return time.time()
        except psycopg2.OperationalError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"orders-db still in recovery after {timeout:.0f}s")


def run(warmup: float, orderers: int) -> dict:
    stack = Stack()
    base = stack.nginx
    if not repository(stack).get("backup"):
        raise SystemExit("orders has no backup yet: wait for the backup container's first one (make backup-info)")
    with httpx.Client(base_url=base, timeout=30) as client:
        product = client.post("/api/products", headers=admin_headers(base), json={
            "name": f"DR drill item {uuid.uuid4().hex[:8]}", "category": "drill", "price": "2.00", "stock": 1_000_000})
        product.raise_for_status()
        before, after = (next(c for c in iter(lambda: customer(client, tag), None) if on_shard_zero(stack, c["id"]))
                         for tag in ("before", "after"))
    buyer = {"current": before}
    loops = [orderer(base, product.json()["id"], buyer, number).start() for number in range(orderers)]
    started = time.time()
    timeline = [("orders start", started)]
    time.sleep(warmup)

    archive = archive_state(stack)
    destroyed_at = time.time()
    buyer["current"] = after
    destroy(stack)
    archive["age_seconds"] = round(destroyed_at - (archive["last_archived_at"] or destroyed_at), 1)
    timeline.append(("orders-db killed and its data directory wiped", destroyed_at))
    restore = subprocess.run([sys.executable, "-m", "stackctl", "exec", "backup", "--", "python", "-m", "backups.cli",
                              "restore", "orders"], capture_output=True, text=True)
    if restore.returncode != 0:
        raise SystemExit(f"restore failed: {restore.stdout}{restore.stderr}")
    restored_at = time.time()
    timeline.append(("backup copied back (pgbackrest restore)", restored_at))
    log = stack.settings.logs_dir / f"{DATABASE}.log"
    log_offset = log.stat().st_size
    stack.start(DATABASE)
    timeline.append(("orders-db passes its health check (accepts connections; read-only while it replays)",
                     time.time()))
    writable_at = wait_until_writable(stack)
    timeline.append(("orders-db open for writes (archived WAL replayed, promoted)", writable_at))

    def acknowledged_again() -> Event | None:
        return next((e for loop in loops for e in loop.succeeded if e.at > writable_at), None)

    deadline = time.monotonic() + 300
    while not acknowledged_again():
        if time.monotonic() > deadline:
            raise SystemExit("no order acknowledged within 5 minutes of the restore")
        time.sleep(0.1)
    back_at = min(e.at for loop in loops for e in loop.succeeded if e.at > writable_at)
    timeline.append(("an order is acknowledged again", back_at))
    time.sleep(2)
    for loop in loops:
        loop.stop()
    with log.open(errors="replace") as handle:
        handle.seek(log_offset)
        replayed = replayed_segments(handle.read())
    # The backup the restore started from: the newest one before the destruction (the scheduler may
    # have taken it during the warm-up; none can succeed while orders-db is down).
    backup = [b for b in repository(stack)["backup"] if b["timestamp"]["stop"] < destroyed_at][-1]

    acknowledged = [e for loop in loops for e in loop.succeeded if e.value["user"] == before["id"]]
    kept = surviving(stack, before["id"], [e.value["id"] for e in acknowledged])
    lost = [e for e in acknowledged if e.value["id"] not in kept]
    last_kept = max((e.at for e in acknowledged if e.value["id"] in kept), default=None)
    rpo_seconds = destroyed_at - min(e.at for e in lost) if lost else 0.0
    if lost:
        timeline.append(("oldest acknowledged order that was lost", min(e.at for e in lost)))
    if last_kept:
        timeline.append(("newest acknowledged order that survived", last_kept))
    if archive["last_archived_at"]:
        timeline.append((f"last WAL segment archived before the destruction ({archive['last_archived_wal']})",
                         archive["last_archived_at"]))
    failures: dict[str, int] = {}
    for loop in loops:
        for kind, count in loop.failures_by_kind().items():
            failures[kind] = failures.get(kind, 0) + count
    return {
        "database": DATABASE,
        "backup_restored_from": {"label": backup.get("label"), "type": backup.get("type"),
                                 "age_seconds": round(destroyed_at - backup.get("timestamp", {}).get("stop", 0))},
        "wal_segments_since_backup": segment_position(archive["current_wal"])
        - segment_position(backup["archive"]["stop"]),
        "archive_at_destruction": archive,
        "orderers": orderers,
        "orders_acknowledged_before_destruction": len(acknowledged),
        "orders_per_second": round(len(acknowledged) / (destroyed_at - started), 2),
        "orders_lost": len(lost),
        "rpo_seconds": round(rpo_seconds, 2),
        "rto_seconds": round(back_at - destroyed_at, 2),
        "rto_parts": {
            "restore_backup": round(restored_at - destroyed_at, 2),
            "start_replay_wal_promote": round(writable_at - restored_at, 2),
            "services_reconnect": round(back_at - writable_at, 2),
        },
        "wal_segments_replayed": replayed,
        "failed_orders_during_outage": failures,
        "timeline": [(what, round(at - destroyed_at, 2)) for what, at in sorted(timeline, key=lambda item: item[1])],
    }


def markdown(result: dict) -> str:
    backup, archive, parts = result["backup_restored_from"], result["archive_at_destruction"], result["rto_parts"]
    lines = ["# DR drill: the orders database's disk is lost", "",
             f"Restored from {backup['type']} backup {backup['label']} ({backup['age_seconds']} s old at the "
             f"destruction) plus {result['wal_segments_replayed']} archived WAL segments "
             f"({result['wal_segments_since_backup']} written since that backup). {result['orderers']} customers "
             f"ordered {result['orders_per_second']} orders/s.", "",
             "| measure | value | floor |", "|---|---|---|",
             f"| RPO: acknowledged orders lost | {result['orders_lost']} of "
             f"{result['orders_acknowledged_before_destruction']} | - |",
             f"| RPO: seconds of orders lost | {result['rpo_seconds']} s | <= 60 s |",
             f"| RTO: destruction to healthy (an order acknowledged again) | {result['rto_seconds']} s | <= 120 s |",
             f"| orders refused meanwhile | {result['failed_orders_during_outage']} | 503 naming orders-db |", "",
             "## Where the RTO went", "",
             "| part | seconds |", "|---|---|",
             f"| copy the backup back (`pgbackrest restore`) | {parts['restore_backup']} |",
             f"| start, replay {result['wal_segments_replayed']} archived WAL segments, promote | "
             f"{parts['start_replay_wal_promote']} |",
             f"| the orders service reconnects, an order is acknowledged | {parts['services_reconnect']} |", "",
             f"At the destruction the last archived WAL segment was {archive.get('last_archived_wal')} "
             f"({archive.get('age_seconds')} s old); the server was writing {archive.get('current_wal')} "
             f"({archive.get('archive_failures')} archive failures so far).", "",
             "## Timeline (seconds from the destruction)", ""]
    lines += [f"- {at:+.2f} s: {what}" for what, at in result["timeline"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds of orders before the destruction")
    parser.add_argument("--orderers", type=int, default=4, help="customers ordering at once, one order after another")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args()
    result = run(args.warmup, args.orderers)
    folder = report_dir("dr", "orders")
    (folder / "report.json").write_text(json.dumps(result, indent=2))
    (folder / "report.md").write_text(markdown(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    sys.stdout.write(markdown(result) + f"\nreport: {folder}/report.md\n")


if __name__ == "__main__":
    main()
