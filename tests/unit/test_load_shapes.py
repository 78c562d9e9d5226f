"""Load shapes, the Zipf popularity draw and the threshold verdicts of loadtests/ (no stack needed)."""

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "loadtests"))

from catalogue import draw_rank, zipf_cumulative_weights  # noqa: E402
from shapes import SHAPES, ramp_stages, spike_stages, target_at  # noqa: E402
from thresholds import check  # noqa: E402


def test_ramp_follows_the_seeds_k6_stages_scaled_to_the_duration():
    stages = ramp_stages(100, 160)  # the seed's 16 minutes, as 160 s
    assert [(until, users) for until, users, _ in stages] == [(20, 100), (70, 100), (90, 200), (140, 200), (160, 0)]
    assert target_at(stages, 10)[0] == 100 and target_at(stages, 100)[0] == 200
    assert target_at(stages, 160) is None  # the run ends after the last stage


def test_spike_triples_the_users_then_comes_back():
    users = [target_at(spike_stages(10, 100), second)[0] for second in (10, 40, 80)]
    assert users == [10, 30, 10]


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_shape_ends_and_never_asks_for_negative_users(name):
    stages = SHAPES[name](10, 60)
    assert stages[-1][0] == pytest.approx(60)
    assert all(users >= 0 and rate > 0 for _, users, rate in stages)


def test_zipf_draw_favours_the_head_of_the_catalogue():
    cumulative = zipf_cumulative_weights(1000, 1.1)
    rng = random.Random(7)
    ranks = [draw_rank(cumulative, rng) for _ in range(20_000)]
    head = sum(rank < 10 for rank in ranks) / len(ranks)
    assert 0.35 < head < 0.65  # the top 1% of products gets about half the views
    assert ranks.count(0) > ranks.count(1) > ranks.count(50)
    assert max(ranks) < 1000


def test_thresholds_name_what_failed():
    verdicts = {v.name: v.passed for v in check(requests=1000, failures=20, p95_ms=650, max_p95_ms=500,
                                                 max_error_rate=0.01)}
    assert verdicts == {"requests made": True, "p95 response time (shopping)": False,
                        "p95 response time (sign-up, login: argon2)": True, "error rate": False}
    slow_sign_up = check(requests=100, failures=0, p95_ms=100, max_p95_ms=500, max_error_rate=0.01,
                         sign_up_p95_ms=2500, max_sign_up_p95_ms=2000)
    assert [v.name for v in slow_sign_up if not v.passed] == ["p95 response time (sign-up, login: argon2)"]
    assert all(v.passed for v in check(requests=1000, failures=9, p95_ms=120, max_p95_ms=500, max_error_rate=0.01))
    assert not check(requests=0, failures=0, p95_ms=0, max_p95_ms=500, max_error_rate=0.01)[0].passed
