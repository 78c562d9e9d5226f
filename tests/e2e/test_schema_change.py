"""A zero-downtime schema change under shoppers (drills/schema_change.py, `make schema-change`):
order_items.quantity from integer to bigint on every orders shard by expand, backfill in batches,
switch (a rename under a 1 s lock timeout) and contract, while orders keep arriving."""

import json
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]


def column_types(stack) -> list[str]:
    types = []
    for url in stack.plan()["orders-shards"]["env"]["ORDERS_SHARD_URLS"].split(","):
        with psycopg2.connect(url.replace("postgresql+asyncpg://", "postgresql://")) as connection, \
                connection.cursor() as cursor:
            cursor.execute("SELECT data_type FROM information_schema.columns "
                           "WHERE table_name = 'order_items' AND column_name = 'quantity'")
            types.append(cursor.fetchone()[0])
    return types


def test_quantity_becomes_bigint_on_every_shard_without_a_failed_request(stack, tmp_path):
    assert set(column_types(stack)) == {"integer"}, "the migrations make it an integer"
    out = tmp_path / "schema.json"
    env = {**stack.env, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    subprocess.run([sys.executable, "-m", "drills.schema_change", "--to", "bigint", "--batch", "20",
                    "--customers", "6", "--seed-orders", "30", "--json", str(out)],
                   env=env, cwd=ROOT, check=False, timeout=900)
    result = json.loads(out.read_text())
    print({key: value for key, value in result.items() if key != "log"})
    assert result["rows_backfilled"] >= 30, "the backfill had the seeded rows to move"
    assert result["mismatches"] == 0
    assert result["orders_during"] > 0, "no order was placed during the change"
    assert result["failed_requests"] == 0, result["failures"]
    assert result["orders_unreadable"] == 0
    assert column_types(stack) == ["bigint"] * 3 == result["types"]
    # Walk it back: the same steps in the other direction leave the shop as the migrations made it.
    subprocess.run([sys.executable, "-m", "drills.schema_change", "--to", "integer", "--batch", "50",
                    "--customers", "2", "--seed-orders", "2", "--json", str(out)],
                   env=env, cwd=ROOT, check=False, timeout=900)
    back = json.loads(out.read_text())
    assert back["failed_requests"] == 0, back["failures"]
    assert column_types(stack) == ["integer"] * 3
