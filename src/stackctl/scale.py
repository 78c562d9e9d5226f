"""Add and remove replicas of a service in the native runtime: what changing a Deployment's
replica count does on Kubernetes (seed: "Autoscaling (Elasticity)").

Adding `products-3`: the compose entry of the service's first replica, with its own name,
translated like every other service (its own loopback address, from {net}.200 on, and its own
container directory), becomes a supervisord program at once; once its compose health check
passes (the caller polls `register_ready`, as endpoints wait for readiness) it is registered
where the others find it:
  - the gateways' replica set in Redis (gateway.discovery), so it gets traffic;
  - a Prometheus file_sd target (infra/prometheus/prometheus.yml), so it gets scraped.
Removing one, the reverse, drain first: deregistered, then DRAIN_SECONDS for every gateway to
stop choosing it and finish what it sent, then SIGTERM (gunicorn drains in-flight requests for
GRACEFUL_TIMEOUT), then the program is removed. Only added replicas are removed: the replicas
compose declares are the floor, as a Deployment's minReplicas would be.
"""

import copy
import json
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import redis

from gateway.discovery import key_of
from stackctl import orchestrate
from stackctl.compose import load_compose
from stackctl.plan import load_plan, save_plan
from stackctl.settings import get_settings
from stackctl.supervisor import Supervisor, render_conf
from stackctl.translate import NativeService, translate_service

FIRST_ADDED_OCTET = 200
PORT = 8000
# Two discovery polls (1 s each) and the longest request a gateway may still have in flight there.
DRAIN_SECONDS = 3.0


def replicas_of(plan: dict[str, NativeService], service: str) -> list[str]:
    """The service's replicas, `service-N`, in the order of N."""
    pattern = re.compile(rf"^{re.escape(service)}-(\d+)$")
    found = [(int(m.group(1)), name) for name in plan if (m := pattern.match(name)) and plan[name].kind == "app"]
    return [name for _, name in sorted(found)]


def url_of(replica: NativeService) -> str:
    return f"http://{replica.address}:{PORT}"


def targets_dir():
    return get_settings().state_dir / "volumes" / "prometheus-targets"


def redis_client(plan: dict[str, NativeService]) -> redis.Redis:
    """The Redis the gateways read their replica sets from (their own REDIS_URL)."""
    gateway = next(s for name, s in plan.items() if name.startswith("gateway-"))
    return redis.Redis.from_url(gateway.env["REDIS_URL"], socket_timeout=2, decode_responses=True)


def publish(plan: dict[str, NativeService], service: str, exclude: set[str] = frozenset()) -> None:
    """Register the service's replicas, but those in `exclude` (not ready yet), with the gateways
    (the whole set, in one step)."""
    urls = [url_of(plan[name]) for name in replicas_of(plan, service) if name not in exclude]
    with redis_client(plan).pipeline() as pipe:  # MULTI/EXEC: a gateway never reads half an update
        pipe.delete(key_of(service))
        pipe.sadd(key_of(service), *urls)
        pipe.execute()


def scrape_target(replica: NativeService, service: str) -> None:
    targets_dir().mkdir(parents=True, exist_ok=True)
    target = [{"targets": [f"{replica.address}:{PORT}"], "labels": {"service": service, "replica": replica.name}}]
    path = targets_dir() / f"{replica.name}.json"
    path.with_suffix(".tmp").write_text(json.dumps(target))
    path.with_suffix(".tmp").rename(path)  # atomic: Prometheus never reads half a file


def free_addresses(plan: dict[str, NativeService], count: int) -> list[str]:
    net = get_settings().net
    used = {s.address for s in plan.values()}
    free = [f"{net}.{octet}" for octet in range(FIRST_ADDED_OCTET, 255) if f"{net}.{octet}" not in used]
    if len(free) < count:
        raise SystemExit(f"no free loopback address left in {net}.{FIRST_ADDED_OCTET}-254")
    return free[:count]


def compose_services() -> dict:
    """The compose model (`docker-compose config`, about a second): callers that scale often load it once."""
    return load_compose(get_settings().compose_file)["services"]


def start_replicas(service: str, count: int, compose: dict | None = None,
                   env: dict[str, str] | None = None) -> list[str]:
    """Start `count` new replicas and return their names at once, like a Deployment creating pods:
    they get traffic only once `register_ready` has seen them healthy. `env` is added to the
    template's environment (a canary's SERVICE_VERSION, stackctl/deploy.py)."""
    settings = get_settings()
    plan = load_plan()
    existing = replicas_of(plan, service)
    if not existing:
        raise SystemExit(f"{service} has no replicas in the native stack (is it a service name?)")
    template = (compose or compose_services())[existing[0]]
    last = int(existing[-1].rsplit("-", 1)[1])
    addresses = {name: s.address for name, s in plan.items()}
    added = []
    for number, address in zip(range(last + 1, last + 1 + count), free_addresses(plan, count)):
        name = f"{service}-{number}"
        spec = copy.deepcopy(template)
        spec["environment"]["REPLICA_NAME"] = name
        spec["environment"].update(env or {})
        addresses[name] = address
        plan[name] = translate_service(name, spec, addresses, settings)
        added.append(name)
    save_plan(plan)
    supervisor = Supervisor(settings)
    settings.supervisor_conf.write_text(render_conf(plan, settings))
    supervisor.ensure_started()  # reloadConfig: supervisord learns the new programs
    for name in added:
        supervisor.start(name)
    return added


def register_ready(service: str, pending: set[str]) -> list[str]:
    """Run the compose health check of each pending replica once; register the healthy ones
    (Prometheus target, then the gateways' set, which leaves out those still pending)."""
    plan = load_plan()
    ready = [name for name in sorted(pending) if name in plan and orchestrate.run_healthcheck(plan[name])]
    for name in ready:
        scrape_target(plan[name], service)
    if ready:
        publish(plan, service, exclude=pending - set(ready))
    return ready


def remove_replicas(service: str, count: int, compose: dict | None = None, pending: set[str] = frozenset(),
                    drain_seconds: float = DRAIN_SECONDS) -> list[str]:
    """Drain and stop the `count` highest-numbered added replicas. Returns their names."""
    settings = get_settings()
    plan = load_plan()
    declared = set(compose or compose_services())
    removable = [name for name in replicas_of(plan, service) if name not in declared]
    removed = removable[::-1][:count]
    if not removed:
        return []
    remaining = {name: s for name, s in plan.items() if name not in removed}
    publish(remaining, service, exclude=set(pending))  # 1. no gateway chooses them from its next poll on
    time.sleep(drain_seconds)  # 2. requests already sent finish
    supervisor = Supervisor(settings)
    for name in removed:
        supervisor.stop(name)  # 3. SIGTERM: gunicorn drains, supervisord waits for the exit
        (targets_dir() / f"{name}.json").unlink(missing_ok=True)
    save_plan(remaining)
    settings.supervisor_conf.write_text(render_conf(remaining, settings))
    supervisor.ensure_started()  # reloadConfig: the programs are removed
    for name in removed:
        shutil.rmtree(plan[name].container_dir, ignore_errors=True)
    return removed


def reset(service: str, compose: dict | None = None) -> None:
    """Back to compose's replicas (used when an autoscaler stops)."""
    compose = compose or compose_services()
    extra = [name for name in replicas_of(load_plan(), service) if name not in compose]
    if extra:
        remove_replicas(service, len(extra), compose)
    publish(load_plan(), service)
