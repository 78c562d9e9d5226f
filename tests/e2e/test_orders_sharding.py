"""Orders sharded by user behind a directory (src/orders/shards.py, seed "Database Sharding Pattern"),
on the live test stack: routing, the one scatter-gather, and online resharding under shoppers
(the same drill as `make reshard`, drills/reshard.py).

Read from the shards themselves (direct connections, as the migrations make them), so a router
that put an order on the wrong shard, or a move that lost or doubled one, fails here.
"""

import json
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from checkout_support import ADMIN, login, new_product, new_user, place

from orders.shard_keys import bucket_of

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]


def shard_dsns(stack) -> list[str]:
    return [url.replace("postgresql+asyncpg://", "postgresql://")  # a libpq URI
            for url in stack.plan()["orders-shards"]["env"]["ORDERS_SHARD_URLS"].split(",")]


def query(dsn: str, sql: str, *args) -> list[tuple]:
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchall()


def test_each_customer_s_orders_live_on_the_shard_the_directory_names(stack):
    dsns = shard_dsns(stack)
    directory = dict(query(dsns[0], "SELECT bucket, shard FROM shard_buckets"))
    assert len(directory) == 64 and set(directory.values()) <= {0, 1, 2}
    with stack.client() as client:
        product = new_product(client, price="2.00", stock=1000)
        placed = {}
        for _ in range(8):
            user = new_user(client)
            response = place(client, user, [(product["id"], 1)])
            assert response.status_code == 201, response.text
            placed[response.json()["id"]] = user
            listed = client.get("/api/orders", headers=user["headers"]).json()["items"]
            assert [order["id"] for order in listed] == [response.json()["id"]]  # read from one shard
    shards_used = set()
    for order_id, user in placed.items():
        holders = [shard for shard, dsn in enumerate(dsns)
                   if query(dsn, "SELECT bucket FROM orders WHERE id = %s", order_id)]
        shard = directory[bucket_of(user["id"])]
        assert holders == [shard], f"order {order_id} of user {user['id']} on {holders}, directory says {shard}"
        # The database's bucket (a generated column) is the router's: one hash on both sides.
        (bucket,), = query(dsns[shard], "SELECT bucket FROM orders WHERE id = %s", order_id)
        assert bucket == bucket_of(user["id"])
        shards_used.add(shard)
    # Order ids are unique across shards: each shard's sequence keeps its own residue mod 16.
    assert all((order_id - 1) % 16 in (0, 1, 2) for order_id in placed)
    assert {(order_id - 1) % 16 for order_id in placed} == shards_used


def test_the_admin_listing_gathers_every_shard_and_shows_its_cost(stack):
    with stack.client() as client:
        admin = login(client, ADMIN["email"], ADMIN["password"])
        answer = client.get("/api/orders/admin/recent", headers=admin, params={"limit": 10})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["shards_queried"] == 3 and len(body["shard_ms"]) == 3 and body["total_ms"] > 0
        stamps = [order["created_at"] for order in body["items"]]
        assert stamps == sorted(stamps, reverse=True) and len(body["items"]) <= 10
        customer = new_user(client)
        assert client.get("/api/orders/admin/recent", headers=customer["headers"]).status_code == 403


def test_resharding_under_shoppers_loses_duplicates_and_fails_nothing(stack, tmp_path):
    out = tmp_path / "reshard.json"
    env = {**stack.env, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    subprocess.run([sys.executable, "-m", "drills.reshard", "--buckets", "6", "--customers", "16", "--rate", "10",
                    "--json", str(out)], env=env, cwd=ROOT, check=False, timeout=900)
    result = json.loads(out.read_text())
    summary = {key: result[key] for key in ("buckets_moved", "users_moved", "orders_acknowledged", "requests",
                                            "failed_requests", "failures", "lost", "duplicated", "misplaced",
                                            "rows_left_on_old_shards", "listed_missing", "idempotent_replays",
                                            "longest_pause_ms")}
    print(summary)
    assert result["buckets_moved"] == 6
    assert result["users_moved"] >= 3, "the move took none of the drill's customers: nothing was proven"
    assert result["orders_during_drill"] > 0, "no order was placed while the buckets moved"
    assert result["failed_requests"] == 0, result["failures"]
    assert result["lost"] == 0 and result["duplicated"] == 0 and result["misplaced"] == 0, summary
    assert result["rows_left_on_old_shards"] == 0, "a moved bucket's rows were left on its old shard"
    assert result["listed_missing"] == 0, "a customer's GET /api/orders missed an acknowledged order"
    assert result["idempotent_replays"] == {"same order": 16}, "an Idempotency-Key did not survive the move"
    directory = dict(query(shard_dsns(stack)[0], "SELECT bucket, shard FROM shard_buckets"))
    assert sum(1 for shard in directory.values() if shard == 2) >= 6


def test_order_ids_are_unique_across_every_shard(stack):
    """Each shard's sequence has its own residue and starts past the highest id of any shard
    (orders.resharding.init), so an id names one order wherever its bucket lives or moves."""
    seen: dict[int, int] = {}
    for shard, dsn in enumerate(shard_dsns(stack)):
        for (order_id,) in query(dsn, "SELECT id FROM orders"):
            assert order_id not in seen, f"order id {order_id} on shard {seen[order_id]} and on shard {shard}"
            seen[order_id] = shard
    assert seen, "the suite placed orders before this test"
