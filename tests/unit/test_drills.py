"""Pieces of the HA/DR drills that need no stack: connection strings and what the traffic saw."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from drills.dr import replayed_segments  # noqa: E402
from drills.stack import libpq_dsn  # noqa: E402
from drills.traffic import Event, Loop  # noqa: E402


def test_a_multi_host_sqlalchemy_url_becomes_a_libpq_connection_string():
    url = ("postgresql+asyncpg://products:secret@/products?host=127.1.0.1:5432&host=127.1.0.2:5433"
           "&target_session_attrs=prefer-standby")
    assert libpq_dsn(url, target_session_attrs="read-write") == (
        "host=127.1.0.1,127.1.0.2 port=5432,5433 dbname=products user=products password=secret "
        "target_session_attrs=read-write")
    assert libpq_dsn("postgresql+asyncpg://orders:pw@127.1.0.9:5432/orders") == (
        "host=127.1.0.9 port=5432 dbname=orders user=orders password=pw")


def test_write_unavailability_is_the_longest_gap_between_acknowledged_writes_after_the_fault():
    loop = Loop("writer", call=lambda client: None, base_url="http://unused")
    loop.events = [Event(at, ok, 201 if ok else 503) for at, ok in
                   [(1.0, True), (1.5, True), (12.0, True), (13.0, False), (14.0, False), (20.0, True), (20.2, True)]]
    assert loop.longest_gap(after=13.0) == (8.0, 12.0, 20.0)
    assert loop.longest_gap(after=0.0) == (10.5, 1.5, 12.0)
    assert loop.failures_by_kind() == {"503": 2}


def test_the_dr_drill_counts_each_wal_segment_the_restored_database_fetched_once():
    log = "\n".join([
        '2026-12-01 11:16:26.854 UTC [21308] LOG:  restored log file "00000004.history" from archive',
        '2026-12-01 11:16:27.742 UTC [21308] LOG:  restored log file "000000040000000000000071" from archive',
        '2026-12-01 11:16:27.930 UTC [21308] LOG:  restored log file "000000040000000000000072" from archive',
        '2026-12-01 11:16:28.005 UTC [21016] LOG:  database system is ready to accept read-only connections',
        # At the end of recovery Postgres reads the last segment again: still one segment.
        '2026-12-01 11:16:31.775 UTC [21308] LOG:  restored log file "000000040000000000000072" from archive',
    ])
    assert replayed_segments(log) == 2
