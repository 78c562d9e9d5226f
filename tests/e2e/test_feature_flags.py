"""A feature rolled out to a percentage of users through the stack's one flag mechanism (seed:
"Feature Flags"): `search_ranking_v2 = {"percent": 30, "value": true}` gives the new search
ranking to about 30% of users, each user always the same answer on every products replica
(stable bucketing by user id, the OpenFeature targeting key), and it changes the ranking.

The replicas are asked directly with the X-User-Id header the gateway would set from the token
(registering 200 users through the gateway would measure bcrypt, not the flag)."""

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from chassis.flags import bucket  # the stack's own bucketing, to pick a user inside the 30%

ROOT = Path(__file__).resolve().parents[2]
USERS = [str(n) for n in range(1, 201)]
# Two words, either may match ("or"): matches rank in tiers (name, description, both), which v1 keeps
# apart and v2 mixes by popularity.
QUERY = {"q": "lamp or red", "limit": 10}

pytestmark = pytest.mark.stack


def flagctl(stack, *args: str) -> None:
    url = f"redis://{stack.address('queue-redis')}:6379/0"
    subprocess.run([sys.executable, "-m", "chassis.flagctl", *args], cwd=ROOT, check=True,
                   env={**stack.env, "FLAGS_REDIS_URL": url, "PYTHONPATH": str(ROOT / "src")})


def wait_for_ranking(stack, replica: str, ranking: str, user: str | None = None) -> httpx.Response:
    """Every process mirrors the flag store within a second (pub/sub); poll until this one has."""
    headers = {"x-user-id": user} if user else {}
    for _ in range(40):
        answer = httpx.get(stack.url(replica, 8000) + "/products/search", params={**QUERY, "limit": 50},
                           headers=headers, timeout=10)
        if answer.headers["x-search-ranking"] == ranking:
            return answer
        time.sleep(0.25)
    raise AssertionError(f"{replica} never answered with ranking {ranking}")


def rankings(stack, replica: str) -> dict[str, str]:
    with httpx.Client(base_url=stack.url(replica, 8000), timeout=10) as client:
        return {user: client.get("/products/search", params=QUERY, headers={"x-user-id": user})
                .headers["x-search-ranking"] for user in USERS}


def test_a_percentage_rollout_buckets_users_stably_and_near_its_share(stack):
    flagctl(stack, "set", "search_ranking_v2", '{"percent": 30, "value": true}')
    try:
        inside = next(user for user in USERS if bucket("search_ranking_v2", user) < 30)
        for replica in ("products-1", "products-2"):
            wait_for_ranking(stack, replica, "v2", user=inside)  # the flag has reached that replica
        first = rankings(stack, "products-1")
        second = rankings(stack, "products-2")
        again = rankings(stack, "products-1")
        anonymous = httpx.get(stack.url("products-1", 8000) + "/products/search", params=QUERY, timeout=10)
    finally:
        flagctl(stack, "clear", "search_ranking_v2")
    share = sum(1 for ranking in first.values() if ranking == "v2") / len(USERS)
    print(f"\nsearch_ranking_v2 at 30%: {share:.1%} of {len(USERS)} users on v2")
    assert first == second == again  # stable: the same user, the same ranking, on either replica
    assert 0.22 <= share <= 0.38
    assert anonymous.headers["x-search-ranking"] == "v1"  # no user id: outside any rollout


def test_the_new_ranking_orders_results_by_relevance_and_popularity(stack):
    flagctl(stack, "set", "search_ranking_v2", "true")  # everyone, anonymous users too
    try:
        v2 = wait_for_ranking(stack, "products-1", "v2")
    finally:
        flagctl(stack, "clear", "search_ranking_v2")
    v1 = wait_for_ranking(stack, "products-1", "v1")
    page_v1, page_v2 = v1.json()["items"], v2.json()["items"]
    assert len(page_v1) == len(page_v2) == 50
    assert [item["id"] for item in page_v1] != [item["id"] for item in page_v2]
    # Relevance weighed by popularity pulls popular matches up, ahead of obscure ones that match better:
    # v2's page is closer to popularity order (fewer pairs where a less popular product comes first).
    assert popularity_inversions(page_v2) < popularity_inversions(page_v1)


def popularity_inversions(page: list[dict]) -> int:
    popularity = [item["popularity"] for item in page]
    return sum(1 for i, first in enumerate(popularity) for later in popularity[i + 1:] if first < later)
