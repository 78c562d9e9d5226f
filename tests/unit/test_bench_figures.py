"""How the bench turns wrk's raw counters into figures, and repetitions into a median."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.report import floor_rows
from bench.scenarios_caching import staleness  # noqa: E402
from bench.wrk import median_of, summarize  # noqa: E402

RAW = {"requests": 10_000, "duration_us": 5_000_000, "bytes": 4_000_000, "connect_errors": 5, "read_errors": 1,
       "write_errors": 0, "status_errors": 4, "timeouts": 0, "p50_us": 2500, "p90_us": 6000, "p99_us": 20_000,
       "p999_us": 40_000, "mean_us": 3100.0, "max_us": 50_000}


def test_summarize_counts_every_kind_of_error_against_every_attempt():
    figures = summarize(RAW)
    assert figures["rps"] == pytest.approx(2000)
    assert figures["p50_ms"] == 2.5 and figures["p99_ms"] == 20.0
    assert figures["errors"] == 10 and figures["non_2xx"] == 4
    assert figures["error_ratio"] == pytest.approx(10 / 10_005)  # refused connections never became requests
    assert figures["bytes_per_response"] == pytest.approx(400)


def test_median_of_three_runs_ignores_one_outlier():
    runs = [summarize({**RAW, "requests": requests}) for requests in (10_000, 10_500, 2_000)]
    assert median_of(runs)["rps"] == pytest.approx(2000)
    assert len(median_of(runs)["runs"]) == 3


def test_floors_are_checked_where_the_issue_sets_them():
    scenarios = {"1": {"throughput_ratio": 0.2},
                 "2": {"throughput_ratio": 5.0, "db_queries_per_request_cached": 0.01},
                 "4": {"throughput_ratio": 1.6},
                 "5": {"failed_ratio": 0.002}}
    verdicts = {(row["scenario"], row["figure"]): row["ok"] for row in floor_rows(scenarios)}
    assert verdicts == {
        ("1", "full path / hello throughput"): False,
        ("2", "cache hit / cache disabled throughput"): True,
        ("2", "DB queries per request (warm cache, Zipf)"): True,
        ("4", "login throughput 2 replicas / 1"): True,
        ("5", "failed requests while a replica is killed"): False,
    }


def test_staleness_is_measured_from_the_first_newer_write_completed_before_the_read():
    writes = [(10.0, 101), (11.0, 102), (13.0, 103)]  # (completed at, price in cents)
    assert staleness(writes, 12.0, 102) is None  # saw the newest write completed before it began
    assert staleness(writes, 12.0, 101) == 1.0  # missed the write completed at 11
    assert staleness(writes, 12.5, 100) == 2.5  # missed both, stale since the first
    assert staleness(writes, 12.0, 103) is None  # a write completing after the read began does not count


def test_scenario_13_floors():
    strategy = {"warm_read_only_db_loads_per_read": 0.01, "max_staleness_ms": 0.0}
    scenarios = {"13": {"strategies": {"cache-aside": strategy, "read-through": strategy,
                                       "refresh-ahead": {**strategy, "warm_read_only_db_loads_per_read": 0.2}},
                        "write_behind": {"events_per_database_write": 40.0, "lost": 0}}}
    verdicts = {row["figure"]: row["ok"] for row in floor_rows(scenarios) if row["ok"] is not None}
    assert verdicts == {
        "cache-aside: DB loads per product read (warm, Zipf)": True,
        "read-through: DB loads per product read (warm, Zipf)": True,
        "refresh-ahead: DB loads per product read (warm, Zipf)": False,
        "write-behind: view events per database write": True,
        "write-behind: view events lost": True,
    }
