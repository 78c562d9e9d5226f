"""Backup health as Prometheus metrics, computed from the repository at scrape time.

An age is only meaningful when measured now, so the collector derives it from the
newest good backup's stop time on every scrape (from the scheduler's last `info`,
refreshed every few seconds) instead of storing it. The alert rules
(infra/prometheus/rules/backups.yml) fire when the last good backup is too old or
when a stanza has none.
"""

import time
from collections.abc import Callable

from prometheus_client import Counter, Gauge
from prometheus_client.core import GaugeMetricFamily

from backups.schedule import FULL, good_backups, wal_segments_since

BACKUP_RUNS = Counter("pgbackrest_backup_runs_total", "Backups started by the scheduler or `make backup`, by outcome",
                      ["stanza", "type", "result"])
BACKUP_DURATION = Gauge("pgbackrest_backup_last_duration_seconds", "How long the last backup took",
                        ["stanza", "type"])


class RepositoryCollector:
    """Age, size and count of each stanza's backups, from a callable returning `pgbackrest info` by stanza."""

    def __init__(self, repository: Callable[[], dict[str, dict]]):
        self.repository = repository

    def collect(self):
        now = time.time()
        age = GaugeMetricFamily("pgbackrest_backup_age_seconds",
                                "Seconds since the newest good backup of the stanza finished", labels=["stanza"])
        full_age = GaugeMetricFamily("pgbackrest_full_backup_age_seconds",
                                     "Seconds since the newest good full backup finished", labels=["stanza"])
        size = GaugeMetricFamily("pgbackrest_backup_database_bytes",
                                 "Size of the database in the newest good backup", labels=["stanza"])
        stored = GaugeMetricFamily("pgbackrest_backup_repository_bytes",
                                   "Bytes the newest good backup added to the repository (compressed)",
                                   labels=["stanza"])
        count = GaugeMetricFamily("pgbackrest_backups", "Good backups kept in the repository",
                                  labels=["stanza", "type"])
        wal = GaugeMetricFamily("pgbackrest_wal_segments_since_backup",
                                "WAL segments archived since the newest good backup: what a restore replays",
                                labels=["stanza"])
        healthy = GaugeMetricFamily("pgbackrest_stanza_ok", "1 when pgBackRest reports the stanza ok",
                                    labels=["stanza"])
        for name, stanza in sorted(self.repository().items()):
            healthy.add_metric([name], 1.0 if stanza.get("status", {}).get("code") == 0 else 0.0)
            backups = good_backups(stanza)
            for kind in ("full", "diff", "incr"):
                count.add_metric([name, kind], sum(1 for backup in backups if backup["type"] == kind))
            if not backups:
                continue
            newest = backups[-1]
            age.add_metric([name], now - newest["timestamp"]["stop"])
            size.add_metric([name], newest["info"]["size"])
            stored.add_metric([name], newest["info"]["repository"]["delta"])
            wal.add_metric([name], wal_segments_since(stanza, newest))
            fulls = [backup for backup in backups if backup["type"] == FULL]
            if fulls:
                full_age.add_metric([name], now - fulls[-1]["timestamp"]["stop"])
        yield from (age, full_age, size, stored, count, wal, healthy)
