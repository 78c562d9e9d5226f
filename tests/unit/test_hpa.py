"""The HPA algorithm of the native autoscaler (stackctl.hpa), case by case as Kubernetes documents it."""

from stackctl.hpa import Direction, HpaSpec, Policy, Recommender, desired_for_metric

MANIFEST = {
    "spec": {
        "minReplicas": 2,
        "maxReplicas": 10,
        "metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
            {"type": "Pods", "pods": {"metric": {"name": "http_requests_per_second"},
                                      "target": {"type": "AverageValue", "averageValue": "15"}}},
        ],
        "behavior": {
            "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15},
                                     {"type": "Pods", "value": 4, "periodSeconds": 15}]},
            "scaleDown": {"stabilizationWindowSeconds": 30,
                          "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]},
        },
    }
}


def test_spec_reads_the_manifest_and_kubernetes_defaults():
    spec = HpaSpec.from_manifest(MANIFEST)
    assert (spec.min_replicas, spec.max_replicas, spec.cpu_utilization, spec.rps_per_pod) == (2, 10, 80, 15.0)
    assert spec.scale_up.policies == (Policy("Percent", 100, 15), Policy("Pods", 4, 15))
    assert spec.scale_down.stabilization_seconds == 30
    bare = HpaSpec.from_manifest({"spec": {"maxReplicas": 3, "metrics": []}})
    assert (bare.min_replicas, bare.scale_down.stabilization_seconds, bare.scale_up.stabilization_seconds) == (1, 300, 0)


def test_desired_is_ceil_of_current_times_ratio():
    assert desired_for_metric(2, [45.0, 45.0], 15) == 6  # ratio 3
    assert desired_for_metric(3, [16.0, 17.0, 20.0], 15) == 4  # ratio 1.178 -> ceil(3.53)
    assert desired_for_metric(4, [1.0, 1.0, 1.0, 1.0], 15) == 1  # bounds are applied later


def test_within_ten_percent_tolerance_nothing_changes():
    assert desired_for_metric(2, [16.4, 16.4], 15) == 2  # 1.093
    assert desired_for_metric(2, [13.6, 13.6], 15) == 2  # 0.907
    assert desired_for_metric(2, [16.6, 16.6], 15) == 3  # 1.107


def test_replicas_without_a_value_count_as_idle_up_and_on_target_down():
    # Scaling up: the new replica counts as 0, so the average of [60, 0] = 30 -> ratio 2 -> 4.
    assert desired_for_metric(2, [60.0, None], 15) == 4
    # Scaling down: the missing one counts as exactly on target: [3, 15] -> ratio 0.6 -> 2 (not 1).
    assert desired_for_metric(2, [3.0, None], 15) == 2
    # Missing counted on target brings a small drop within tolerance: hold.
    assert desired_for_metric(3, [12.0, None, None], 15) == 3
    assert desired_for_metric(2, [None, None], 15) == 2  # nothing known: hold


def test_scale_down_waits_for_the_highest_recommendation_of_the_window():
    recommender = Recommender(HpaSpec.from_manifest(MANIFEST))
    assert recommender.decide(0, 2, 6) == 6
    recommender.record(0, 4)
    assert recommender.decide(10, 6, 2) == 6  # 6 was recommended 10 s ago (window 30 s)
    assert recommender.decide(25, 6, 3) == 6
    assert recommender.decide(31, 6, 2) == 3  # 6 left the window; 3 (t=25) still in it
    assert recommender.decide(56, 6, 2) == 2


def test_scale_up_is_limited_by_the_policies_per_period():
    spec = HpaSpec.from_manifest(MANIFEST)
    recommender = Recommender(spec)
    # From 2: 100% -> 4, or +4 -> 6; selectPolicy Max allows 6.
    assert recommender.decide(0, 2, 10) == 6
    recommender.record(0, 4)
    # 5 s later the period (15 s) started at 2 replicas: still at most 6.
    assert recommender.decide(5, 6, 10) == 6
    # A new period: from 6, +100% -> 12, bounded by maxReplicas 10.
    assert recommender.decide(16, 6, 10) == 10


def test_bounds_and_a_scale_down_policy():
    spec = HpaSpec(2, 4, None, 15.0, Direction(0), Direction(0, (Policy("Pods", 1, 60),)))
    recommender = Recommender(spec)
    assert recommender.decide(0, 2, 9) == 4  # maxReplicas
    assert recommender.decide(1, 4, 0) == 3  # one pod per minute down
    recommender.record(1, -1)
    assert recommender.decide(30, 3, 0) == 3
    assert recommender.decide(62, 3, 0) == 2  # minReplicas
