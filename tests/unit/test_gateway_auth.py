"""Gateway authentication: which routes are public, and what a protected route refuses."""

import time

import pytest
from fastapi import HTTPException
from starlette.requests import Request

from chassis.tokens import issue_access_token
from gateway.auth import authenticate, is_public
from gateway.ratelimit import current_window

SECRET = "unit-test-secret-0123456789abcdef0123456789"


def request(method: str, path: str, token: str | None = None) -> Request:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    return Request({"type": "http", "method": method, "path": path, "headers": headers, "query_string": b""})


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/users/register"), ("POST", "/api/users/login"), ("POST", "/api/users/refresh"),
    ("POST", "/api/users/logout"), ("GET", "/api/products"), ("GET", "/api/products/42"),
    ("GET", "/api/products/search"), ("HEAD", "/api/products/42"), ("GET", "/api/openapi.json"),
    ("GET", "/api/docs"), ("GET", "/api/orders/whoami"),
])
def test_public_routes(method, path):
    assert is_public(method, path)


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/users/me"), ("PATCH", "/api/users/me"), ("POST", "/api/products"),
    ("PUT", "/api/products/42"), ("DELETE", "/api/products/42"), ("GET", "/api/orders"),
    ("POST", "/api/orders"), ("GET", "/api/notifications"), ("GET", "/api/users/register"),
    ("GET", "/api/productsX"), ("POST", "/api/users/login/extra"),
])
def test_protected_routes(method, path):
    assert not is_public(method, path)


def test_a_valid_token_identifies_the_caller():
    token = issue_access_token(user_id=7, role="customer", secret=SECRET, ttl_seconds=60)
    identity = authenticate(request("GET", "/api/orders", token), SECRET)
    assert (identity.user_id, identity.role) == (7, "customer")


@pytest.mark.parametrize(("token", "reason"), [
    (None, "missing"),
    (issue_access_token(user_id=7, role="customer", secret=SECRET, ttl_seconds=60, now=time.time() - 600), "expired"),
    (issue_access_token(user_id=7, role="admin", secret="wrong-secret-0123456789abcdef012345", ttl_seconds=60),
     "invalid"),
    ("garbage", "invalid"),
])
def test_a_protected_route_refuses_with_401_and_www_authenticate(token, reason):
    with pytest.raises(HTTPException) as refused:
        authenticate(request("GET", "/api/orders", token), SECRET)
    assert refused.value.status_code == 401
    assert refused.value.headers["WWW-Authenticate"].startswith("Bearer")
    assert (reason == "missing") == ("invalid_request" in refused.value.headers["WWW-Authenticate"])


def test_a_public_route_ignores_a_stale_token():
    stale = issue_access_token(user_id=7, role="customer", secret=SECRET, ttl_seconds=60, now=time.time() - 600)
    assert authenticate(request("GET", "/api/products/1", stale), SECRET) is None


def test_rate_limit_windows_are_numbered_and_say_when_they_end():
    window = current_window("ip:1.2.3.4", 60, now=6000.5)
    assert window.key == "ratelimit:ip:1.2.3.4:100"
    assert window.retry_after == 60
    assert current_window("ip:1.2.3.4", 60, now=6059.2).retry_after == 1
    assert current_window("ip:1.2.3.4", 60, now=6060.0).key == "ratelimit:ip:1.2.3.4:101"
