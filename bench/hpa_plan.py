"""HorizontalPodAutoscaler settings and resource requests from measured figures
(seeds: "Capacity Planning", "Horizontal Pod Autoscaler (HPA)").

For every stateless service the planner turns one measured figure, the requests per
second one replica (one gunicorn worker) sustains, into what an HPA needs:

    target rps per pod = measured rps per replica x headroom       (the HPA's custom metric target)
    min replicas       = max(2, ceil(average rps of the service / target))   (2: one may fail)
    max replicas       = max(min, ceil(peak rps of the service / target))
    CPU request        = headroom x 1 core: a replica is one worker, CPU-bound at its measured
                         capacity, so at its target rate it uses `headroom` of a core; the HPA's
                         CPU target is 100% of that request (it scales when a pod does more than
                         its planned share, whatever the rps metric sees)
    memory request     = the measured PSS of a replica + 25%, limit twice the request

average rps = peak rps / peak factor (the Demand of bench.capacity). The prod overlay's
HPAs and requests are this plan for the default demand on the figures recorded in
k8s/capacity-figures.json (tests/static/test_k8s_capacity.py keeps them equal).
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path

from bench.capacity import ROOT, Demand, variant

# Where each service's per-replica figure comes from in a bench report, and its share of requests.
# payments and notifications serve only light reads and Celery-driven writes; no scenario measures
# them alone, so they take orders' checkout figure (the same stack of FastAPI + one Postgres write).
FIGURES = {
    "gateway": ("3", "gateway->services keepalive", 1.0),
    "products": ("2", "cache-aside (Redis)", None),  # reads: what is left after logins and orders
    "users": ("4", "users x1", None),
    "orders": ("6", "checkout", None),
    "payments": ("6", "checkout", None),
    "notifications": ("6", "checkout", None),
}
# `make footprint` on the native stack, one worker per replica (chassis/gunicorn_conf.py's note).
REPLICA_PSS_MIB = 83


@dataclass(frozen=True)
class ServicePlan:
    service: str
    per_replica_rps: float
    target_rps: float
    min_replicas: int
    max_replicas: int
    cpu_request_millicores: int
    memory_request_mib: int
    memory_limit_mib: int


def figures_from_report(report: dict) -> dict[str, float]:
    """The rps one replica sustains, per service, from a complete bench report."""
    figures = {}
    for service, (scenario, name, _) in FIGURES.items():
        rps = variant(report, scenario, name)["rps"]
        figures[service] = rps / 2 if scenario == "6" else rps  # scenario 6 ran on the 2 orders replicas
    return figures


def service_share(service: str, demand: Demand) -> float:
    """The share of all requests that reach `service` (the same mix as bench.capacity)."""
    if service == "gateway":
        return 1.0
    if service == "products":
        return 1 - demand.login_share - demand.order_share
    if service == "users":
        return demand.login_share
    return demand.order_share  # orders, payments, notifications: one call each per checkout


def plan_service(service: str, per_replica_rps: float, demand: Demand,
                 replica_pss_mib: float = REPLICA_PSS_MIB) -> ServicePlan:
    target = per_replica_rps * demand.headroom
    peak = demand.peak_rps * service_share(service, demand)
    minimum = max(2, math.ceil(peak / demand.peak_factor / target))
    memory_request = int(math.ceil(replica_pss_mib * 1.25 / 16) * 16)
    return ServicePlan(
        service=service,
        per_replica_rps=per_replica_rps,
        target_rps=round(target, 1),
        min_replicas=minimum,
        max_replicas=max(minimum, math.ceil(peak / target)),
        cpu_request_millicores=int(round(demand.headroom * 1000)),
        memory_request_mib=memory_request,
        memory_limit_mib=2 * memory_request,
    )


def plan(figures: dict[str, float], demand: Demand) -> list[ServicePlan]:
    return [plan_service(service, figures[service], demand) for service in FIGURES]


def print_plan(plans: list[ServicePlan], source: str) -> None:
    print(f"\nHPA and resources per service (k8s/overlays/prod), from {source}:")
    print(f"  {'service':<14} {'rps/replica':>11} {'target rps/pod':>14} {'min':>4} {'max':>5} "
          f"{'cpu req':>8} {'mem req':>8} {'mem lim':>8}")
    for p in plans:
        print(f"  {p.service:<14} {p.per_replica_rps:>11.1f} {p.target_rps:>14.1f} {p.min_replicas:>4} "
              f"{p.max_replicas:>5} {p.cpu_request_millicores:>7}m {p.memory_request_mib:>6}Mi {p.memory_limit_mib:>6}Mi")


def prod_overlay_patch(plans: list[ServicePlan], source: str) -> str:
    """k8s/overlays/prod/capacity.yaml: each service's HPA bounds and target, and its Deployment's
    requests and limits, as strategic-merge patches (written by `make capacity K8S_WRITE=1`)."""
    docs = [f"# Written by `make capacity` (bench/hpa_plan.py) from {source}; do not edit by hand.\n"]
    for p in plans:
        docs.append(
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
            f"metadata: {{name: {p.service}}}\n"
            f"spec:\n  minReplicas: {p.min_replicas}\n  maxReplicas: {p.max_replicas}\n"
            "  metrics:\n"
            "    - type: Resource\n      resource:\n        name: cpu\n"
            "        target: {type: Utilization, averageUtilization: 100}\n"
            "    - type: Pods\n      pods:\n        metric: {name: http_requests_per_second}\n"
            f"        target: {{type: AverageValue, averageValue: \"{p.target_rps:g}\"}}\n"
        )
        docs.append(
            "apiVersion: apps/v1\nkind: Deployment\n"
            f"metadata: {{name: {p.service}}}\n"
            "spec:\n  template:\n    spec:\n      containers:\n"
            f"        - name: {p.service}\n          resources:\n"
            f"            requests: {{cpu: {p.cpu_request_millicores}m, memory: {p.memory_request_mib}Mi}}\n"
            f"            limits: {{cpu: \"1\", memory: {p.memory_limit_mib}Mi}}\n"
        )
    return docs[0] + "---\n".join(docs[1:])


FIGURES_FILE = ROOT / "k8s" / "capacity-figures.json"
PROD_PATCH = ROOT / "k8s" / "overlays" / "prod" / "capacity.yaml"


def write_k8s(figures: dict[str, float], demand: Demand, source: str) -> None:
    """Record the figures and the demand, and the prod overlay's patch planned from them."""
    FIGURES_FILE.write_text(json.dumps({
        "sources": {service: f"bench report {source}, scenario {FIGURES[service][0]}" for service in figures},
        "demand": {"users": demand.users, "rps_per_user": demand.rps_per_user,
                   "peak_factor": demand.peak_factor, "headroom": demand.headroom},
        "rps_per_replica": {service: round(rps, 1) for service, rps in figures.items()},
    }, indent=2) + "\n")
    PROD_PATCH.write_text(prod_overlay_patch(plan(load_figures()[0], demand), f"bench report {source}"))
    print(f"\nwrote {FIGURES_FILE.relative_to(ROOT)} and {PROD_PATCH.relative_to(ROOT)}")


def load_figures(path: Path = FIGURES_FILE) -> tuple[dict[str, float], Demand]:
    """The recorded figures and demand the prod overlay was planned from."""
    data = json.loads(path.read_text())
    return data["rps_per_replica"], Demand(**data["demand"])


def main() -> None:
    """`python -m bench.hpa_plan`: print the recorded plan and rewrite the prod overlay's patch from
    k8s/capacity-figures.json (after editing a figure there, or a change to the planner)."""
    figures, demand = load_figures()
    plans = plan(figures, demand)
    print_plan(plans, str(FIGURES_FILE.relative_to(ROOT)))
    PROD_PATCH.write_text(prod_overlay_patch(plans, str(FIGURES_FILE.relative_to(ROOT))))
    print(f"\nwrote {PROD_PATCH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
