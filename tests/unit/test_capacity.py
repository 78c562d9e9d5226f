"""The capacity planner's arithmetic, on a hand-made bench report (seed: capacity planning)."""

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.capacity import Demand, plan, replicas  # noqa: E402

REPORT = {
    "machine": {"cores": 2},
    "settings": {"products_sampled": 1000, "catalogue_total": 10_000},
    "scenarios": {
        "1": {"variants": {"full path (cached)": {"rps": 1000.0}}},
        "2": {"variants": {"cache-aside (Redis)": {"rps": 2000.0, "bytes_per_response": 400.0}},
              "db_queries_per_request_cached": 0.01, "mean_db_query_ms": 2.0},
        "3": {"variants": {"gateway->services keepalive": {"rps": 1500.0}}},
        "4": {"variants": {"users x1": {"rps": 20.0}}},
        "6": {"variants": {"checkout": {"rps": 8.0}}},
    },
}


def lines(demand: Demand) -> dict[str, float]:
    return {what: value for what, value, _ in plan(REPORT, demand)}


def test_replicas_divide_by_capacity_at_headroom_and_round_up():
    assert replicas(1000, 500, 0.5) == 4
    assert replicas(1001, 500, 0.5) == 5
    assert replicas(1, 500, 0.6) == 2  # never fewer than two: one may fail


def test_a_million_users_at_the_seed_rate():
    demand = Demand(users=1_000_000, rps_per_user=0.01, peak_factor=3, headroom=0.6)
    got = lines(demand)
    assert got["peak requests/s"] == pytest.approx(30_000)
    assert got["gateway replicas"] == math.ceil(30_000 / (1500 * 0.6))  # 34
    reads = 30_000 * (1 - 0.01 - 0.005)
    assert got["products replicas"] == math.ceil(reads / (2000 * 0.6))  # 25
    assert got["users replicas"] == math.ceil(300 / (20 * 0.6))  # 25
    assert got["orders replicas"] == math.ceil(150 / (4 * 0.6))  # 63
    assert got["products DB queries/s"] == pytest.approx(reads * 0.01)
    assert got["products DB connections busy"] == math.ceil(reads * 0.01 * 0.002 / 0.6)
    expected_cache = (10_000 * (400 + 100) + 1_000_000 * 1024) / 2**30
    assert got["cache memory GiB"] == pytest.approx(expected_cache)
    workers = 34 + 25 + 25 + 63
    assert got["machines"] == math.ceil(workers / 2)
    assert got["machines (whole stack per machine)"] == math.ceil(30_000 / (1000 * 0.6))


def test_more_headroom_used_means_fewer_replicas():
    tight = lines(Demand(users=1_000_000, headroom=0.7))
    loose = lines(Demand(users=1_000_000, headroom=0.5))
    assert tight["gateway replicas"] < loose["gateway replicas"]


@pytest.mark.parametrize("headroom", [0.4, 0.8])
def test_headroom_outside_the_seeds_range_is_refused(headroom):
    with pytest.raises(ValueError, match="50-70%"):
        Demand(users=1000, headroom=headroom)


def test_every_line_names_the_figure_it_comes_from():
    for what, _, source in plan(REPORT, Demand(users=10_000)):
        assert source, what


def test_the_plan_reads_the_newest_complete_report(tmp_path):
    import json

    from bench.capacity import latest_report

    for name, scenarios in (("20260101-000000", REPORT["scenarios"]), ("20260102-000000", {"5": {}})):
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.json").write_text(json.dumps({"scenarios": scenarios}))
    assert latest_report(tmp_path).parent.name == "20260101-000000"  # the newer one ran scenario 5 only
    with pytest.raises(SystemExit, match="make bench"):
        latest_report(tmp_path / "nowhere")
