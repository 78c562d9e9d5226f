"""The control API's guards: it refuses without a token, with a customer's token, with a forged
or expired one, in production mode whatever the token, and for a component that does not exist;
the admin's actions go through and are audited with who and what. The runtime here is a fake
(the live tests drive the real one through the edge: tests/e2e/test_control.py)."""

import asyncio
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from chassis.tokens import issue_access_token
from control import audit
from control.loadgen import LoadGenerator
from control.main import create_app
from control.settings import ControlSettings

SECRET = "dev-only-jwt-secret-change-me-in-production-0123456789"
PROD_SECRET = "a-real-production-secret-that-is-long-enough-0123456789"


class FakeRuntime:
    name = "fake"

    def __init__(self):
        self.actions = []

    async def components(self):
        return [{"name": "products-1", "tier": "service", "state": "running", "health": "healthy"}]

    async def known(self, name):
        return name == "products-1"

    async def act(self, name, action):
        self.actions.append((name, action))
        return f"{action} {name}"

    def logs(self, request_id, limit=200):
        return []


def client_for(environment="development", secret=SECRET):
    settings = ControlSettings(environment=environment, jwt_secret=secret)
    app = create_app(settings)
    app.state.runtime = FakeRuntime()  # the lifespan (real runtime) does not run without `with`
    app.state.load = LoadGenerator("http://127.0.0.1:9", app.state.project_dir)
    return TestClient(app), app


def bearer(role, secret=SECRET, ttl=300, now=None):
    token = issue_access_token(user_id=7 if role == "admin" else 8, role=role, secret=secret, ttl_seconds=ttl, now=now)
    return {"authorization": f"Bearer {token}"}


def test_no_token_is_refused_with_401():
    client, _ = client_for()
    response = client.get("/control/components")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("headers", [
    {"authorization": "Bearer not-a-jwt"},
    {"authorization": "Basic YWRtaW46YWRtaW4="},
    bearer("admin", secret="dev-only-some-other-secret-0123456789-0123456789"),
    bearer("admin", ttl=60, now=time.time() - 3600),
], ids=["garbage", "basic-auth", "forged-signature", "expired"])
def test_an_untrustworthy_token_is_refused_with_401(headers):
    client, _ = client_for()
    assert client.get("/control/components", headers=headers).status_code == 401


def test_a_customer_token_is_refused_with_403_and_nothing_happens():
    client, app = client_for()
    response = client.post("/control/components/products-1/stop", headers=bearer("customer"))
    assert response.status_code == 403
    assert "admin" in response.json()["detail"]
    assert app.state.runtime.actions == []


def test_production_mode_refuses_even_the_admin():
    client, app = client_for(environment="production", secret=PROD_SECRET)
    for method, path in [("GET", "/control/components"), ("POST", "/control/components/products-1/kill"),
                         ("POST", "/control/load"), ("GET", "/control/code?path=README.md")]:
        response = client.request(method, path, headers=bearer("admin", secret=PROD_SECRET))
        assert response.status_code == 403, (method, path)
        assert "ENVIRONMENT=development" in response.json()["detail"]
    assert app.state.runtime.actions == []


def test_unknown_component_is_a_404_naming_it_and_is_audited():
    client, app = client_for()
    response = client.post("/control/components/products-9/kill", headers=bearer("admin"))
    assert response.status_code == 404
    assert "products-9" in response.json()["detail"]
    assert app.state.runtime.actions == []
    assert audit.RECENT[0]["target"] == "products-9" and audit.RECENT[0]["outcome"].startswith("refused")


def test_unknown_action_is_a_422():
    client, _ = client_for()
    assert client.post("/control/components/products-1/explode", headers=bearer("admin")).status_code == 422


def test_the_admin_pulls_a_lever_and_the_action_is_audited_with_who_and_what():
    client, app = client_for()
    response = client.post("/control/components/products-1/stop", headers=bearer("admin"))
    assert response.status_code == 200, response.text
    assert app.state.runtime.actions == [("products-1", "stop")]
    entry = audit.RECENT[0]
    assert (entry["user_id"], entry["role"], entry["action"], entry["target"], entry["outcome"]) == \
        (7, "admin", "stop", "products-1", "done")
    listed = client.get("/control/audit", headers=bearer("admin")).json()["items"]
    assert listed[0]["action"] == "stop"


def test_load_requests_are_validated():
    client, _ = client_for()
    assert client.post("/control/load", json={"shape": "tsunami"}, headers=bearer("admin")).status_code == 422
    assert client.post("/control/load", json={"shape": "steady", "users": 10_000},
                       headers=bearer("admin")).status_code == 422


def test_code_view_serves_repository_sources_only():
    client, _ = client_for()
    admin = bearer("admin")
    ok = client.get("/control/code", params={"path": "src/control/auth.py"}, headers=admin)
    assert ok.status_code == 200 and "admin_caller" in ok.text
    for path in ["../../etc/passwd", "/etc/passwd", ".venv/pyvenv.cfg", "src/../.git/config"]:
        assert client.get("/control/code", params={"path": path}, headers=admin).status_code == 404, path


def test_an_unknown_flag_is_a_404_and_a_customer_cannot_set_flags():
    client, _ = client_for()
    unknown = client.put("/control/flags/no_such_flag", json={"value": 1}, headers=bearer("admin"))
    assert unknown.status_code == 404 and "no_such_flag" in unknown.json()["detail"]
    assert client.put("/control/flags/latency_ms", json={"value": 300}, headers=bearer("customer")).status_code == 403


class SlowStopRuntime(FakeRuntime):
    """A stop that drains for a while, like gunicorn's graceful shutdown."""

    async def act(self, name, action):
        self.actions.append((name, f"{action} begins"))
        await asyncio.sleep(0.3 if action == "stop" else 0)
        self.actions.append((name, f"{action} ends"))
        return f"{action} {name}"


async def test_a_start_sent_while_a_stop_drains_runs_after_it():
    """Two clicks in the lab, Stop then Start: the start must not land on a component still stopping
    (supervisord would answer "already running" and it would stay stopped)."""
    _, app = client_for()
    app.state.runtime = SlowStopRuntime()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://control") as client:
        stop = asyncio.create_task(client.post("/control/components/products-1/stop", headers=bearer("admin")))
        await asyncio.sleep(0.05)
        start = await client.post("/control/components/products-1/start", headers=bearer("admin"))
        assert (await stop).status_code == 200 and start.status_code == 200
    assert [action for _, action in app.state.runtime.actions] == \
        ["stop begins", "stop ends", "start begins", "start ends"]
