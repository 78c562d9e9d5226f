"""The backup strategy (which backup is due) and the backup metrics, from `pgbackrest info` data."""

from prometheus_client import CollectorRegistry

from backups.metrics import RepositoryCollector
from backups.pgbackrest import configured_stanzas, data_path, data_paths
from backups.schedule import FULL, INCREMENTAL, Policy, due, segment_position, wal_segments_since

HOUR, DAY = 3600, 86400
POLICY = Policy(incremental_every_seconds=HOUR, full_every_seconds=DAY)
NOW = 1_800_000_000.0


def backup(kind: str, stopped_ago: float, *, error: bool = False, size: int = 1000, stored: int = 100,
           wal_stop: str = "000000010000000000000010") -> dict:
    stop = NOW - stopped_ago
    return {"type": kind, "error": error, "timestamp": {"start": stop - 5, "stop": stop},
            "info": {"size": size, "repository": {"delta": stored}}, "archive": {"start": wal_stop, "stop": wal_stop}}


def stanza(*backups: dict, code: int = 0, archived_max: str = "000000010000000000000010") -> dict:
    return {"status": {"code": code}, "backup": list(backups),
            "archive": [{"id": "15-1", "min": "000000010000000000000001", "max": archived_max}]}


def test_a_database_without_a_backup_gets_a_full_one():
    assert due({}, NOW, POLICY) == FULL
    assert due(stanza(code=2), NOW, POLICY) == FULL


def test_a_recent_backup_means_nothing_is_due():
    assert due(stanza(backup("full", 10 * 60)), NOW, POLICY) is None


def test_an_incremental_is_due_after_the_incremental_period_and_a_full_after_the_full_period():
    assert due(stanza(backup("full", 2 * HOUR)), NOW, POLICY) == INCREMENTAL
    assert due(stanza(backup("full", 5 * HOUR), backup("incr", 10 * 60)), NOW, POLICY) is None
    assert due(stanza(backup("full", DAY + 1), backup("incr", 10 * 60)), NOW, POLICY) == FULL


def test_a_failed_backup_does_not_count():
    assert due(stanza(backup("full", 10 * 60, error=True)), NOW, POLICY) == FULL
    assert due(stanza(backup("full", 5 * HOUR), backup("incr", 60, error=True)), NOW, POLICY) == INCREMENTAL


def test_wal_segments_are_counted_across_log_files_and_timelines():
    assert segment_position("0000000100000001000000FF") + 1 == segment_position("000000020000000200000000")
    assert wal_segments_since(stanza(archived_max="000000030000000100000002"),
                              backup("full", 60, wal_stop="0000000200000000000000FE")) == 4
    assert wal_segments_since({}, backup("full", 60)) == 0


def test_an_incremental_is_due_once_enough_wal_was_archived_since_the_newest_backup():
    policy = Policy(incremental_every_seconds=HOUR, full_every_seconds=DAY, incremental_after_wal_segments=32)
    recent = backup("full", 10 * 60, wal_stop="000000010000000000000010")
    assert due(stanza(recent, archived_max="00000001000000000000002F"), NOW, policy) is None  # 31 segments
    assert due(stanza(recent, archived_max="000000010000000000000030"), NOW, policy) == INCREMENTAL
    # Without the WAL bound only the clock counts.
    assert due(stanza(recent, archived_max="000000010000000000000090"), NOW, POLICY) is None


def samples(repository: dict) -> dict:
    registry = CollectorRegistry()
    registry.register(RepositoryCollector(lambda: repository))
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in registry.collect() for sample in family.samples}


def test_metrics_report_age_size_and_count_of_the_newest_good_backup(monkeypatch):
    monkeypatch.setattr("backups.metrics.time.time", lambda: NOW)
    got = samples({"orders": stanza(backup("full", 2 * HOUR, size=5000, stored=900),
                                    backup("incr", 600, size=5100, stored=40),
                                    backup("incr", 60, error=True), archived_max="000000010000000000000013"),
                   "users": stanza(code=2)})
    assert got[("pgbackrest_backup_age_seconds", (("stanza", "orders"),))] == 600
    assert got[("pgbackrest_full_backup_age_seconds", (("stanza", "orders"),))] == 2 * HOUR
    assert got[("pgbackrest_backup_database_bytes", (("stanza", "orders"),))] == 5100
    assert got[("pgbackrest_backup_repository_bytes", (("stanza", "orders"),))] == 40
    assert got[("pgbackrest_backups", (("stanza", "orders"), ("type", "incr")))] == 1
    assert got[("pgbackrest_stanza_ok", (("stanza", "orders"),))] == 1
    assert got[("pgbackrest_wal_segments_since_backup", (("stanza", "orders"),))] == 3
    # A stanza with no good backup has no age at all (BackupMissing alerts on stanza_ok instead).
    assert got[("pgbackrest_stanza_ok", (("stanza", "users"),))] == 0
    assert ("pgbackrest_backup_age_seconds", (("stanza", "users"),)) not in got


def test_the_repository_config_names_a_stanza_per_database(tmp_path):
    from pathlib import Path
    config = Path(__file__).resolve().parents[2] / "infra" / "pgbackrest" / "pgbackrest.conf"
    assert configured_stanzas(str(config)) == ["users", "products", "orders", "orders-1", "orders-2", "payments",
                                               "notifications"]  # orders: one stanza per shard
    assert data_path("orders", str(config)) == "/srv/db/orders-db"
    # products-db is a Patroni cluster: one data directory per node (backups/cluster.py restores it).
    assert data_paths("products", str(config)) == ["/srv/db/products-db-1/pgdata", "/srv/db/products-db-2/pgdata"]
