"""A throwaway Postgres 15 on a free loopback port (Debian's binaries, fsync off, trust on loopback):
the orders tests need a real Postgres, not the whole stack.

initdb and postgres refuse to run as root, so as root (this machine, CI) both run as the `postgres`
user (runuser), which owns the data directory. That directory is a fresh one in the system's temp
directory, not under pytest's: pytest keeps /tmp/pytest-of-root at mode 0700 and resets it at every
session start, and on a shared machine another session starting would lock our server out while
initdb runs. It is removed when the server stops.
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from redis_server import free_port

BIN = Path("/usr/lib/postgresql/15/bin")
# Durability off (a test database dies with its session anyway): commits and CREATE DATABASE never
# wait for the disk. TCP on loopback only, no Unix socket to collide with a real server's.
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "'32MB'",
}


def as_postgres(command: list[str]) -> list[str]:
    """The command as the `postgres` user when we are root; as ourselves otherwise."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def run(command: list[str], log: Path | None = None) -> None:
    done = subprocess.run(as_postgres(command), capture_output=True, text=True)
    if done.returncode != 0:
        detail = log.read_text() if log is not None and log.exists() else ""
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stdout}{done.stderr}{detail}")


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """initdb, start postgres, yield the URL of its `postgres` database, stop it (fast shutdown)."""
    directory = Path(tempfile.mkdtemp(prefix="scaleshop-test-postgres-"))
    data, log = directory / "data", directory / "postgres.log"
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    port = free_port()
    try:
        run([str(BIN / "initdb"), "--pgdata", str(data), "--username", "postgres", "--auth", "trust",
             "--encoding", "UTF8", "--locale", "C", "--no-sync", "--no-instructions"])
        with (data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in {**SETTINGS, "port": port}.items())
        # -w: pg_ctl returns once the server accepts connections (or fails, and the log says why).
        run([str(BIN / "pg_ctl"), "start", "--pgdata", str(data), "--log", str(log), "--wait", "--timeout", "60",
             "--silent"], log)
        try:
            yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
        finally:
            # Fast shutdown: open sessions are rolled back and closed, nothing is waited for.
            run([str(BIN / "pg_ctl"), "stop", "--pgdata", str(data), "--mode", "fast", "--wait", "--silent"])
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def create_database(url: str, name: str) -> str:
    """A new empty database on the server of `url`; returns its URL."""
    server = make_url(url)
    subprocess.run([BIN / "createdb", "--host", server.host, "--port", str(server.port), "--username",
                    server.username, name], check=True)
    return server.set(database=name).render_as_string(hide_password=False)
