"""Shipping without downtime (seed: "Zero-Downtime Deployment"): `make deploy` under a background
shopper, against the live stack.

- rolling: products goes to a new version replica by replica; not one shopper request fails and
  every replica reports the new version;
- canary, failing: the new version answers 503 to every request (the fault flag
  `error_rate@products:<version>`, targeted at that version only); Prometheus' error rate of the
  canary vs the baseline rolls it back automatically before it reaches 100%, within 60 s of its
  first step, and the baseline is untouched;
- canary, healthy: the same analysis passes and the version is promoted to every replica;
- blue-green of the gateway tier: green beside blue, the edge switched in one graceful reload, then
  switched back (rollback), not one request failed.

The shopper reads products through nginx with `Cache-Control: no-cache` (the edge's microcache
would otherwise answer for the replicas). Figures (failed requests, seconds to roll back, time per
strategy) go to reports/deploy/. Each test takes one canary step of 20 s instead of the default
two of 30 s, to keep the suite short; the mechanism is the same.
"""

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from e2e.checkout_support import ADMIN, login

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "reports" / "deploy"

pytestmark = pytest.mark.stack


class Shopper(threading.Thread):
    """Reads products through the edge in a loop; every answer but a 200 is a failed request."""

    def __init__(self, base_url: str):
        super().__init__(daemon=True)
        self.base_url, self.stopping = base_url, threading.Event()
        self.sent, self.failures, self.versions, self.retried = 0, [], Counter(), 0

    def get(self, client: httpx.Client, path: str) -> httpx.Response:
        """A GET, sent again once if the edge closed the idle keepalive connection it went out on (a
        graceful reload does that; browsers resend then too, RFC 9112 9.3.1). Counted in `retried`."""
        try:
            return client.get(path)
        except httpx.RemoteProtocolError:
            self.retried += 1
            return client.get(path)

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30, headers={"cache-control": "no-cache"}) as client:
            while not self.stopping.is_set():
                try:
                    answer = self.get(client, f"/api/products/{1 + self.sent % 50}")
                    self.versions[answer.headers.get("x-upstream-version")] += 1
                    if answer.status_code != 200:
                        self.failures.append(f"{answer.status_code} {answer.text[:100]}")
                except httpx.HTTPError as error:
                    self.failures.append(repr(error))
                self.sent += 1
                time.sleep(0.05)


class Shoppers:
    """A few shoppers at once, started and stopped together."""

    def __init__(self, base_url: str, count: int = 3):
        self.all = [Shopper(base_url) for _ in range(count)]

    def __enter__(self):
        for shopper in self.all:
            shopper.start()
        return self

    def __exit__(self, *exc):
        for shopper in self.all:
            shopper.stopping.set()
        for shopper in self.all:
            shopper.join()

    @property
    def sent(self) -> int:
        return sum(s.sent for s in self.all)

    @property
    def failures(self) -> list[str]:
        return [failure for s in self.all for failure in s.failures]

    @property
    def retried(self) -> int:
        return sum(s.retried for s in self.all)

    @property
    def versions(self) -> Counter:
        return sum((s.versions for s in self.all), Counter())


