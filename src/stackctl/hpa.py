"""The HorizontalPodAutoscaler's algorithm, as Kubernetes documents it (seed: "Horizontal Pod
Autoscaler (HPA)"), with no I/O: the native autoscaler (stackctl.autoscale) feeds it metrics.

Per metric:      desired = ceil(current replicas x current value / target value)
                 no change while the ratio is within the tolerance (10%);
                 replicas without a value yet count as 0 when scaling up and as exactly on
                 target when scaling down (so a replica still starting never causes a swing).
Several metrics: the largest desired count wins.
Stabilization:   scaling down uses the highest recommendation of the last
                 `scaleDown.stabilizationWindowSeconds` (the load must stay low that long);
                 scaling up uses the lowest of `scaleUp.stabilizationWindowSeconds` (0: at once).
Rate policies:   per direction, how many replicas (Pods) or what share (Percent) may change per
                 periodSeconds, counted from the replicas at the start of the period;
                 selectPolicy Max allows the largest change of the policies.
Bounds:          minReplicas <= result <= maxReplicas.
"""

import math
from dataclasses import dataclass, field

TOLERANCE = 0.1


@dataclass(frozen=True)
class Policy:
    kind: str  # "Pods" | "Percent"
    value: int
    period_seconds: int


@dataclass(frozen=True)
class Direction:
    stabilization_seconds: int
    policies: tuple[Policy, ...] = ()
    select: str = "Max"


@dataclass(frozen=True)
class HpaSpec:
    min_replicas: int
    max_replicas: int
    cpu_utilization: int | None  # target, % of the CPU request
    rps_per_pod: float | None  # target of http_requests_per_second (AverageValue)
    scale_up: Direction
    scale_down: Direction

    @classmethod
    def from_manifest(cls, hpa: dict) -> "HpaSpec":
        """An autoscaling/v2 HorizontalPodAutoscaler as rendered from k8s/ (Kubernetes' defaults filled in)."""
        spec = hpa["spec"]
        cpu = rps = None
        for metric in spec["metrics"]:
            if metric["type"] == "Resource" and metric["resource"]["name"] == "cpu":
                cpu = int(metric["resource"]["target"]["averageUtilization"])
            elif metric["type"] == "Pods" and metric["pods"]["metric"]["name"] == "http_requests_per_second":
                rps = float(metric["pods"]["target"]["averageValue"])
        behavior = spec.get("behavior", {})

        def direction(name: str, default_window: int) -> Direction:
            rules = behavior.get(name, {})
            return Direction(
                stabilization_seconds=int(rules.get("stabilizationWindowSeconds", default_window)),
                policies=tuple(Policy(p["type"], int(p["value"]), int(p["periodSeconds"]))
                               for p in rules.get("policies", [])),
                select=rules.get("selectPolicy", "Max"),
            )

        return cls(int(spec.get("minReplicas", 1)), int(spec["maxReplicas"]), cpu, rps,
                   direction("scaleUp", 0), direction("scaleDown", 300))


def desired_for_metric(current: int, values: list[float | None], target: float,
                       tolerance: float = TOLERANCE) -> int:
    """Replicas one metric asks for; `values` has one entry per current replica (None: no value yet)."""
    known = [v for v in values if v is not None]
    if not known or target <= 0:
        return current
    missing = len(values) - len(known)
    ratio = (sum(known) / len(known)) / target
    if missing:
        # Scaling up: the missing ones count as idle; scaling down: as exactly on target.
        fill = 0.0 if ratio > 1 else target
        new_ratio = (sum(known) + fill * missing) / len(values) / target
        if (ratio > 1) != (new_ratio > 1) or abs(new_ratio - 1) <= tolerance:
            return current  # the fill changed the direction, or brought it within tolerance
        ratio = new_ratio
    if abs(ratio - 1) <= tolerance:
        return current
    return math.ceil(ratio * len(values))


@dataclass
class Recommender:
    """Turns raw recommendations into replica counts over time (stabilization, policies, bounds)."""

    spec: HpaSpec
    history: list[tuple[float, int]] = field(default_factory=list)  # (time, raw recommendation)
    changes: list[tuple[float, int]] = field(default_factory=list)  # (time, replicas added (+) or removed (-))

    def decide(self, now: float, current: int, raw: int) -> int:
        self.history.append((now, raw))
        up_window, down_window = self.spec.scale_up.stabilization_seconds, self.spec.scale_down.stabilization_seconds
        keep = max(up_window, down_window)
        self.history = [(t, r) for t, r in self.history if now - t <= keep]
        up = min([r for t, r in self.history if now - t <= up_window] or [raw])
        down = max([r for t, r in self.history if now - t <= down_window] or [raw])
        stabilized = current
        if stabilized < up:
            stabilized = up
        if stabilized > down:
            stabilized = down
        limited = self._rate_limited(now, current, stabilized)
        return max(self.spec.min_replicas, min(self.spec.max_replicas, limited))

    def record(self, now: float, change: int) -> None:
        if change:
            self.changes.append((now, change))

    def _rate_limited(self, now: float, current: int, wanted: int) -> int:
        if wanted > current and self.spec.scale_up.policies:
            limits = [self._limit(now, current, p, up=True) for p in self.spec.scale_up.policies]
            return min(wanted, max(limits) if self.spec.scale_up.select == "Max" else min(limits))
        if wanted < current and self.spec.scale_down.policies:
            limits = [self._limit(now, current, p, up=False) for p in self.spec.scale_down.policies]
            return max(wanted, min(limits) if self.spec.scale_down.select == "Max" else max(limits))
        return wanted

    def _limit(self, now: float, current: int, policy: Policy, up: bool) -> int:
        """The furthest a policy lets the count go, from the replicas at the start of its period."""
        moved = sum(c for t, c in self.changes if now - t < policy.period_seconds and (c > 0) == up)
        start = current - moved
        if policy.kind == "Pods":
            return start + policy.value if up else start - policy.value
        if up:
            return math.ceil(start * (1 + policy.value / 100))
        return math.ceil(start * (1 - policy.value / 100))
