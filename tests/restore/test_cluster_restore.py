"""`make restore SERVICE=products TARGET_TIME=…` restores the Patroni cluster (seed: "Disaster Recovery
& Backup", "High Availability: Primary-Standby"): the new primary has exactly the rows committed
before the time, takes writes, and the other node re-clones from it and streams on its timeline.

This runs the very `make restore` an operator types (src/backups/cluster.py behind it), on the
session's stack: products-db is replaced by the restored cluster, so it lives in tests/restore,
the last entry of pyproject's testpaths, after every test that needs the original products-db.
"""

import json
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import psycopg2
import pytest

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from drills.stack import libpq_dsn  # noqa: E402
from e2e.checkout_support import wait_for  # noqa: E402


def has_backup(stack) -> bool:
    answer = subprocess.run([sys.executable, "-m", "stackctl", "exec", "backup", "--", "pgbackrest",
                             "--stanza=products", "info", "--output=json"], env=stack.env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    return answer.returncode == 0 and bool(json.loads(answer.stdout)[0].get("backup"))


def connect(stack, *, superuser: bool = False):
    """The cluster's primary, whichever node it is (libpq multi-host, read-write), in autocommit: one
    transaction per statement. Used through closing(): psycopg2's own `with connection` would wrap
    the block in one transaction even in autocommit, and commit every row at its end."""
    plan = stack.plan()
    dsn = libpq_dsn(plan["products-1"]["env"]["DATABASE_URL"], target_session_attrs="read-write",
                    connect_timeout="5")
    if superuser:
        dsn += f" user=postgres password={plan['products-db-1']['env']['PATRONI_SUPERUSER_PASSWORD']}"
    connection = psycopg2.connect(dsn)
    connection.autocommit = True
    return connection


def test_make_restore_rebuilds_the_patroni_cluster_at_a_timestamp(stack):
    wait_for(lambda: has_backup(stack), "the scheduler's first backup of products", timeout=600, interval=1)
    with closing(connect(stack)) as connection, connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS cluster_pitr_probe")
        cursor.execute("CREATE TABLE cluster_pitr_probe (id int PRIMARY KEY)")
        for row in range(1, 21):  # autocommit: one transaction per row
            cursor.execute("INSERT INTO cluster_pitr_probe VALUES (%s)", (row,))
        cursor.execute("SELECT clock_timestamp()::text")
        target = cursor.fetchone()[0]
        time.sleep(1.5)
        for row in range(21, 41):
            cursor.execute("INSERT INTO cluster_pitr_probe VALUES (%s)", (row,))
    with closing(connect(stack, superuser=True)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT pg_walfile_name(pg_switch_wal())")  # close the segment so it is archived now
        segment = cursor.fetchone()[0]

    def archived() -> bool:
        with closing(connect(stack)) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT last_archived_wal FROM pg_stat_archiver")
            last = cursor.fetchone()[0]
        return last is not None and last[:24] >= segment

    wait_for(archived, f"WAL segment {segment} in the archive", timeout=120, interval=1)

    restore = subprocess.run(["make", "--no-print-directory", "restore", "SERVICE=products", f"TARGET_TIME={target}"],
                             env={**stack.env, "STACK_RUNTIME": "native"}, cwd=ROOT, capture_output=True,
                             text=True, timeout=900)
    assert restore.returncode == 0, restore.stdout + restore.stderr

    with closing(connect(stack)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id FROM cluster_pitr_probe ORDER BY id")
        # Every row committed before the target time, none of the 20 committed after it.
        assert [row[0] for row in cursor.fetchall()] == list(range(1, 21))
        cursor.execute("INSERT INTO cluster_pitr_probe VALUES (21)")  # the restored primary takes writes

    def replica_streaming():
        members = stack.patroni_cluster()["members"]
        leader = next((m for m in members if m["role"] == "leader"), None)
        return leader and any(m["role"] != "leader" and m.get("state") in ("streaming", "running")
                              and m.get("timeline") == leader.get("timeline") for m in members)

    wait_for(replica_streaming, "the other node to re-clone and stream from the restored primary", timeout=180, interval=1)
    with closing(connect(stack)) as connection, connection.cursor() as cursor:
        cursor.execute("DROP TABLE cluster_pitr_probe")
