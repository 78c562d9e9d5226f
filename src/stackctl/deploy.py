"""Ship a new version of a service without downtime, natively (seed: "Zero-Downtime Deployment"):
`make deploy SERVICE=products VERSION=v2 STRATEGY=rolling|canary` (blue-green of the gateway
tier: stackctl/bluegreen.py).

A version is a setting: SERVICE_VERSION in the replica's environment (chassis/settings.py), the
same code otherwise, told apart in /health/live, the X-Service-Version header and the
`service_version_info` metric. What a v2 does differently sits behind flags targeted at it
(`make flag NAME=error_rate@products:v2 VALUE=0.5`: a deliberately failing v2, chassis/flags.py).

Both strategies move replicas with the autoscaler's membership mechanism (stackctl/scale.py:
the gateways' replica set in Redis, gateway/discovery.py), so no request is sent to a replica
that is stopping or not ready yet:

- rolling (a Deployment's RollingUpdate with maxSurge 0, maxUnavailable 1): replica by replica,
  taken out of the pool, drained (DRAIN_SECONDS, then SIGTERM: gunicorn finishes in-flight
  requests), restarted with the new version, and put back only once its readiness check passes
  and /health/live reports the new version (the readiness gate) -- then the next one.
- canary (Argo Rollouts' steps, by replica ratio as a Deployment pair behind one Service does it):
  canary replicas of the new version join the baseline's pool (1 beside 2 = 33% of the traffic,
  2 beside 2 = 50%); during each step Prometheus is asked every few seconds for the error rate
  and p95 latency of the canary replicas and of the baseline over the step so far. A canary
  that is worse (more than `max_error_increase` more errors, or a p95 above
  `max_latency_ratio` x the baseline's + slack) is rolled back at once: drained and removed, the
  baseline never touched. A canary that passes every step is promoted: the baseline is rolled to
  the new version, then the canary replicas are drained away.

Every decision is printed and appended to a JSON-lines journal (reports/deploy/), which the
deploy test reads for its figures, and to the stack's deploy feed (`deploys.jsonl` in the state
directory), which the control room shows live (GET /api/control/deploys). `make up` translates docker-compose.yml again and so returns
every replica to compose's version.
"""

import argparse
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from stackctl import orchestrate, scale
from stackctl.plan import load_plan, save_plan
from stackctl.settings import get_settings
from stackctl.supervisor import Supervisor, render_conf

VERSION_VARIABLE = "SERVICE_VERSION"
READY_TIMEOUT = 300.0  # a replica's start takes seconds on a quiet machine, minutes on a crowded one
ANALYSIS_POLL_SECONDS = 5.0  # Prometheus scrapes every 5 s: asking more often learns nothing new


FEED_LINES = 200  # the feed keeps the last deploys' steps; the reports/deploy journals keep everything


def feed_path() -> Path:
    """The stack's deploy feed, read by the control service (src/control/native.py)."""
    return get_settings().state_dir / "deploys.jsonl"


@dataclass
class Journal:
    """Every step of a deploy, printed, appended as a JSON line to `path` (if given) and to the
    stack's deploy feed (so the control room shows deploys started from a terminal too)."""

    path: Path | None = None
    feed: Path | None = field(default_factory=feed_path)
    started: float = field(default_factory=time.monotonic)

    def __call__(self, step: str, **fields) -> dict:
        entry = {"t": round(time.monotonic() - self.started, 1),
                 "at": datetime.now(UTC).isoformat(timespec="seconds"), "step": step, **fields}
        print(f"[{entry['t']:6.1f}s] {step}" + "".join(f"  {k}={v}" for k, v in fields.items()), flush=True)
        line = json.dumps(entry, default=str) + "\n"
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as journal:
                journal.write(line)
        if self.feed and self.feed.parent.is_dir():
            kept = self.feed.read_text().splitlines(keepends=True)[-(FEED_LINES - 1):] if self.feed.exists() else []
            self.feed.write_text("".join(kept) + line)
        return entry


def version_of(name: str) -> str | None:
    """The version a replica reports in /health/live (None while it does not answer)."""
    try:
        answer = httpx.get(scale.url_of(load_plan()[name]) + "/health/live", timeout=3)
        return answer.json().get("version") if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError):
        return None


