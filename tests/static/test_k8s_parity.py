"""docker-compose.yml <-> k8s/: one topology. Driven by the compose file itself, so a component
added to compose without its Kubernetes counterpart fails here by name.

For every compose service: a counterpart in k8s/compose-counterparts.yaml that the base renders.
For every compose service built from the Dockerfile: the same image and command, every
environment variable present with the same value once host names are mapped (compose's
replica lists and database hosts become Services), secrets taken from Secrets, and probes on
routes the app really serves, the readiness probe on the compose health check's route.
"""

import importlib
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from starlette.routing import Match

from k8s_render import find, render
from compose_model import compose_model

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = compose_model()["services"]
COUNTERPARTS = yaml.safe_load((ROOT / "k8s" / "compose-counterparts.yaml").read_text())
# App services deployed to a cluster: built from the root Dockerfile (infra images are built too,
# from infra/docker/); a development-only one, like the lab's control API, is `none`.
APP_SERVICES = {name: spec for name, spec in COMPOSE.items()
                if "build" in spec and spec["build"].get("dockerfile", "Dockerfile") == "Dockerfile"
                and COUNTERPARTS.get(name) not in (None, "none")}
WORKLOADS = ("Deployment", "Job")
# Values that differ by design: a pod's name is its replica name.
FROM_POD = {"REPLICA_NAME": "metadata.name"}


def counterpart(name: str) -> tuple[str, str] | None:
    target = COUNTERPARTS.get(name)
    return None if target in (None, "none") else tuple(target.split("/", 1))


def container_of(name: str) -> dict:
    kind, resource = counterpart(name)
    workload = find(render("base"), kind, resource)
    return workload["spec"]["template"]["spec"]["containers"][0]


def k8s_env(container: dict) -> dict[str, dict]:
    """name -> {"value": ...} | {"secret": ...} | {"field": ...}, ConfigMaps resolved, $(VAR) expanded."""
    env: dict[str, dict] = {}
    for source in container.get("envFrom", []):
        config = next(r for r in render("base") if r["kind"] == "ConfigMap"
                      and r["metadata"]["name"] == source["configMapRef"]["name"])
        env.update({key: {"value": value} for key, value in config["data"].items()})
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = {"value": variable["value"]}
        elif "secretKeyRef" in variable["valueFrom"]:
            env[variable["name"]] = {"secret": variable["valueFrom"]["secretKeyRef"]}
        else:
            env[variable["name"]] = {"field": variable["valueFrom"]["fieldRef"]["fieldPath"]}
    return env


def k8s_host(compose_host: str) -> str:
    """Compose host names as Kubernetes Services: a replica is its Deployment's Service, a
    database the CloudNativePG primary (-rw), the read replica the replicas' Service (-ro)."""
    if compose_host == "products-db-replica":
        return "products-db-ro"
    if compose_host in COUNTERPARTS and counterpart(compose_host) and counterpart(compose_host)[0] == "Cluster":
        return f"{compose_host}-rw"
    if (target := counterpart(compose_host)) and target[0] == "Deployment":
        return target[1]
    return compose_host


def normalised(value: str) -> str:
    """Hosts mapped, passwords blanked, a list of replica URLs reduced to its distinct Services."""
    def one(url: str) -> str:
        if "://" not in url:
            return url
        parts = urlsplit(url)
        user = f"{parts.username}:***@" if parts.password else ""
        hosts = parse_qs(parts.query).get("host")
        if hosts:
            # libpq multi-host over a Patroni pair (?host=a:5432&host=b:5432&target_session_attrs=...):
            # in Kubernetes, the CloudNativePG Service of that role, -rw (read-write) or -ro (standby).
            name, port = hosts[0].rsplit(":", 1)
            role = "ro" if "target_session_attrs=prefer-standby" in parts.query else "rw"
            return parts._replace(netloc=f"{user}{counterpart(name)[1]}-{role}:{port}", query="").geturl()
        host = k8s_host(parts.hostname or "")
        port = f":{parts.port}" if parts.port else ""
        if parts.hostname == "pgbouncer":
            # The pooler: one CloudNativePG Pooler per database cluster, on 5432. pgbouncer's database
            # `orders_1` is the database `orders` of orders-db-1 (a shard).
            name, _, shard = parts.path.strip("/").partition("_")
            host, port = f"{name}-db{f'-{shard}' if shard else ''}-pooler", ":5432"
            parts = parts._replace(path=f"/{name}")
        return parts._replace(netloc=f"{user}{host}{port}").geturl()

    urls = [one(part) for part in value.split(",")]
    return ",".join(dict.fromkeys(urls))


