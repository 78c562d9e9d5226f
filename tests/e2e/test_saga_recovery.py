"""Saga recovery on the live stack: orders whose task the broker lost (written straight into the
orders database, old enough to be past the step deadline) are re-driven by the beat reconciler,
charged at most once, and timed out with compensation after their bounded re-drives."""

import uuid
from decimal import Decimal

import asyncpg
import httpx
import pytest

from checkout_support import new_user, wait_for

from orders.shard_keys import bucket_of

pytestmark = pytest.mark.stack

RECOVERY_WAIT = 45.0  # beat every 5 s + deadline already passed + a charge: seconds, on a busy box


def dsn(stack, service: str) -> str:
    """The service's database itself (the migrations' URL), not the pooler the replicas go through."""
    return stack.plan()[f"{service}-migrate"]["env"]["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")


async def orders_shard_dsn(stack, user_id: int) -> str:
    """The orders shard that holds this customer (the directory on shard 0, orders.shards): the only
    shard whose reconciler may act on the customer's orders, and the one their reads go to."""
    urls = [url.replace("postgresql+asyncpg://", "postgresql://")
            for url in stack.plan()["orders-shards"]["env"]["ORDERS_SHARD_URLS"].split(",")]
    connection = await asyncpg.connect(urls[0])
    try:
        return urls[await connection.fetchval("SELECT shard FROM shard_buckets WHERE bucket = $1", bucket_of(user_id))]
    finally:
        await connection.close()


async def stuck_order(stack, user_id: int, status: str, attempts: int = 0, total: str = "12.00") -> int:
    """An order that has waited a minute in `status`: its task was lost (e.g. a broker crash)."""
    connection = await asyncpg.connect(await orders_shard_dsn(stack, user_id))
    try:
        return await connection.fetchval(
            "INSERT INTO orders (user_id, order_ref, status, total, recovery_attempts, created_at, updated_at) "
            "VALUES ($1, $2, $3, $4, $5, now() - interval '1 minute', now() - interval '1 minute') RETURNING id",
            user_id, f"lost-{uuid.uuid4().hex}", status, Decimal(total), attempts)
    finally:
        await connection.close()


async def charges_of(stack, order_id: int) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn(stack, "payments"))
    try:
        return await connection.fetch("SELECT status FROM charges WHERE order_id = $1", order_id)
    finally:
        await connection.close()


def status_of(client, user, order_id: int) -> dict:
    return client.get(f"/api/orders/{order_id}", headers=user["headers"]).json()


async def test_a_pending_order_whose_task_was_lost_is_redriven_and_charged_once(stack):
    with httpx.Client(base_url=stack.nginx, timeout=60) as client:  # argon2 sign-up on a busy machine
        user = new_user(client)
        order_id = await stuck_order(stack, user["id"], "PENDING")
        order = wait_for(lambda: (o := status_of(client, user, order_id))["status"] == "CONFIRMED" and o,
                         f"order {order_id} to be re-driven to CONFIRMED", timeout=RECOVERY_WAIT)
    assert order["status"] == "CONFIRMED"
    assert [row["status"] for row in await charges_of(stack, order_id)] == ["charged"]


async def test_a_paid_order_left_unconfirmed_is_confirmed(stack):
    with httpx.Client(base_url=stack.nginx, timeout=60) as client:  # argon2 sign-up on a busy machine
        user = new_user(client)
        order_id = await stuck_order(stack, user["id"], "PAID")
        wait_for(lambda: status_of(client, user, order_id)["status"] == "CONFIRMED",
                 f"order {order_id} to be confirmed", timeout=RECOVERY_WAIT)


async def test_after_its_last_redrive_an_order_fails_with_compensation_and_a_notice(stack):
    with httpx.Client(base_url=stack.nginx, timeout=60) as client:  # argon2 sign-up on a busy machine
        user = new_user(client)
        order_id = await stuck_order(stack, user["id"], "PENDING", attempts=99)
        order = wait_for(lambda: (o := status_of(client, user, order_id))["status"] == "FAILED" and o,
                         f"order {order_id} to time out", timeout=RECOVERY_WAIT)
        assert "saga timeout" in order["failure_reason"]
        notices = wait_for(lambda: [n for n in client.get("/api/notifications", headers=user["headers"]).json()["items"]
                                    if n["kind"] == "order_failed"], "the failure notification")
    assert len(notices) == 1
    assert await charges_of(stack, order_id) == []  # it never reached payments: nothing to refund
