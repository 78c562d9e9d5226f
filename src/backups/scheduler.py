"""The backup container's main loop: create each stanza, take the backups that are due, serve metrics.

Every BACKUP_CHECK_SECONDS it reads the repository and asks `schedule.due` what each
stanza needs: a full backup when there is none or the last is older than
BACKUP_FULL_EVERY_SECONDS, an incremental one when the newest backup is older than
BACKUP_INCREMENTAL_EVERY_SECONDS or when BACKUP_INCREMENTAL_AFTER_WAL_SEGMENTS WAL segments
were archived since it (what a restore would replay: it bounds the RTO). Backups run one at
a time, so a small machine is never busy copying several databases at once. Metrics on
METRICS_ADDRESS (backups/metrics.py).
"""

import logging
import os
import time

from prometheus_client import REGISTRY, start_http_server

from backups import pgbackrest
from backups.metrics import BACKUP_DURATION, BACKUP_RUNS, RepositoryCollector
from backups.schedule import Policy, due

log = logging.getLogger("backups")


def take(stanza: str, kind: str) -> bool:
    """One backup, timed and counted; the outcome is logged either way."""
    started = time.monotonic()
    result = pgbackrest.backup(stanza, kind)
    BACKUP_DURATION.labels(stanza, kind).set(time.monotonic() - started)
    BACKUP_RUNS.labels(stanza, kind, "ok" if result.ok else "failed").inc()
    log.log(logging.INFO if result.ok else logging.ERROR, "%s backup of %s %s in %.1fs%s", kind, stanza,
            "done" if result.ok else "FAILED", time.monotonic() - started, "" if result.ok else f": {result.output}")
    return result.ok


def refresh(repository: dict[str, dict]) -> None:
    """Re-read the repository (what the metrics report and the schedule decides on)."""
    try:
        repository.update(pgbackrest.info())
    except (RuntimeError, ValueError, OSError) as error:
        log.warning("%s", error)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    policy = Policy(incremental_every_seconds=float(os.environ.get("BACKUP_INCREMENTAL_EVERY_SECONDS", 3600)),
                    full_every_seconds=float(os.environ.get("BACKUP_FULL_EVERY_SECONDS", 86400)),
                    incremental_after_wal_segments=int(os.environ.get("BACKUP_INCREMENTAL_AFTER_WAL_SEGMENTS", 0)))
    check_seconds = float(os.environ.get("BACKUP_CHECK_SECONDS", 10))
    host, port = os.environ.get("METRICS_ADDRESS", "0.0.0.0:9854").rsplit(":", 1)

    repository: dict[str, dict] = {}
    REGISTRY.register(RepositoryCollector(lambda: repository))
    start_http_server(int(port), addr=host)
    stanzas = pgbackrest.configured_stanzas()
    created: set[str] = set()
    log.info("backing up %s: incremental every %ss or %s archived WAL segments, full every %ss", ", ".join(stanzas),
             policy.incremental_every_seconds, policy.incremental_after_wal_segments or "-", policy.full_every_seconds)
    while True:
        for stanza in stanzas:
            if stanza not in created:
                # Idempotent: records the database's identity in the repository; then WAL archiving works.
                result = pgbackrest.run(stanza, "stanza-create")
                if result.ok:
                    created.add(stanza)
                else:
                    log.warning("stanza-create %s failed (retrying): %s", stanza, result.output)
        refresh(repository)
        for stanza in sorted(created):
            kind = due(repository.get(stanza, {}), time.time(), policy)
            if kind and take(stanza, kind):
                refresh(repository)
        time.sleep(check_seconds)


if __name__ == "__main__":
    main()
