"""The gateway's client-side balancing strategies (chassis.balancing) as ReplicaPool applies them."""

from collections import Counter

import pytest

from chassis.balancer import ReplicaPool

URLS = ["http://a:1", "http://b:2", "http://c:3"]


def first_choices(pool: ReplicaPool, calls: int) -> Counter:
    return Counter(pool.candidates()[0].url for _ in range(calls))


def test_round_robin_gives_each_replica_the_same_count_whatever_its_load():
    pool = ReplicaPool("svc", URLS, strategy="round-robin")
    pool.replicas[0].outstanding = 50
    assert first_choices(pool, 300) == {url: 100 for url in URLS}


def test_least_outstanding_picks_the_idlest_replica_and_rotates_among_equals():
    pool = ReplicaPool("svc", URLS, strategy="least-outstanding")
    pool.replicas[0].outstanding, pool.replicas[1].outstanding = 5, 1
    assert first_choices(pool, 10) == {"http://c:3": 10}
    pool.replicas[2].outstanding = 1
    assert first_choices(pool, 10) == {"http://b:2": 5, "http://c:3": 5}


def test_two_random_choices_never_pick_the_busiest_and_still_spread():
    pool = ReplicaPool("svc", URLS, strategy="p2c")
    pool.replicas[0].outstanding = 9  # the slow one
    chosen = first_choices(pool, 600)
    assert "http://a:1" not in chosen  # it loses every pair it is drawn in
    assert chosen["http://b:2"] > 150 and chosen["http://c:3"] > 150


@pytest.mark.parametrize("strategy", ["round-robin", "least-outstanding", "p2c"])
def test_every_strategy_tries_ejected_replicas_last_and_lists_them_all(strategy):
    pool = ReplicaPool("svc", URLS, strategy=strategy)
    pool.eject(pool.replicas[1])
    for _ in range(20):
        order = [replica.url for replica in pool.candidates()]
        assert sorted(order) == URLS and order[-1] == "http://b:2"


def test_an_unknown_strategy_is_refused_by_name():
    with pytest.raises(ValueError, match="least-outstanding"):
        ReplicaPool("svc", URLS, strategy="fastest")
