"""Capacity planning from measured figures (seed: "Capacity Planning" and "Resource Utilization").

The seed's planner divides projected requests per second by a per-server figure it
assumes (500 RPS per server, 2 DB queries per request, 1 KB per user). This one takes
those figures from the last `make bench` report instead, and keeps the seed's rule of
running servers at 50-70% of their capacity (HEADROOM), leaving the rest for spikes:

    peak rps           = users x requests per user per second x peak factor
    replicas (service) = ceil(peak rps of that service / (measured rps per replica x headroom)), at least 2
    DB connections     = Little's law: DB queries/s x mean query time / headroom
    cache memory       = products x measured bytes per product + users x 1 KB (the seed's session figure)
    machines           = ceil(worker processes / cores per machine) (one busy worker ~ one core)

Every number is printed with the measured figure it comes from.
"""

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "reports" / "bench"
SESSION_BYTES = 1024  # the seed: "1KB per user in cache" (an assumption, not measured)
REDIS_ENTRY_OVERHEAD = 100  # key, dict entry and TTL bookkeeping per Redis key (approximate)


@dataclass(frozen=True)
class Demand:
    users: int
    rps_per_user: float = 0.01  # the seed's example: 1,000 rps for 100,000 users
    peak_factor: float = 3.0
    headroom: float = 0.6
    login_share: float = 0.01  # of all requests: one login per session of ~100 requests
    order_share: float = 0.005

    def __post_init__(self):
        if not 0.5 <= self.headroom <= 0.7:
            raise ValueError(f"headroom {self.headroom} is outside the seed's 50-70% of capacity")
        if self.users <= 0 or self.rps_per_user <= 0 or self.peak_factor < 1:
            raise ValueError("users and rps per user must be > 0, the peak factor >= 1")

    @property
    def peak_rps(self) -> float:
        return self.users * self.rps_per_user * self.peak_factor


def replicas(rps: float, per_replica: float, headroom: float, minimum: int = 2) -> int:
    """Replicas to serve `rps` when each runs at `headroom` of its measured capacity (>= 2: one can fail)."""
    return max(minimum, math.ceil(rps / (per_replica * headroom)))


def variant(report: dict, scenario: str, name: str) -> dict:
    try:
        return report["scenarios"][scenario]["variants"][name]
    except KeyError as error:
        raise SystemExit(f"the bench report has no scenario {scenario} figure {name!r}: "
                         f"run `make bench` (all scenarios) first") from error


def plan(report: dict, demand: Demand) -> list[tuple[str, float, str]]:
    """(what, how many, which measured figure it comes from) for each line of the plan."""
    peak = demand.peak_rps
    reads = peak * (1 - demand.login_share - demand.order_share)
    logins, orders = peak * demand.login_share, peak * demand.order_share
    gateway = variant(report, "3", "gateway->services keepalive")["rps"]
    products = variant(report, "2", "cache-aside (Redis)")["rps"]
    users = variant(report, "4", "users x1")["rps"]
    checkout = variant(report, "6", "checkout")["rps"] / 2  # the stack has 2 orders replicas
    s2 = report["scenarios"]["2"]
    queries_per_read = s2["db_queries_per_request_cached"]
    query_seconds = (s2["mean_db_query_ms"] or 1.0) / 1000
    bytes_per_product = variant(report, "2", "cache-aside (Redis)")["bytes_per_response"] + REDIS_ENTRY_OVERHEAD
    catalogue = report["settings"].get("catalogue_total") or report["settings"]["products_sampled"]
    cores = report["machine"]["cores"]
    h = demand.headroom

    lines = [
        ("peak requests/s", peak, f"{demand.users:,} users x {demand.rps_per_user} rps x peak {demand.peak_factor}"),
        ("gateway replicas", replicas(peak, gateway, h), f"scenario 3: {gateway:.0f} rps per gateway (1 worker)"),
        ("products replicas", replicas(reads, products, h),
         f"scenario 2: {products:.0f} cached reads/s per replica; reads = {reads:.0f}/s"),
        ("users replicas", replicas(logins, users, h),
         f"scenario 4: {users:.1f} argon2 logins/s per replica; logins = {logins:.0f}/s"),
        ("orders replicas", replicas(orders, checkout, h),
         f"scenario 6: {checkout:.1f} orders/s per replica at the offered rate, not a maximum, so this is an "
         f"upper bound (raise BENCH_ORDER_RATE until orders/s stops following it); orders = {orders:.0f}/s"),
    ]
    workers = sum(count for what, count, _ in lines[1:])
    db_qps = reads * queries_per_read
    lines += [
        ("products DB queries/s", db_qps, f"scenario 2: {queries_per_read:.4f} DB queries per cached read"),
        ("products DB connections busy", math.ceil(db_qps * query_seconds / h),
         f"scenario 2: {query_seconds * 1000:.2f} ms mean query (Little's law, / headroom)"),
        ("cache memory GiB", (catalogue * bytes_per_product + demand.users * SESSION_BYTES) / 2**30,
         f"scenario 2: {bytes_per_product:.0f} B per product x {catalogue:,} products + the seed's 1 KB per user"),
        ("machines", math.ceil(workers / cores), f"{workers} worker processes / {cores} cores per bench machine"),
    ]
    full = report["scenarios"].get("1", {}).get("variants", {}).get("full path (cached)")
    if full:
        lines.append(("machines (whole stack per machine)", math.ceil(peak / (full["rps"] * h)),
                      f"scenario 1: {full['rps']:.0f} rps through the whole stack on one machine"))
    return lines


NEEDED = {"2", "3", "4", "6"}


def latest_report(directory: Path = REPORTS) -> Path:
    """The newest report that measured every scenario the plan needs (a BENCH_SCENARIOS subset may not)."""
    for path in sorted(directory.glob("*/report.json"), reverse=True):
        if NEEDED <= set(json.loads(path.read_text()).get("scenarios", {})):
            return path
    raise SystemExit(f"no complete bench report under {directory}: run `make up` then `make bench` first")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--rps-per-user", type=float, default=Demand.rps_per_user)
    parser.add_argument("--peak-factor", type=float, default=Demand.peak_factor)
    parser.add_argument("--headroom", type=float, default=Demand.headroom, help="0.5-0.7 (the seed)")
    parser.add_argument("--report", type=Path, help="a bench report.json (default: the latest)")
    parser.add_argument("--write-k8s", action="store_true",
                        help="write the HPA plan into k8s/overlays/prod/capacity.yaml and the figures it used "
                             "into k8s/capacity-figures.json")
    args = parser.parse_args()
    try:
        demand = Demand(users=args.users, rps_per_user=args.rps_per_user, peak_factor=args.peak_factor,
                        headroom=args.headroom)
    except ValueError as error:
        parser.error(str(error))
    path = args.report or latest_report()
    print(f"capacity plan from {path} (headroom {demand.headroom:.0%}: servers run at most that busy)\n")
    print(f"{'':36} {'':>12}  from")
    for what, value, source in plan(json.loads(path.read_text()), demand):
        shown = f"{value:,.2f}" if isinstance(value, float) and not value.is_integer() else f"{value:,.0f}"
        print(f"{what:36} {shown:>12}  {source}")
    from bench import hpa_plan  # it builds on this module's Demand

    figures = hpa_plan.figures_from_report(json.loads(path.read_text()))
    plans = hpa_plan.plan(figures, demand)
    hpa_plan.print_plan(plans, str(path))
    if args.write_k8s:
        hpa_plan.write_k8s(figures, demand, source=path.parent.name)

if __name__ == "__main__":
    main()