def wait_ready(name: str, version: str, timeout: float = READY_TIMEOUT) -> float:
    """The readiness gate: the compose health check passes and the replica runs `version`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if orchestrate.run_healthcheck(load_plan()[name]) and version_of(name) == version:
            return time.monotonic() - started
        time.sleep(0.5)
    raise SystemExit(f"{name} was not ready on {version} within {timeout:.0f}s: see `make logs NAME={name}`")


def replace_in_place(service: str, name: str, version: str, journal: Journal,
                     drain_seconds: float = scale.DRAIN_SECONDS) -> None:
    """One rolling step: out of the pool, drained, restarted on `version`, readiness-gated, back in."""
    settings = get_settings()
    supervisor = Supervisor(settings)
    plan = load_plan()
    scale.publish(plan, service, exclude={name})  # 1. the gateways stop choosing it from their next poll
    journal("out of the pool, draining", replica=name, drain_seconds=drain_seconds)
    time.sleep(drain_seconds)  # 2. what was already sent to it finishes
    supervisor.stop(name)  # 3. SIGTERM: gunicorn drains its in-flight requests, supervisord waits
    plan[name].env[VERSION_VARIABLE] = version
    save_plan(plan)
    settings.supervisor_conf.write_text(render_conf(plan, settings))
    supervisor.ensure_started()  # reloadConfig: the program's spec changed
    supervisor.start(name)
    seconds = wait_ready(name, version)  # 4. the readiness gate
    scale.publish(load_plan(), service)  # 5. back in the pool
    journal("ready on the new version, back in the pool", replica=name, version=version,
            seconds_to_ready=round(seconds, 1))


def serving(service: str) -> list[str]:
    """The service's replicas that answer /health/live now."""
    return [name for name in scale.replicas_of(load_plan(), service) if version_of(name) is not None]


def rolling(service: str, version: str, journal: Journal) -> None:
    replicas = scale.replicas_of(load_plan(), service)
    if len(serving(service)) < 2:
        raise SystemExit(f"{service}: a rolling deploy takes one replica out at a time and needs two serving")
    journal("rolling deploy", service=service, version=version, replicas=replicas)
    for name in replicas:
        if version_of(name) == version:
            journal("already on the version", replica=name, version=version)
            continue
        replace_in_place(service, name, version, journal)
    journal("rolled out", service=service, version=version, versions={n: version_of(n) for n in replicas})


# ----------------------------------------------------------------------------------------- canary
@dataclass
class Thresholds:
    """When a canary is worse than its baseline (Argo Rollouts' AnalysisTemplate, as numbers)."""

    max_error_increase: float = 0.02  # error rate may exceed the baseline's by 2 points at most
    max_latency_ratio: float = 2.0  # p95 may be twice the baseline's ...
    latency_slack_seconds: float = 0.25  # ... plus this (a shared machine's p95 is noisy)
    # Canary requests needed before its error rate counts. Few suffice, and a failing canary gets few
    # (the gateways retry its 5xx on another replica and eject it for 5 s): 3 failures in 3 requests
    # from a version whose true error rate were the baseline's ~0% + 2 points has odds of 0.02^3 = 8e-6.
    min_requests: int = 3
    # Latency is noisier (a new replica's first requests warm its pools): its p95 counts from 20 requests.
    min_requests_for_latency: int = 20


def prometheus_value(query: str) -> float | None:
    url = f"http://{load_plan()['prometheus'].address}:9090/api/v1/query"
    try:
        result = httpx.get(url, params={"query": query}, timeout=5).json()["data"]["result"]
    except (httpx.HTTPError, KeyError, ValueError):
        return None
    if not result:
        return None
    value = float(result[0]["value"][1])
    return None if value != value else value  # NaN (no requests in the window) is no value


def red(service: str, replicas: list[str], window: int) -> dict:
    """Requests, error rate and p95 of some replicas over the last `window` seconds, from Prometheus."""
    selector = f'service="{service}",replica=~"{"|".join(replicas)}"'
    requests = prometheus_value(f"sum(increase(http_requests_total{{{selector}}}[{window}s]))") or 0.0
    errors = prometheus_value(f'sum(increase(http_requests_total{{{selector},status=~"5.."}}[{window}s]))') or 0.0
    p95 = prometheus_value(
        f"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{{{selector}}}[{window}s])))")
    # increase() extrapolates to the window's edges, so errors may come out a little above requests.
    return {"requests": round(requests, 1), "error_rate": round(min(1.0, errors / requests), 4) if requests else None,
            "p95_seconds": None if p95 is None else round(p95, 3)}


