"""Users and the gateway's edge duties, black-box through nginx on the live test stack.

Registration and validation, login, the profile cache (write-through, seen from the other
replica and in Redis itself), refresh-token rotation and logout, the gateway's
authorisation matrix (missing / expired / tampered / wrongly signed tokens, forged
identity headers), brute-force protection on login, internal routes never exposed, and
the merged OpenAPI document.
"""

import base64
import json
import time
import uuid

import httpx
import jwt
import pytest
import redis
import redis.asyncio

from chassis.settings import ServiceSettings
from gateway import ratelimit

pytestmark = pytest.mark.stack

PASSWORD = "correct horse battery"


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def register(client: httpx.Client, email: str | None = None, name: str = "Ada") -> dict:
    response = client.post("/api/users/register", json={"email": email or new_email(), "password": PASSWORD,
                                                        "name": name})
    assert response.status_code == 201, response.text
    return response.json()


def login(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/api/users/login", json={"email": email, "password": password})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def user(stack) -> dict:
    """A fresh registered user with a token pair."""
    with stack.client() as client:
        profile = register(client)
        tokens = login(client, profile["email"]).json()
    return {**profile, **tokens}


# ---------------------------------------------------------------- registration and login

def test_register_returns_the_profile_and_refuses_a_taken_email_in_any_case(stack):
    email = new_email()
    with stack.client() as client:
        profile = register(client, email.upper())
        assert profile["email"] == email
        assert profile["role"] == "customer"
        assert set(profile) >= {"id", "email", "name", "role"} and "password_hash" not in profile
        again = client.post("/api/users/register", json={"email": email, "password": PASSWORD, "name": "Other"})
    assert again.status_code == 409
    assert again.json()["detail"] == "email already registered"


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "not-an-email", "password": PASSWORD, "name": "Ada"}, "email"),
    ({"email": "EMAIL", "password": "short", "name": "Ada"}, "password"),
    ({"email": "EMAIL", "password": PASSWORD, "name": ""}, "name"),
    ({"email": "EMAIL", "password": PASSWORD, "name": "Ada", "role": "admin"}, "role"),
    ({"email": "EMAIL", "password": PASSWORD}, "name"),
])
def test_register_refuses_bad_input_with_422_naming_the_field(stack, body, field):
    body = {key: new_email() if value == "EMAIL" else value for key, value in body.items()}
    with stack.client() as client:
        response = client.post("/api/users/register", json=body)
    assert response.status_code == 422, response.text
    assert field in {error["loc"][-1] for error in response.json()["detail"]}


def test_register_refuses_a_body_that_is_not_json_with_4xx(stack):
    with stack.client() as client:
        response = client.post("/api/users/register", content=b"{not json",
                               headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500
    assert "detail" in response.json()


def test_login_returns_a_token_pair_and_refuses_bad_credentials(stack):
    with stack.client() as client:
        profile = register(client)
        ok = login(client, profile["email"].upper())
        wrong_password = login(client, profile["email"], "wrong password")
        unknown = login(client, new_email())
    assert ok.status_code == 200
    tokens = ok.json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] > 0 and tokens["refresh_token"]
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["sub"] == str(profile["id"]) and claims["role"] == "customer"
    assert {"exp", "iat", "jti"} <= set(claims)
    for refused in (wrong_password, unknown):
        assert refused.status_code == 401
        assert refused.json() == {"detail": "invalid credentials"}


def test_the_development_admin_is_seeded(stack):
    with stack.client() as client:
        response = login(client, "admin@scaleshop.local", "dev-only-admin-password")
        assert response.status_code == 200, response.text
        me = client.get("/api/users/me", headers=bearer(response.json()["access_token"])).json()
    assert me["role"] == "admin"


# ---------------------------------------------------------------- profile: cache-aside read, write-through

def test_me_reads_and_patch_writes_through_to_the_cache_seen_by_the_other_replica(stack, user):
    headers = bearer(user["access_token"])
    with stack.client() as client:
        me = client.get("/api/users/me", headers=headers)
        assert me.status_code == 200
        assert me.json() == {key: user[key] for key in ("id", "email", "name", "role")}

        patched = client.patch("/api/users/me", headers=headers, json={"name": "Grace Hopper"})
        assert patched.status_code == 200, patched.text
        assert patched.json()["name"] == "Grace Hopper"
        writer = patched.headers["x-upstream-replica"]

        # The cache itself holds the new profile: written, not merely invalidated.
        cache = redis.Redis(host=stack.address("redis"), port=6379, decode_responses=True)
        version = cache.get(f"users_profile:ver:{user['id']}") or 0  # chassis.versioned_cache's versioned keys
        cached = json.loads(cache.get(f"users_profile:v1:{user['id']}:{version}"))
        assert cached["name"] == "Grace Hopper"
        assert cache.ttl(f"users_profile:v1:{user['id']}:{version}") > 0

        other = ({"users-1", "users-2"} - {writer}).pop()
        readers = {}
        for _ in range(20):  # round robin: the other replica answers within a few reads
            response = client.get("/api/users/me", headers=headers)
            readers[response.headers["x-upstream-replica"]] = response.json()["name"]
            if other in readers:
                break
    assert readers.get(other) == "Grace Hopper", readers