def run(stack, module: str, *args: str, log: Path) -> tuple[int, list[dict], float]:
    """Run a deploy command against the test stack: its exit code, its journal, its duration."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", module, *args, "--log", str(log)], cwd=ROOT, text=True,
                          env={**stack.env, "PYTHONPATH": str(ROOT / "src")}, capture_output=True, timeout=600)
    print(done.stdout[-4000:], done.stderr[-2000:])
    journal = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return done.returncode, journal, time.monotonic() - started


def versions(stack, service: str) -> dict[str, str]:
    plan = stack.plan()
    names = sorted(n for n in plan if n.rsplit("-", 1)[0] == service and n.rsplit("-", 1)[-1].isdigit()
                   and plan[n]["kind"] == "app")
    return {n: httpx.get(stack.url(n, 8000) + "/health/live", timeout=5).json()["version"] for n in names}


def set_flag(stack, field: str, value: str | None) -> None:
    url = f"redis://{stack.address('queue-redis')}:6379/0"
    verb = ["set", field, value] if value is not None else ["clear", field]
    subprocess.run([sys.executable, "-m", "chassis.flagctl", *verb], cwd=ROOT, check=True,
                   env={**stack.env, "FLAGS_REDIS_URL": url, "PYTHONPATH": str(ROOT / "src")})


def report(name: str, figures: dict) -> None:
    REPORTS.mkdir(parents=True, exist_ok=True)
    path = REPORTS / f"test-{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(figures, indent=2, default=str))
    print(f"\n{name}: {json.dumps({k: v for k, v in figures.items() if k != 'journal'}, default=str)} ({path})")


def test_a_rolling_deploy_replaces_every_replica_without_a_failed_request(stack, tmp_path):
    with Shoppers(stack.nginx) as shoppers:
        time.sleep(2)
        code, journal, seconds = run(stack, "stackctl.deploy", "products", "v2", "--strategy", "rolling",
                                     log=tmp_path / "rolling.jsonl")
        time.sleep(2)  # requests after the last replica is back: they must be answered by v2
    report("rolling", {"seconds": round(seconds, 1), "requests": shoppers.sent, "failed": len(shoppers.failures),
                       "answered_by_version": dict(shoppers.versions), "journal": journal})
    assert code == 0, journal[-3:]
    assert versions(stack, "products") == {"products-1": "v2", "products-2": "v2"}
    assert shoppers.versions["v2"] > 0
    assert shoppers.failures == [], shoppers.failures[:5]


def test_a_failing_canary_is_rolled_back_automatically_and_a_healthy_one_promoted(stack, tmp_path):
    before = versions(stack, "products")
    set_flag(stack, "error_rate@products:v3", "1")  # v3 answers 503 to everything; v1/v2 are untouched
    try:
        with Shoppers(stack.nginx) as shoppers:
            code, journal, seconds = run(stack, "stackctl.deploy", "products", "v3", "--strategy", "canary",
                                         "--steps", "1", "--step-seconds", "20", log=tmp_path / "failing.jsonl")
    finally:
        set_flag(stack, "error_rate@products:v3", None)
    rolled_back = next((entry for entry in journal if entry["step"] == "rolled back"), None)
    report("canary-failing", {"seconds": round(seconds, 1), "requests": shoppers.sent,
                              "failed": len(shoppers.failures), "failed_share": len(shoppers.failures) / shoppers.sent,
                              "rolled_back_after_first_step_s": rolled_back and rolled_back["seconds_since_first_step"],
                              "answered_by_version": dict(shoppers.versions), "journal": journal})
    assert code == 3 and rolled_back is not None, journal[-3:]
    assert not any(entry["step"] == "promoting" for entry in journal)
    assert any("error rate" in entry.get("reason", "") for entry in journal)
    assert rolled_back["seconds_since_first_step"] <= 60
    assert versions(stack, "products") == before  # the canary is gone, the baseline never touched
    assert len(shoppers.failures) <= 0.001 * shoppers.sent, shoppers.failures[:5]
    # The control room shows the same decisions, newest first (GET /api/control/deploys).
    with stack.client(timeout=30) as client:
        feed = client.get("/api/control/deploys",
                          headers=login(client, ADMIN["email"], ADMIN["password"])).json()["items"]
    assert [entry["step"] for entry in feed[:2]] == ["rolled back", "rolling back"], feed[:3]
    assert "error rate" in feed[1]["reason"]

    with Shoppers(stack.nginx) as shoppers:
        code, journal, seconds = run(stack, "stackctl.deploy", "products", "v4", "--strategy", "canary",
                                     "--steps", "1", "--step-seconds", "20", log=tmp_path / "healthy.jsonl")
    report("canary-healthy", {"seconds": round(seconds, 1), "requests": shoppers.sent,
                              "failed": len(shoppers.failures), "answered_by_version": dict(shoppers.versions),
                              "journal": journal})
    assert code == 0, journal[-3:]
    assert versions(stack, "products") == {"products-1": "v4", "products-2": "v4"}
    assert shoppers.failures == [], shoppers.failures[:5]


def test_blue_green_of_the_gateways_switches_and_rolls_back_without_a_failed_request(stack, tmp_path):
    with Shoppers(stack.nginx) as shoppers:
        code, journal, seconds = run(stack, "stackctl.bluegreen", "v2", log=tmp_path / "bluegreen.jsonl")
        assert code == 0, journal[-3:]
        time.sleep(3)
        on_green = httpx.get(stack.nginx + "/api/products/whoami", timeout=10).headers.get("x-served-by")
        code_back, back, seconds_back = run(stack, "stackctl.bluegreen", "v2", "--rollback",
                                            log=tmp_path / "bluegreen.jsonl")
        time.sleep(2)
        on_blue = httpx.get(stack.nginx + "/api/products/whoami", timeout=10).headers.get("x-served-by")
    switch = next(entry for entry in back if entry["step"] == "edge switched to green")
    report("blue-green", {"seconds_deploy": round(seconds, 1), "seconds_rollback": round(seconds_back, 1),
                          "switch_seconds": switch["seconds_to_switch"], "requests": shoppers.sent,
                          "failed": len(shoppers.failures), "resent_after_reload": shoppers.retried,
                          "journal": back})
    assert code_back == 0, back[-3:]
    green = next(entry for entry in back if entry["step"] == "green starting beside blue")["green"]
    assert on_green in green
    assert on_blue in ("gateway-1", "gateway-2")
    assert shoppers.failures == [], shoppers.failures[:5]
