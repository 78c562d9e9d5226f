"""Point-in-time recovery from pgBackRest (seed: "Disaster Recovery & Backup"): restoring the orders
database to a timestamp gives exactly the rows committed before it.

The restore goes into a scratch directory (`backups.cli restore --into`, the same code as
`make restore`) and a throwaway Postgres is started on it, so the live orders database is untouched:
a restore test, the DR checklist's "restore on a schedule" item.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from drills.stack import libpq_dsn  # noqa: E402
from e2e.checkout_support import wait_for  # noqa: E402


def in_backup_container(stack, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stackctl", "exec", "backup", "--", *argv], env=stack.env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def has_backup(stack) -> bool:
    answer = in_backup_container(stack, "pgbackrest", "--stanza=orders", "info", "--output=json")
    return answer.returncode == 0 and bool(json.loads(answer.stdout)[0].get("backup"))


@pytest.fixture
def orders_db(stack):
    # orders-db itself (the migrations' URL): the services reach it through pgbouncer.
    connection = psycopg2.connect(libpq_dsn(stack.plan()["orders-migrate"]["env"]["DATABASE_URL"]))
    connection.autocommit = True
    yield connection
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS pitr_probe")
    connection.close()


@pytest.fixture
def scratch(stack):
    """An empty data directory owned by postgres, outside every container's /tmp, and a private
    /tmp beside it for the throwaway server; a Postgres started on it is stopped."""
    path, tmp = stack.state_dir / "pitr-scratch", stack.state_dir / "pitr-scratch-tmp"
    for directory in (path, tmp):
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(mode=0o700)
        shutil.chown(directory, "postgres", "postgres")
    servers: list[subprocess.Popen] = []
    yield path, tmp, servers
    for server in servers:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
    for directory in (path, tmp):
        shutil.rmtree(directory, ignore_errors=True)


def test_a_restore_to_a_timestamp_has_exactly_the_rows_committed_before_it(stack, orders_db, scratch):
    wait_for(lambda: has_backup(stack), "the scheduler's first backup of orders", timeout=600, interval=1)
    with orders_db.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS pitr_probe")
        cursor.execute("CREATE TABLE pitr_probe (id int PRIMARY KEY)")
        for row in range(1, 21):  # autocommit: one transaction per row
            cursor.execute("INSERT INTO pitr_probe VALUES (%s)", (row,))
        cursor.execute("SELECT clock_timestamp()::text")
        target = cursor.fetchone()[0]
        time.sleep(1.5)
        for row in range(21, 41):
            cursor.execute("INSERT INTO pitr_probe VALUES (%s)", (row,))
        cursor.execute("SELECT pg_walfile_name(pg_switch_wal())")  # close the segment so it is archived now
        segment = cursor.fetchone()[0]

    def archived() -> bool:
        with orders_db.cursor() as cursor:
            cursor.execute("SELECT last_archived_wal FROM pg_stat_archiver")
            last = cursor.fetchone()[0]
        return last is not None and last[:24] >= segment

    wait_for(archived, f"WAL segment {segment} in the archive", timeout=120, interval=1)

    path, tmp, servers = scratch
    restore = in_backup_container(stack, "python", "-m", "backups.cli", "restore", "orders",
                                  "--target-time", target, "--into", str(path))
    assert restore.returncode == 0, restore.stdout + restore.stderr
    assert (path / "PG_VERSION").exists(), f"the restore left no data directory in {path}: {restore.stdout}"

    # A throwaway server on the restored directory: WAL comes from the archive (pgBackRest, with the
    # orders stanza's settings pointed at the scratch directory); archiving is off, so nothing it
    # does reaches the repository. pgBackRest's lock and spool directories are its own: shared with
    # the live orders-db, the archive-get queue and the archive-push lock of one would be the other's.
    # The stack's databases take their settings on the command line, so the data directory has
    # no postgresql.conf of its own; Postgres still needs the file to exist.
    config = path / "postgresql.conf"
    if not config.exists():
        config.touch()
        shutil.chown(config, "postgres", "postgres")
    plan = stack.plan()
    address = stack.env["STACK_NET"] + ".250"
    env = {**plan["orders-db"]["env"], "PGBACKREST_PG1_PATH": str(path), "PGBACKREST_LOCK_PATH": str(tmp / "lock"),
           "PGBACKREST_SPOOL_PATH": str(tmp / "spool"), "PATH": f"/usr/lib/postgresql/15/bin:{os.environ['PATH']}",
           "HOME": str(tmp)}
    log = stack.state_dir / "pitr-scratch.log"
    servers.append(subprocess.Popen(
        ["postgres", "-D", str(path), "-c", f"listen_addresses={address}", "-c", f"unix_socket_directories={tmp}",
         "-c", "archive_mode=off"], env=env, user="postgres", group="postgres", cwd=tmp,
        stdout=subprocess.DEVNULL, stderr=open(log, "w")))
    dsn = libpq_dsn(plan["orders-migrate"]["env"]["DATABASE_URL"]).replace(
        f"host={plan['orders-db']['address']}", f"host={address}")

    def promoted():
        if servers[0].poll() is not None:
            raise AssertionError(f"the restored server exited ({servers[0].returncode}):\n{log.read_text()[-3000:]}")
        try:
            with psycopg2.connect(dsn, connect_timeout=3) as connection, connection.cursor() as cursor:
                cursor.execute("SELECT pg_is_in_recovery()")
                return not cursor.fetchone()[0] and connection
        except psycopg2.OperationalError:
            return False

    wait_for(promoted, "the restored server to reach the target and promote", timeout=180, interval=1)
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id FROM pitr_probe ORDER BY id")
        # Every row committed before the target time, none of the 20 committed after it.
        assert [row[0] for row in cursor.fetchall()] == list(range(1, 21))