def test_patch_me_refuses_bad_input(stack, user):
    with stack.client() as client:
        for body in ({"name": ""}, {"name": "x" * 101}, {"name": "Ok", "email": "evil@example.com"}, {}):
            response = client.patch("/api/users/me", headers=bearer(user["access_token"]), json=body)
            assert response.status_code == 422, (body, response.text)


# ---------------------------------------------------------------- refresh tokens: rotation, logout, any replica

def test_refresh_rotates_the_token_and_the_old_one_stops_working(stack, user):
    with stack.client() as client:
        rotated = client.post("/api/users/refresh", json={"refresh_token": user["refresh_token"]})
        assert rotated.status_code == 200, rotated.text
        pair = rotated.json()
        assert pair["refresh_token"] != user["refresh_token"]
        assert client.get("/api/users/me", headers=bearer(pair["access_token"])).json()["id"] == user["id"]

        reused = client.post("/api/users/refresh", json={"refresh_token": user["refresh_token"]})
        assert reused.status_code == 401
        assert client.post("/api/users/refresh", json={"refresh_token": "never-issued"}).status_code == 401
        assert client.post("/api/users/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 200


def test_logout_revokes_the_refresh_token(stack, user):
    with stack.client() as client:
        assert client.post("/api/users/logout", json={"refresh_token": user["refresh_token"]}).status_code == 204
        assert client.post("/api/users/refresh", json={"refresh_token": user["refresh_token"]}).status_code == 401
        assert client.post("/api/users/logout", json={"refresh_token": user["refresh_token"]}).status_code == 204


def test_a_session_started_on_one_replica_continues_on_the_other(stack):
    """Stateless services: the refresh token lives in Redis, not in a replica's memory."""
    email = new_email()
    with stack.client() as client:
        register(client, email)
    one = httpx.post(f"{stack.url('users-1', 8000)}/users/login", json={"email": email, "password": PASSWORD})
    assert one.status_code == 200 and one.headers["x-served-by"] == "users-1"
    two = httpx.post(f"{stack.url('users-2', 8000)}/users/refresh", json={"refresh_token": one.json()["refresh_token"]})
    assert two.status_code == 200 and two.headers["x-served-by"] == "users-2"


# ---------------------------------------------------------------- the gateway's authorisation matrix

def forge(claims: dict, secret: str | None = None) -> str:
    return jwt.encode(claims, secret or ServiceSettings().jwt_secret, algorithm="HS256")


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_protected_routes_refuse_missing_expired_tampered_and_wrongly_signed_tokens(stack, user):
    now = int(time.time())
    claims = {"sub": str(user["id"]), "role": "customer", "jti": uuid.uuid4().hex}
    cases = {
        "missing": {},
        "not bearer": {"Authorization": f"Basic {user['access_token']}"},
        "expired": bearer(forge({**claims, "iat": now - 3600, "exp": now - 60})),
        "tampered": bearer(tampered(user["access_token"])),
        "wrong signature": bearer(forge({**claims, "iat": now, "exp": now + 600}, "not-the-secret-0123456789abcdef-0123456789")),
        "garbage": bearer("garbage"),
    }
    with stack.client() as client:
        assert client.get("/api/users/me", headers=bearer(user["access_token"])).status_code == 200
        for case, headers in cases.items():
            for method, path in (("GET", "/api/users/me"), ("GET", "/api/orders"), ("POST", "/api/products")):
                response = client.request(method, path, headers=headers, json={})
                assert response.status_code == 401, (case, path, response.text)
                assert response.headers["www-authenticate"].startswith("Bearer"), case
                assert response.json()["detail"], case


def test_an_undeclared_method_is_a_405_with_allow_with_or_without_a_token(stack, user):
    """RFC 9110 §15.5.6: the method is wrong whoever asks; only a method the path serves needs the token."""
    with stack.client() as client:
        for headers in ({}, bearer(user["access_token"])):
            for method, path, allow in (("PUT", "/api/users/me", {"GET", "PATCH"}),
                                        ("DELETE", "/api/orders", {"GET", "POST"}),
                                        ("TRACE", "/api/notifications", {"GET"})):
                response = client.request(method, path, headers=headers)
                assert response.status_code == 405, (method, path, headers, response.text)
                assert set(response.headers["allow"].replace(" ", "").split(",")) == allow, (method, path)
        assert client.request("PATCH", "/api/users/me", json={"name": "x"}).status_code == 401  # served: needs one


def test_a_token_forged_with_the_right_secret_is_accepted_until_it_expires(stack, user):
    """The converse of the matrix above: the refusals are about the token, not the route."""
    now = int(time.time())
    token = forge({"sub": str(user["id"]), "role": "customer", "jti": "x", "iat": now, "exp": now + 60})
    with stack.client() as client:
        assert client.get("/api/users/me", headers=bearer(token)).json()["id"] == user["id"]


def test_forged_identity_headers_are_ignored(stack, user):
    forged = {"X-User-Id": "1", "X-User-Role": "admin"}
    with stack.client() as client:
        anonymous = client.get("/api/users/me", headers=forged)
        assert anonymous.status_code == 401
        mine = client.get("/api/users/me", headers={**forged, **bearer(user["access_token"])})
    assert mine.status_code == 200
    assert (mine.json()["id"], mine.json()["role"]) == (user["id"], "customer")


def test_public_routes_need_no_token_even_with_a_stale_one(stack):
    stale = bearer(forge({"sub": "1", "role": "customer", "jti": "x", "iat": 1, "exp": 2}))
    with stack.client() as client:
        for headers in ({}, stale):
            for service in ("users", "orders"):
                assert client.get(f"/api/{service}/whoami", headers=headers).status_code == 200
            assert client.get("/api/products", headers=headers).status_code != 401
            assert client.post("/api/users/refresh", headers=headers, json={"refresh_token": "x"}).status_code == 401


# ---------------------------------------------------------------- edge: internal routes, brute force, docs

def test_internal_routes_and_unknown_services_are_not_exposed(stack, user):
    with stack.client() as client:
        for headers in ({}, bearer(user["access_token"])):
            for path in ("/api/products/internal/reserve", "/api/orders/internal", "/api/users/internal/x",
                         "/api/products//internal/reserve"):
                response = client.post(path, headers=headers, json={})
                assert response.status_code == 404, (path, response.text)
            assert client.get("/api/nosuchservice/x", headers=headers).status_code == 404


def gateway_metric(stack, name: str, **labels) -> float:
    selector = ",".join(f'{key}="{value}"' for key, value in labels.items())
    total = 0.0
    for gateway in ("gateway-1", "gateway-2"):
        for line in httpx.get(f"{stack.url(gateway, 8000)}/metrics", timeout=5).text.splitlines():
            if line.startswith(f"{name}{{") and selector in line:
                total += float(line.rsplit(" ", 1)[1])
    return total


def test_repeated_failed_logins_are_rate_limited_per_address_and_email(stack):
    email = new_email()
    with stack.client() as client:
        register(client, email)
        # The limit is per wall-clock minute: do not start the burst just before a minute ends.
        if 60 - time.time() % 60 < 15:
            time.sleep(60 - time.time() % 60 + 0.5)
        limited_before = gateway_metric(stack, "gateway_rate_limited_total", scope="login")
        failures = [login(client, email, "wrong password").status_code for _ in range(10)]
        assert failures == [401] * 10
        blocked = login(client, email)  # even the right password, until the window ends
        assert blocked.status_code == 429, blocked.text
        assert 1 <= int(blocked.headers["retry-after"]) <= 60
        assert blocked.json()["scope"] == "login"
        # Another account from the same address is not locked out by it.
        other = register(client)
        assert login(client, other["email"]).status_code == 200
    assert gateway_metric(stack, "gateway_rate_limited_total", scope="login") >= limited_before + 1


def test_the_gateway_serves_one_merged_openapi_document_and_swagger_ui(stack):
    with stack.client() as client:
        document = client.get("/api/openapi.json")
        docs = client.get("/api/docs")
    assert document.status_code == 200
    paths = document.json()["paths"]
    assert {"/api/users/register", "/api/users/login", "/api/users/me"} <= set(paths)
    assert all(path.startswith("/api/") and "/internal" not in path and "/health" not in path for path in paths)
    assert paths["/api/users/register"]["post"]["security"] == []
    assert "security" not in paths["/api/users/me"]["get"]
    assert docs.status_code == 200 and "swagger" in docs.text.lower() and "/api/openapi.json" in docs.text


def test_auth_failures_are_counted_by_reason(stack):
    before = gateway_metric(stack, "gateway_auth_failures_total", reason="missing")
    with stack.client() as client:
        for _ in range(3):
            assert client.get("/api/orders").status_code == 401
    assert gateway_metric(stack, "gateway_auth_failures_total", reason="missing") >= before + 3


async def test_the_rate_limiter_counts_in_redis_and_fails_open_without_it(stack):
    """Exact counting (failed logins) on the real Redis: within the limit, then refused with a Retry-After."""
    name = f"test:{uuid.uuid4().hex}"
    client = redis.asyncio.Redis(host=stack.address("redis"), port=6379, decode_responses=True)
    # An hour-long window, so that the five calls cannot straddle a window boundary.
    limiter = ratelimit.RateLimiter(client)
    results = [await limiter.hit(name=name, limit=3, window_seconds=3600) for _ in range(5)]
    assert results[:3] == [None, None, None]
    assert all(1 <= retry_after <= 3600 for retry_after in results[3:])
    assert await limiter.exceeded(name=name, limit=3, window_seconds=3600)
    window_key = ratelimit.current_window(name, 3600).key
    assert 0 < await client.ttl(window_key) <= 3601  # every counter expires
    await client.aclose()

    unreachable = redis.asyncio.Redis(host=stack.address("redis"), port=1, socket_connect_timeout=0.5)
    assert await ratelimit.RateLimiter(unreachable).hit(name=name, limit=1, window_seconds=1) is None
    await unreachable.aclose()


async def test_request_limits_are_shared_by_every_replica_through_batched_counts(stack):
    """Two limiters (two gateway processes) on one Redis: each admits on what it knows, and after a sync
    each knows the other's hits; counters expire; without Redis requests are admitted (fail open)."""
    name = f"test:{uuid.uuid4().hex}"
    client = redis.asyncio.Redis(host=stack.address("redis"), port=6379, decode_responses=True)
    first, second = ratelimit.RateLimiter(client), ratelimit.RateLimiter(client)
    window_key = ratelimit.current_window(name, 3600).key

    assert [first.admit(name=name, limit=5, window_seconds=3600) for _ in range(4)] == [None] * 4
    await first.sync()
    assert int(await client.get(window_key)) == 4
    assert second.admit(name=name, limit=5, window_seconds=3600) is None  # it does not know of the 4 yet
    await second.sync()  # now it does: 5 in Redis
    assert 1 <= second.admit(name=name, limit=5, window_seconds=3600) <= 3600
    await second.sync()
    assert int(await client.get(window_key)) == 6  # refused requests are counted too
    assert 0 < await client.ttl(window_key) <= 3601
    await client.aclose()

    unreachable = ratelimit.RateLimiter(redis.asyncio.Redis(host=stack.address("redis"), port=1,
                                                            socket_connect_timeout=0.5))
    assert unreachable.admit(name=name, limit=1, window_seconds=3600) is None
    await unreachable.sync()  # the counts are dropped, the limiter goes on
    assert unreachable.admit(name=name, limit=1, window_seconds=3600) is None
    await unreachable.redis.aclose()


def test_a_dead_service_opens_its_circuit_without_affecting_the_others(stack):
    """Both users replicas down: 503 naming users, then fail-fast from the open breaker; products unaffected."""
    for replica in ("users-1", "users-2"):
        stack.ctl("stop", replica)
    try:
        with stack.client() as client:
            answers = [client.get("/api/users/whoami") for _ in range(30)]
            assert client.get("/api/products/whoami").status_code == 200  # one service down is not the shop down
        assert {answer.status_code for answer in answers} == {503}, [a.text[:100] for a in answers]
        assert {answer.json()["dependency"] for answer in answers} == {"users"}
        assert "circuit breaker open" in {answer.json()["reason"] for answer in answers}
        assert gateway_metric(stack, "circuit_breaker_state", service="users") >= 2
    finally:
        for replica in ("users-1", "users-2"):
            stack.ctl("start", replica)
    with stack.client() as client:
        deadline = time.monotonic() + 30
        while client.get("/api/users/whoami").status_code != 200:  # half-open probe succeeds, circuit closes
            assert time.monotonic() < deadline, "the users circuit did not close after the replicas came back"
            time.sleep(0.5)
