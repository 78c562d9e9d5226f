"""What a crash of the cache Redis costs a customer, exactly as the README says: the refresh token is
gone (sign in again), the access token in hand keeps working until it expires, and nothing else is
lost (orders, keys and charges live in Postgres, tasks in the queue Redis)."""

import time
import uuid

import httpx
import pytest

from checkout_support import PASSWORD, wait_for

pytestmark = pytest.mark.stack


def test_after_a_cache_crash_the_access_token_works_the_refresh_token_is_gone_and_signing_in_works(stack):
    email = f"crash-{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=stack.nginx, timeout=60) as client:  # argon2 sign-up on a busy machine
        assert client.post("/api/users/register", json={"email": email, "password": PASSWORD, "name": "C"}
                           ).status_code == 201
        tokens = client.post("/api/users/login", json={"email": email, "password": PASSWORD}).json()
        access = {"Authorization": f"Bearer {tokens['access_token']}"}

        stack.ctl("kill", "redis")
        time.sleep(1)
        stack.ctl("wait", "redis")

        # The JWT is checked by signature at the gateway: no Redis needed (stateless sessions).
        wait_for(lambda: client.get("/api/users/me", headers=access).status_code == 200,
                 "the access token to work after the crash", timeout=30)
        refreshed = client.post("/api/users/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 401  # the cost of the crash: sign in again
        again = client.post("/api/users/login", json={"email": email, "password": PASSWORD})
        assert again.status_code == 200 and again.json()["refresh_token"]
