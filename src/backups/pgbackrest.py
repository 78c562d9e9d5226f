"""pgBackRest from Python: run a command for a stanza, read the repository's state.

Every option that is not a command-line flag comes from PGBACKREST_* variables and the
config file (PGBACKREST_CONFIG, infra/pgbackrest/pgbackrest.conf), so what runs here is
exactly what an operator would type: `pgbackrest --stanza=orders backup --type=incr`.
"""

import configparser
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Result:
    ok: bool
    output: str


# pgBackRest reads and writes the databases' files: it runs as their owner. The backup image
# runs as postgres already; natively the scheduler may start as root (the project's virtualenv
# need not be readable by postgres), and only pgBackRest drops to postgres.
DATA_OWNER = "postgres"


def as_data_owner() -> dict:
    return {"user": DATA_OWNER, "group": DATA_OWNER, "extra_groups": []} if os.geteuid() == 0 else {}


def run(stanza: str, command: str, *options: str, timeout: float = 600) -> Result:
    """`pgbackrest --stanza=STANZA [OPTIONS] COMMAND`; never raises on a failed command."""
    argv = ["pgbackrest", f"--stanza={stanza}", *options, command]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **as_data_owner())
    except subprocess.TimeoutExpired as error:
        return Result(False, f"{' '.join(argv)}: timed out after {error.timeout}s")
    return Result(done.returncode == 0, (done.stdout + done.stderr).strip())


def info() -> dict[str, dict]:
    """The repository's view of every stanza (`pgbackrest info --output=json`), by stanza name."""
    done = subprocess.run(["pgbackrest", "info", "--output=json"], capture_output=True, text=True, timeout=60,
                          **as_data_owner())
    if done.returncode != 0:
        raise RuntimeError(f"pgbackrest info failed: {done.stderr.strip()}")
    return {stanza["name"]: stanza for stanza in json.loads(done.stdout or "[]")}


def configured_stanzas(path: str | None = None) -> list[str]:
    """The stanzas (one per database) in the config file: every section but [global]."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read(path or os.environ.get("PGBACKREST_CONFIG", "/etc/pgbackrest/pgbackrest.conf"))
    return [section for section in parser.sections() if not section.startswith("global")]


def data_paths(stanza: str, path: str | None = None) -> list[str]:
    """Where the stanza's database keeps its data, node by node (pg1-path, pg2-path, ...), as this
    container sees it; one path for a single server, one per node for a Patroni cluster."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read(path or os.environ.get("PGBACKREST_CONFIG", "/etc/pgbackrest/pgbackrest.conf"))
    section = parser[stanza]
    return [section[f"pg{index}-path"] for index in range(1, 9) if f"pg{index}-path" in section]


def data_path(stanza: str, path: str | None = None) -> str:
    """Where the stanza's (first) database keeps its data, as this container sees it."""
    return data_paths(stanza, path)[0]


def backup(stanza: str, kind: str) -> Result:
    """Take one backup of `kind` ("full" or "incr"); pgBackRest expires old ones by the retention."""
    return run(stanza, "backup", f"--type={kind}")


def restore(stanza: str, *, target_time: str | None = None, into: str | None = None) -> Result:
    """Restore the stanza's database (stopped) from the repository, replaying archived WAL.

    Without `target_time`: to the end of the archived WAL (the latest point the archive has).
    With it: to that moment (point-in-time recovery), then promote, so the database opens for
    writes on a new timeline. `into` restores into another directory (a restore test) instead of
    the database's own; `--delta` reuses the files that are already right and removes the rest.
    """
    options = ["--delta"]
    if into:
        options.append(f"--pg1-path={into}")
    if target_time:
        options += ["--type=time", f"--target={target_time}", "--target-action=promote"]
    result = run(stanza, "restore", *options)
    if result.ok:
        # The socket sits in the data directory, so backups carry its lock file with the old
        # server's pid; if that pid is alive (the database the backup came from) Postgres refuses.
        for lock in Path(into or data_path(stanza)).glob(".s.PGSQL.*.lock"):
            lock.unlink()
    return result
