"""The Kubernetes manifests (k8s/): every overlay renders offline with `kubectl kustomize` and
validates against the Kubernetes API schemas in strict mode (kubernetes-validate); the custom
resources, whose schemas are not available offline, are checked for what the operators require."""

import sys
from functools import cache
from pathlib import Path

import kubernetes_validate
import pytest

from k8s_render import OVERLAYS, find, of_kind, render

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench import hpa_plan  # noqa: E402

# kubernetes-validate reads and parses the same schema files (the 1 MB _definitions.json among them)
# again for every resource it checks: about 1 s of each overlay. They cannot change during a run.
kubernetes_validate.utils.schema_contents = cache(kubernetes_validate.utils.schema_contents)

KUBERNETES_VERSION = "1.30.0"  # the oldest API the manifests use (preStop `sleep`, autoscaling/v2)
CUSTOM_KINDS = {  # kind -> apiVersion of the operator that serves it
    "Cluster": "postgresql.cnpg.io/v1",
    "ScheduledBackup": "postgresql.cnpg.io/v1",
    "Pooler": "postgresql.cnpg.io/v1",
    "Redis": "redis.redis.opstreelabs.in/v1beta2",
    "ServiceMonitor": "monitoring.coreos.com/v1",
}
STATELESS = ("gateway", "users", "products", "orders", "payments", "notifications")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_validates_strictly_against_the_kubernetes_schemas(overlay):
    resources = render(overlay)
    assert len(resources) > 30
    failures, custom = [], []
    for resource in resources:
        if resource["kind"] in CUSTOM_KINDS:
            custom.append(resource)
            continue
        try:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            failures.append(f"{resource['kind']}/{resource['metadata']['name']}: {error.message} at {list(error.path)}")
    assert not failures, "\n".join(failures)
    for resource in custom:
        assert resource["apiVersion"] == CUSTOM_KINDS[resource["kind"]], resource["metadata"]["name"]


def test_strict_validation_rejects_an_unknown_field():
    """The check above can fail: a misspelt field is refused, not ignored."""
    deployment = dict(find(render("base"), "Deployment", "products"))
    broken = {**deployment, "spec": {**deployment["spec"], "replicaz": 3}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_postgres_clusters_have_a_replica_and_backups_where_they_should(overlay):
    resources = render(overlay)
    clusters = {c["metadata"]["name"]: c for c in of_kind(resources, "Cluster")}
    # One Cluster per service, and the orders shards (src/orders/shards.py).
    assert set(clusters) == {f"{s}-db" for s in STATELESS if s != "gateway"} | {"orders-db-1", "orders-db-2"}
    for name, cluster in clusters.items():
        spec = cluster["spec"]
        assert spec["bootstrap"]["initdb"]["owner"] == name.removesuffix("-1").removesuffix("-2").removesuffix("-db"), name
        assert spec["storage"]["size"]
        expected = 1 if overlay == "overlays/dev" and name != "products-db" else 2
        assert spec["instances"] == expected, f"{overlay} {name}: primary + replica"
        if overlay != "overlays/dev":
            assert spec["backup"]["barmanObjectStore"]["destinationPath"].startswith("s3://"), name
            backups = [b for b in of_kind(resources, "ScheduledBackup") if b["spec"]["cluster"]["name"] == name]
            assert backups, f"{overlay}: no ScheduledBackup for {name}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_stateless_service_has_an_hpa_on_cpu_and_rps_with_stabilised_scale_down_and_a_pdb(overlay):
    resources = render(overlay)
    for name in STATELESS:
        hpa = find(resources, "HorizontalPodAutoscaler", name)
        assert hpa, f"{overlay}: no HPA for {name}"
        spec = hpa["spec"]
        assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 2 <= spec["minReplicas"] <= spec["maxReplicas"]
        metrics = {m["type"]: m for m in spec["metrics"]}
        assert metrics["Resource"]["resource"]["name"] == "cpu"
        assert metrics["Pods"]["pods"]["metric"]["name"] == "http_requests_per_second"
        assert float(metrics["Pods"]["pods"]["target"]["averageValue"]) > 0
        assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] > 0
        assert "replicas" not in find(resources, "Deployment", name)["spec"], f"{name}: the HPA owns the count"
        assert find(resources, "PodDisruptionBudget", name)["spec"]["minAvailable"] == 1


def test_beat_runs_alone():
    beat = find(render("base"), "Deployment", "beat")
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    assert find(render("base"), "HorizontalPodAutoscaler", "beat") is None


def test_graceful_termination_outlasts_gunicorns_drain():
    """SIGTERM comes after preStop; gunicorn then drains for GRACEFUL_TIMEOUT (chassis/gunicorn_conf.py)."""
    from chassis import gunicorn_conf

    for name in STATELESS:
        pod = find(render("base"), "Deployment", name)["spec"]["template"]["spec"]
        pause = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert pod["terminationGracePeriodSeconds"] >= pause + gunicorn_conf.graceful_timeout, name


def test_prod_secrets_are_not_committed_and_dev_ones_are_marked():
    assert not of_kind(render("overlays/prod"), "Secret")
    dev = of_kind(render("overlays/dev"), "Secret")
    assert dev and all("dev-only" in (ROOT / "k8s/overlays/dev/kustomization.yaml").read_text() for _ in dev)


def test_network_policies_let_only_the_edge_reach_the_gateway_and_only_callers_reach_services():
    policies = {p["metadata"]["name"]: p["spec"] for p in of_kind(render("base"), "NetworkPolicy")}
    assert policies["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    gateway = policies["gateway-from-edge"]["ingress"]
    assert gateway[0]["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
    for name in STATELESS[1:]:
        callers = {peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                   for rule in policies[f"{name}-from-callers"]["ingress"] for peer in rule["from"]}
        assert "gateway" in callers and "edge" not in callers, name
        assert callers <= {"gateway", "orders", "worker"}, f"{name} reachable from {callers}"


def test_prod_hpa_and_requests_are_the_capacity_plan_of_the_recorded_figures():
    """`make capacity K8S_WRITE=1` wrote them; a hand edit or a changed planner shows here."""
    figures, demand = hpa_plan.load_figures()
    resources = render("overlays/prod")
    for planned in hpa_plan.plan(figures, demand):
        hpa = find(resources, "HorizontalPodAutoscaler", planned.service)["spec"]
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (planned.min_replicas, planned.max_replicas)
        rps = next(m for m in hpa["metrics"] if m["type"] == "Pods")["pods"]["target"]["averageValue"]
        assert float(rps) == pytest.approx(planned.target_rps)
        container = find(resources, "Deployment", planned.service)["spec"]["template"]["spec"]["containers"][0]
        assert container["resources"]["requests"] == {"cpu": f"{planned.cpu_request_millicores}m",
                                                      "memory": f"{planned.memory_request_mib}Mi"}
        assert container["resources"]["limits"]["memory"] == f"{planned.memory_limit_mib}Mi"
