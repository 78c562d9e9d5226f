"""Failover drill: products-db's primary fails under a writer and a reader through nginx.

    python -m drills.failover --mode crash|stop|kill|switchover [--json FILE]
    (make failover-drill MODE=crash; the live test tests/ha/test_failover.py runs it too)

Modes, what happens to the primary's node:
    crash       agent and Postgres SIGKILLed at once, node stays down (a lost machine): the
                leader lock expires after Patroni's ttl and the replica is promoted
    stop        `make stop`: the agent stops Postgres cleanly and hands the lock over
    kill        `make kill`: only Postgres dies; the agent decides (restart in place or fail over)
    switchover  `make failover`: a planned switchover to the replica
Then the old primary's node is started again (crash, stop) and must rejoin as a replica of the
new primary, on its timeline (pg_rewind when it had diverged).

Measured (floors: README "High availability"): write unavailability (the longest time between two
acknowledged writes), failed writes and what they said (503 naming products-db), failed reads,
acknowledged writes missing from the new primary (must be 0), time for the old primary to rejoin.
"""

import argparse
import json
import sys
import time

import psycopg2

from drills.stack import PATRONI_NODES, Stack, leader_of, libpq_dsn, patroni_cluster, report_dir
from drills.traffic import admin_headers, product_reader, product_writer

WARMUP_SECONDS = 3.0
SETTLE_SECONDS = 3.0
RECOVERY_TIMEOUT = 120.0


def wait_until(probe, what: str, timeout: float = RECOVERY_TIMEOUT, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def cause(stack: Stack, mode: str, old: str, other: str) -> None:
    if mode == "crash":
        stack.crash(old)
    elif mode == "stop":
        stack.stop(old)
    elif mode == "kill":
        stack.kill(old)
    elif mode == "switchover":
        status = stack.exec(old, ["patronictl", "-c", "/etc/patroni/patroni.yml", "switchover",
                                  "--leader", old, "--candidate", other, "--force"])
        if status != 0:
            raise SystemExit(f"patronictl switchover failed ({status})")


def rejoined(stack: Stack, node: str) -> dict | None:
    """The node's member entry once it streams from the leader on the leader's timeline."""
    cluster = patroni_cluster(stack)
    leader = leader_of(cluster)
    member = next((m for m in cluster.get("members", []) if m["name"] == node), None)
    if leader and member and member["name"] != leader["name"] and member.get("state") in ("streaming", "running") \
            and member.get("timeline") == leader.get("timeline"):
        return member
    return None


def missing_writes(stack: Stack, ids: list[int]) -> list[int]:
    """Acknowledged product ids the (new) primary does not have."""
    dsn = libpq_dsn(stack.env("products-1")["DATABASE_URL"], target_session_attrs="read-write", connect_timeout="5")
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id FROM products WHERE id = ANY(%s)", (ids,))
        present = {row[0] for row in cursor.fetchall()}
    return [product_id for product_id in ids if product_id not in present]


def run(mode: str) -> dict:
    stack = Stack()
    before = patroni_cluster(stack)
    old_leader = leader_of(before)
    if old_leader is None:
        raise SystemExit("products-db has no leader now: nothing to fail over")
    old = old_leader["name"]
    other = next(node for node in PATRONI_NODES if node != old)
    headers = admin_headers(stack.nginx)
    writer = product_writer(stack.nginx, headers, tag=mode).start()
    reader = product_reader(stack.nginx).start()
    timeline = [("traffic started", time.time())]
    time.sleep(WARMUP_SECONDS)

    log_mark = len(stack.log(old))
    fault_at = time.time()
    timeline.append((f"{mode} of {old} (primary)", fault_at))
    cause(stack, mode, old, other)

    def new_leader():
        leader = leader_of(patroni_cluster(stack))
        return leader if leader and (leader["name"] != old or mode == "kill") and \
            leader.get("timeline", 0) >= old_leader.get("timeline", 0) else None

    leader = wait_until(new_leader, "a leader")
    timeline.append((f"{leader['name']} leads", time.time()))
    wait_until(lambda: writer.events[-1].ok and writer.events[-1].at > time.time() - 1, "writes to succeed again")
    first_failure = next((e.at for e in writer.failed if e.at > fault_at), None)
    if first_failure:
        timeline.append(("first failed write", first_failure))
        timeline.append(("writes succeed again", next(e.at for e in writer.succeeded if e.at > first_failure)))
    time.sleep(SETTLE_SECONDS)
    writer.stop()
    reader.stop()
    timeline.append(("traffic stopped", time.time()))

    if mode in ("crash", "stop"):
        started = time.time()
        stack.start(old)
        timeline.append((f"{old} started again", started))
    wait_until(lambda: rejoined(stack, old) if leader["name"] != old else True, f"{old} to rejoin as a replica")
    rejoin_at = time.time()
    timeline.append((f"{old} rejoined as a replica" if leader["name"] != old else f"{old} restarted in place",
                     rejoin_at))

    acknowledged = [event.value["id"] for event in writer.succeeded]
    gap, gap_from, gap_to = writer.longest_gap(after=fault_at)
    failed_writes = writer.failed
    return {
        "mode": mode,
        "old_primary": old,
        "new_primary": leader["name"],
        "timeline_before": old_leader.get("timeline"),
        "timeline_after": leader_of(patroni_cluster(stack)).get("timeline"),
        "write_unavailability_seconds": round(gap, 2),
        "write_unavailability_window": [round(gap_from - fault_at, 2), round(gap_to - fault_at, 2)],
        "writes_acknowledged": len(acknowledged),
        "writes_failed": len(failed_writes),
        "write_failures": writer.failures_by_kind(),
        "failed_writes_named_products_db": all(e.status == 503 and e.detail == "products-db" for e in failed_writes),
        "writes_lost": missing_writes(stack, acknowledged),
        "reads": len(reader.events),
        "reads_failed": len(reader.failed),
        "read_failures": reader.failures_by_kind(),
        "rejoin_seconds": round(rejoin_at - fault_at, 2),
        "pg_rewind_ran": "running pg_rewind" in stack.log(old)[log_mark:],
        "timeline": [(what, round(at - fault_at, 2)) for what, at in sorted(timeline, key=lambda item: item[1])],
    }


def markdown(result: dict) -> str:
    lines = [f"# Failover drill: {result['mode']} of the products-db primary", "",
             f"{result['old_primary']} (timeline {result['timeline_before']}) -> {result['new_primary']} "
             f"(timeline {result['timeline_after']})", "",
             "| measure | value | floor |", "|---|---|---|",
             f"| write unavailability | {result['write_unavailability_seconds']} s | <= 30 s |",
             f"| acknowledged writes lost | {len(result['writes_lost'])} of {result['writes_acknowledged']} | 0 |",
             f"| failed reads | {result['reads_failed']} of {result['reads']} | 0 |",
             f"| failed writes (during the window) | {result['writes_failed']}: {result['write_failures']} | 503 naming products-db |",
             f"| old primary back as a replica | {result['rejoin_seconds']} s after the fault | rejoins |", "",
             "## Timeline (seconds from the fault)", ""]
    lines += [f"- {at:+.2f} s: {what}" for what, at in result["timeline"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["crash", "stop", "kill", "switchover"], default="crash")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args()
    result = run(args.mode)
    folder = report_dir("failover", args.mode)
    (folder / "report.json").write_text(json.dumps(result, indent=2))
    (folder / "report.md").write_text(markdown(result))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)
    sys.stdout.write(markdown(result) + f"\nreport: {folder}/report.md\n")


if __name__ == "__main__":
    main()