def expand(value: str, env: dict[str, dict]) -> str:
    """Kubernetes' $(VAR) expansion; a secret's value stays a placeholder (blanked like compose's)."""
    def replace(match: re.Match) -> str:
        found = env.get(match.group(1), {})
        return found.get("value", "***")
    return re.sub(r"\$\(([A-Z0-9_]+)\)", replace, value)


def test_every_compose_service_has_a_counterpart_that_renders():
    missing = sorted(set(COMPOSE) - set(COUNTERPARTS))
    assert not missing, (f"compose services without a Kubernetes counterpart: {missing}; add it to k8s/base "
                         f"and a line to k8s/compose-counterparts.yaml")
    stale = sorted(set(COUNTERPARTS) - set(COMPOSE))
    assert not stale, f"k8s/compose-counterparts.yaml names services compose no longer has: {stale}"
    resources = render("base")
    for name in COMPOSE:
        if (target := counterpart(name)) is not None:
            assert find(resources, *target), f"{name}: {'/'.join(target)} is not in the rendered base"


def test_compose_replicas_and_one_shots_map_onto_workloads():
    for name, spec in APP_SERVICES.items():
        kind, _ = counterpart(name)
        expected = "Job" if spec.get("restart") == "no" else "Deployment"
        assert kind == expected, f"{name} (restart: {spec.get('restart')}) should be a {expected}"


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_same_image_and_command(name):
    container = container_of(name)
    image, tag = COMPOSE[name]["image"].split(":")
    assert container["image"] == f"{image}:{tag}", "the base renders compose's image (the dev tag)"
    dev = find(render("overlays/dev"), *counterpart(name))["spec"]["template"]["spec"]["containers"][0]
    assert dev["image"] == COMPOSE[name]["image"]
    env = k8s_env(container)
    command = [expand(arg, env) for arg in container["command"]]
    assert command == COMPOSE[name]["command"], name


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_same_environment(name):
    container = container_of(name)
    env = k8s_env(container)
    compose_env = {key: str(value) for key, value in (COMPOSE[name].get("environment") or {}).items()}
    missing = sorted(set(compose_env) - set(env))
    assert not missing, f"{name}: compose variables missing in Kubernetes: {missing}"
    # Variables that exist only to be expanded into another value or the command ($(VAR)).
    expanded = [v["value"] for v in env.values() if "value" in v] + container["command"]
    helpers = {m for text in expanded for m in re.findall(r"\$\(([A-Z0-9_]+)\)", text)}
    extra = sorted(set(env) - set(compose_env) - helpers)
    assert not extra, f"{name}: Kubernetes-only variables {extra}"
    for key, compose_value in compose_env.items():
        mine = env[key]
        if key in FROM_POD:
            assert mine == {"field": FROM_POD[key]}, f"{name} {key}"
        elif "secret" in mine:
            assert re.search(r"(PASSWORD|SECRET)$", key), f"{name} {key}: a secret for a value that is not one"
        else:
            assert not re.search(r"(PASSWORD|SECRET)$", key), f"{name} {key}: a secret as a literal"
            assert expand(mine["value"], env) == normalised(compose_value), f"{name} {key}"


def test_dev_secrets_are_compose_development_defaults():
    secret = find(render("overlays/dev"), "Secret", next(
        r["metadata"]["name"] for r in render("overlays/dev")
        if r["kind"] == "Secret" and r["metadata"]["name"].startswith("scaleshop-secrets")))
    import base64

    values = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    gateway, users = COMPOSE["gateway-1"]["environment"], COMPOSE["users-1"]["environment"]
    assert values == {"jwt-secret": gateway["JWT_SECRET"], "admin-password": users["ADMIN_PASSWORD"]}


def routes_of(module: str):
    return importlib.import_module(f"{module}.main").create_app().routes


def serves(routes, path: str) -> bool:
    scope = {"type": "http", "path": path, "method": "GET", "root_path": "", "path_params": {}}
    return any(route.matches(scope)[0] == Match.FULL for route in routes)


@pytest.mark.parametrize("name", sorted(n for n, s in APP_SERVICES.items() if "gunicorn" in s["command"]))
def test_probes_point_at_real_routes_and_readiness_is_the_compose_health_check(name):
    container = container_of(name)
    module = COMPOSE[name]["command"][-1].split(".")[0]
    routes = routes_of(module)
    probes = {kind: container[kind]["httpGet"]["path"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
    for kind, path in probes.items():
        assert serves(routes, path), f"{name} {kind}: {path} is not a route of {module}"
    assert not serves(routes, "/health/not-a-route"), "the route check can fail"
    health_url = COMPOSE[name]["healthcheck"]["test"][-1]
    assert probes["readinessProbe"] == urlsplit(health_url).path
    assert probes["livenessProbe"] == "/health/live"
