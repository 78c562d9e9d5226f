"""The lab's control API through the edge, on the live native stack: refusals (no token, a
customer's token, an unknown component), the admin's view of every compose component, a kill
that the supervisor undoes, load shapes, the code view and a request's log lines; every action
is logged with who and what. (Production mode refuses even the admin: tests/unit/test_control_api.py.)"""

import json
import uuid

import pytest

from e2e.checkout_support import ADMIN, login, new_user, wait_for

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def admin(stack):
    with stack.client() as client:
        return login(client, ADMIN["email"], ADMIN["password"])


def test_the_control_api_refuses_without_a_token_and_to_a_customer(stack):
    with stack.client() as client:
        anonymous = client.get("/api/control/components")
        customer = new_user(client)
        as_customer = client.post("/api/control/components/products-1/stop", headers=customer["headers"])
        listing = client.get("/api/control/components", headers=customer["headers"])
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    assert as_customer.status_code == 403 and "admin" in as_customer.json()["detail"]
    assert listing.status_code == 403


def test_an_unknown_component_is_a_404_naming_it(stack, admin):
    with stack.client() as client:
        response = client.post("/api/control/components/products-9/kill", headers=admin)
    assert response.status_code == 404
    assert "products-9" in response.json()["detail"]


def test_the_admin_sees_every_compose_component_with_health_tier_and_role(stack, admin):
    with stack.client(timeout=30) as client:
        body = client.get("/api/control/components", headers=admin).json()
    assert body["runtime"] == "native"
    components = {c["name"]: c for c in body["components"]}
    assert set(components) == set(stack.plan())
    assert components["grafana"]["health"] == "absent"
    assert components["products-seed"]["health"] == "completed" and components["products-seed"]["tier"] == "job"
    assert components["users-db"]["role"] == "primary" and components["users-db"]["tier"] == "data"
    assert components["gateway-1"]["tier"] == "gateway" and components["nginx"]["tier"] == "edge"
    assert "gateway-1" in components["nginx"]["depends_on"]


def test_a_kill_from_the_control_api_is_undone_by_the_supervisor_and_audited(stack, admin):
    """The same call as the lab's "Kill products-2" lever, on a component that is back in a second (a
    service replica takes tens of seconds to boot on a busy machine; the browser tests restart one)."""
    target = "redis-exporter"

    def pid() -> str:
        return stack.ctl("ps", capture=True).stdout.split(f"\n{target} ", 1)[1].split()[1]

    pid_before = pid()
    with stack.client(timeout=30) as client:
        response = client.post(f"/api/control/components/{target}/kill", headers=admin)
        assert response.status_code == 200, response.text

        def healthy_again():
            body = client.get("/api/control/components", headers=admin).json()
            component = next(c for c in body["components"] if c["name"] == target)
            return component["health"] == "healthy" and component["uptime_s"] is not None
        wait_for(healthy_again, f"{target} back and healthy", timeout=120, interval=1)
    assert pid() != pid_before
    audit = [json.loads(line) for line in stack.log("control").splitlines()
             if line.startswith("{") and '"control action"' in line]
    assert any(entry["action"] == "kill" and entry["target"] == target and entry["role"] == "admin"
               and entry["user_id"] >= 1 for entry in audit)


def test_a_load_shape_starts_and_stops_from_the_control_api(stack, admin):
    with stack.client(timeout=30) as client:
        started = client.post("/api/control/load", headers=admin, json={"shape": "steady", "users": 2, "seconds": 30})
        assert started.status_code == 202, started.text
        assert client.get("/api/control/load", headers=admin).json()["running"] is True
        again = client.post("/api/control/load", headers=admin, json={"shape": "spike"})
        stopped = client.delete("/api/control/load", headers=admin)
    assert again.status_code == 409
    assert stopped.status_code == 200 and stopped.json()["running"] is False


def test_code_view_and_the_log_lines_of_one_request(stack, admin):
    request_id = f"lab-test-{uuid.uuid4().hex}"
    with stack.client(timeout=30) as client:
        # no-cache: past the edge's microcache, so the request reaches a gateway and a replica.
        assert client.get("/api/products?limit=1", headers={"X-Request-ID": request_id,
                                                              "Cache-Control": "no-cache"}).status_code == 200
        code = client.get("/api/control/code", params={"path": "src/chassis/replicas.py"}, headers=admin)
        secret = client.get("/api/control/code", params={"path": "../../etc/shadow"}, headers=admin)

        hops = [("nginx:",), ("gateway-1:", "gateway-2:"), ("products-1:", "products-2:")]

        def lines():  # each hop writes its line when its buffer flushes: wait for all three
            found = client.get("/api/control/logs", params={"request_id": request_id}, headers=admin).json()["lines"]
            return found if all(any(line.startswith(hop) for line in found) for hop in hops) else None
        found = wait_for(lines, "the request's log lines at nginx, a gateway and a products replica",
                         timeout=30, interval=1)
    assert code.status_code == 200 and "ReadRouter" in code.text
    assert secret.status_code == 404
