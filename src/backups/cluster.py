"""Restoring a Patroni cluster (products-db) from pgBackRest: one node restored, the others re-cloned.

A Patroni cluster is not restored in place node by node: the nodes must agree on one history.
So (seed "Disaster Recovery & Backup", restore as a new cluster):

1. Both nodes are stopped and the cluster's state is removed from etcd (`patronictl remove`,
   done by `make restore` around this module): otherwise Patroni remembers the old leader's WAL
   position and will not let a node restored to an earlier point take the lock
   (maximum_lag_on_failover), and a replica would follow the old history.
2. Here: the replicas' data directories are emptied, so Patroni re-clones them from the new
   leader (pg_basebackup) when they start.
3. Here: the first node's data directory is restored (`pgbackrest restore --delta`, reusing the
   files that are already right) and the restored server is run once, on a private socket with
   no TCP listener, until it has replayed the archived WAL to the target and promoted. This step
   cannot be left to Patroni: a node it starts without a leader is a standby that Patroni promotes
   as soon as it takes the lock, wherever its replay is, which would cut the recovery short.
   `archive_command` is empty meanwhile, so the new timeline's history file waits (`.ready`) for
   the node's own archiver.
4. The first node starts under Patroni: it finds no cluster in etcd, registers one with its data's
   system id, takes the lock and promotes; then the others start and clone from it.
"""

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from backups import pgbackrest

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")  # Debian's Postgres 15 (Patroni's bin_dir too)
RECOVERY_TIMEOUT_SECONDS = 900


def is_cluster(stanza: str) -> bool:
    """A stanza whose database has more than one node (pg2-path): a Patroni cluster."""
    return len(pgbackrest.data_paths(stanza)) > 1


def binary(name: str) -> str:
    return shutil.which(name) or str(POSTGRES_BIN / name)


def empty(directory: str) -> None:
    """Remove what a data directory holds, keeping the directory (its owner and mode) itself."""
    for child in (Path(directory).iterdir() if Path(directory).is_dir() else []):
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()


def recover(pgdata: str, timeout: float = RECOVERY_TIMEOUT_SECONDS) -> pgbackrest.Result:
    """Run the restored server until it has left recovery (replayed to its target, promoted), then stop it."""
    socket_dir = tempfile.mkdtemp(prefix="restore-")
    if pgbackrest.as_data_owner():  # root natively: the server runs as the data's owner
        shutil.chown(socket_dir, pgbackrest.DATA_OWNER, pgbackrest.DATA_OWNER)
    log = Path(socket_dir) / "postgres.log"
    # Patroni's postgresql.conf names its node's address and paths as that node's container sees them.
    options = (f"-c listen_addresses='' -c unix_socket_directories={socket_dir} -c archive_command='' "
               f"-c hba_file={pgdata}/pg_hba.conf -c ident_file={pgdata}/pg_ident.conf -c hot_standby=on")

    def run(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, cwd=socket_dir,
                              **pgbackrest.as_data_owner())

    started = run(binary("pg_ctl"), "-D", pgdata, "-o", options, "-l", str(log), "-w", "-t", str(int(timeout)),
                  "start", timeout=timeout + 30)
    if started.returncode != 0:
        return pgbackrest.Result(False, f"the restored server did not start: {started.stderr}\n{tail(log)}")
    try:
        deadline = time.monotonic() + timeout
        while True:
            answer = run(binary("psql"), "-h", socket_dir, "-U", "postgres", "-d", "postgres", "-Atc",
                         "SELECT pg_is_in_recovery()")
            if answer.stdout.strip() == "f":
                return pgbackrest.Result(True, "recovered and promoted")
            if time.monotonic() > deadline:
                return pgbackrest.Result(False, f"still recovering after {timeout:.0f}s\n{tail(log)}")
            time.sleep(0.5)
    finally:
        run(binary("pg_ctl"), "-D", pgdata, "-m", "fast", "-w", "stop")
        shutil.rmtree(socket_dir, ignore_errors=True)


def tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def restore(stanza: str, *, target_time: str | None = None) -> pgbackrest.Result:
    """Steps 2 and 3 above, on a stopped cluster whose state etcd no longer holds."""
    first, *others = pgbackrest.data_paths(stanza)
    for replica in others:
        empty(replica)
    restored = pgbackrest.restore(stanza, target_time=target_time)
    if not restored.ok:
        return restored
    recovered = recover(first)
    return pgbackrest.Result(recovered.ok, "\n".join(filter(None, [restored.output, recovered.output])))