def verdict(canary: dict, baseline: dict, thresholds: Thresholds) -> str | None:
    """Why the canary is worse than the baseline, or None while it is not (or proves nothing yet)."""
    if canary["requests"] < thresholds.min_requests:
        return None
    baseline_errors = baseline["error_rate"] or 0.0
    if canary["error_rate"] > baseline_errors + thresholds.max_error_increase:
        return f"error rate {canary['error_rate']:.1%} vs baseline {baseline_errors:.1%}"
    if (canary["requests"] >= thresholds.min_requests_for_latency and canary["p95_seconds"] is not None
            and baseline["p95_seconds"] is not None):
        limit = baseline["p95_seconds"] * thresholds.max_latency_ratio + thresholds.latency_slack_seconds
        if canary["p95_seconds"] > limit:
            return f"p95 {canary['p95_seconds']:.3f}s vs baseline {baseline['p95_seconds']:.3f}s (limit {limit:.3f}s)"
    return None


def analyse(service: str, canaries: list[str], baseline: list[str], seconds: float, thresholds: Thresholds,
            journal: Journal) -> str | None:
    """Watch one step for `seconds`: the reason to roll back as soon as there is one, else None."""
    started = time.monotonic()
    while True:
        time.sleep(ANALYSIS_POLL_SECONDS)
        elapsed = time.monotonic() - started
        window = max(15, round(elapsed) + 5)  # the step so far (and the scrape before it)
        canary, base = red(service, canaries, window), red(service, baseline, window)
        reason = verdict(canary, base, thresholds)
        journal("analysis", window_seconds=window, canary=canary, baseline=base, verdict=reason or "ok so far")
        if reason:
            return reason
        if elapsed >= seconds:
            if canary["requests"] < thresholds.min_requests:
                return f"only {canary['requests']:.0f} canary requests in {window}s: no evidence, no promotion"
            return None


def start_canaries(service: str, version: str, count: int) -> list[str]:
    """Start `count` replicas on `version` and wait until they are registered in the pool."""
    pending = set(scale.start_replicas(service, count, env={VERSION_VARIABLE: version}))
    started = set(pending)
    deadline = time.monotonic() + READY_TIMEOUT
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"canary replicas {sorted(pending)} not ready within {READY_TIMEOUT:.0f}s")
        pending -= set(scale.register_ready(service, pending))
        time.sleep(0.5)
    return sorted(started)


def canary(service: str, version: str, steps: list[int], step_seconds: float, thresholds: Thresholds,
           journal: Journal) -> bool:
    """Steps of canary replicas, each analysed; promoted after the last, rolled back at the first failure."""
    baseline = scale.replicas_of(load_plan(), service)
    journal("canary deploy", service=service, version=version, baseline=baseline,
            baseline_version=version_of(baseline[0]), steps=steps, step_seconds=step_seconds)
    canaries: list[str] = []
    first_step = None
    for count in steps:
        try:
            canaries += start_canaries(service, version, count - len(canaries))
        except TimeoutError as error:
            reason = str(error)
        else:
            first_step = first_step or time.monotonic()
            share = len(canaries) / (len(canaries) + len(baseline))
            journal("step", canaries=canaries, traffic_share=round(share, 2))
            reason = analyse(service, canaries, baseline, step_seconds, thresholds, journal)
        if reason:
            journal("rolling back", reason=reason)
            scale.remove_replicas(service, len(scale.replicas_of(load_plan(), service)) - len(baseline))
            journal("rolled back", service=service, version=version_of(baseline[0]),
                    seconds_since_first_step=round(time.monotonic() - (first_step or time.monotonic()), 1))
            return False
    journal("promoting", service=service, version=version)
    for name in baseline:
        replace_in_place(service, name, version, journal)
    scale.remove_replicas(service, len(canaries))
    journal("promoted", service=service, version=version,
            versions={name: version_of(name) for name in scale.replicas_of(load_plan(), service)})
    return True


def main() -> None:
    parser = argparse.ArgumentParser(prog="stackctl.deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("service")
    parser.add_argument("version")
    parser.add_argument("--strategy", choices=("rolling", "canary"), default="rolling")
    parser.add_argument("--steps", default="1,2", help="canary replicas per step (beside the baseline's)")
    parser.add_argument("--step-seconds", type=float, default=30.0, help="how long each canary step is analysed")
    parser.add_argument("--log", type=Path, help="append every decision here as JSON lines")
    args = parser.parse_args()
    journal = Journal(args.log)
    if args.strategy == "rolling":
        rolling(args.service, args.version, journal)
    else:
        steps = [int(step) for step in args.steps.split(",")]
        promoted = canary(args.service, args.version, steps, args.step_seconds, Thresholds(), journal)
        raise SystemExit(0 if promoted else 3)


if __name__ == "__main__":
    main()
