"""The native autoscaler (`make autoscale`) follows load: products scales from the HPA's minimum
to its maximum under load and back after it, and not one request fails meanwhile, the scale-down's
drains included (seeds: "Horizontal Pod Autoscaler (HPA)", "Autoscaling (Elasticity)").

Bounded: wrk sends ~40 s of paced reads through nginx; a probe client sends a request every
500 ms for the whole run. The HPA is the dev overlay's (2..4 replicas) with two overrides: a
20 s scale-down window instead of its 30 s, to keep the suite short, and 2 rps per pod instead
of 15, because on a machine shared by several stacks the whole path may serve only a few
requests per second (measured: 4.5 rps at load average 80), and the test must prove the
mechanism, not the machine's speed. The figures (time to scale
up, time back to the minimum after the load, failed requests) go to reports/autoscale/.
"""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.wrk import Load, run_wrk  # noqa: E402

pytestmark = pytest.mark.stack

WINDOW = 20
TARGET_RPS = 2
LOAD_SECONDS = 40


class Probe(threading.Thread):
    """One GET every 500 ms through nginx (1 rps per pod at 2 pods: under the target, so the
    scale-down happens while it runs); every answer but a 200 is a failed request."""

    def __init__(self, base_url: str):
        super().__init__(daemon=True)
        self.base_url, self.stopping = base_url, threading.Event()
        self.sent, self.failures = 0, []

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            while not self.stopping.is_set():
                try:
                    response = client.get(f"/api/products/{1 + self.sent % 50}")
                    if response.status_code != 200:
                        self.failures.append(f"{response.status_code} {response.text[:100]}")
                except httpx.HTTPError as error:
                    self.failures.append(repr(error))
                self.sent += 1
                time.sleep(0.5)


def decisions(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def wait_for(log: Path, replicas: int, timeout: float) -> float | None:
    """Seconds until a decision shows `replicas` running, or None."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if any(d["now"] == replicas for d in decisions(log)[-1:]):
            return time.monotonic() - started
        time.sleep(0.5)
    return None


def test_products_scales_up_under_load_and_back_down_without_a_failed_request(stack, tmp_path):
    log, printed = tmp_path / "decisions.jsonl", (tmp_path / "autoscaler.out").open("w+")
    autoscaler = subprocess.Popen(
        [sys.executable, "-m", "stackctl.autoscale", "products", "--interval", "3",
         "--scale-down-window", str(WINDOW), "--target-rps", str(TARGET_RPS), "--duration", "900", "--log", str(log)],
        env={**stack.env, "PYTHONPATH": str(ROOT / "src")}, cwd=ROOT, stdout=printed,
        stderr=subprocess.STDOUT, text=True)
    probe = Probe(stack.nginx)
    probe.start()
    try:
        assert wait_for(log, 2, 60) is not None, "the autoscaler made no decision"
        load_result: dict = {}
        paths = tuple(f"/api/products/{i}" for i in range(1, 51))

        def pace() -> None:
            load_result.update(run_wrk(stack.nginx, Load(connections=8, threads=1, seconds=LOAD_SECONDS, paths=paths,
                                                         delay_ms=25, timeout_seconds=30)))
            load_result["ended"] = time.monotonic()

        load = threading.Thread(target=pace)
        load_started = time.monotonic()
        load.start()
        # Generous bounds (a replica's start takes seconds on a quiet machine, minutes on a crowded
        # one): the floors are the figures in the report, not these timeouts.
        to_max = wait_for(log, 4, 300)
        up_seconds = None if to_max is None else time.monotonic() - load_started
        load.join()
        load_ended = load_result["ended"]
        to_min = None
        if to_max is not None and wait_for(log, 2, WINDOW + 240) is not None:
            to_min = time.monotonic() - load_ended
    finally:
        probe.stopping.set()
        probe.join()
        autoscaler.terminate()  # SIGTERM ends --duration early; the autoscaler scales back to compose's
        autoscaler.wait(timeout=180)
        output = (tmp_path / "autoscaler.out").read_text()
    figures = {
        "hpa": f"k8s/overlays/dev (2..4 replicas), overridden: {TARGET_RPS} rps/pod, scale-down window {WINDOW} s",
        "seconds_from_load_start_to_max": up_seconds,
        "seconds_from_load_end_to_min": None if to_min is None else to_min,
        "load": {k: load_result.get(k) for k in ("rps", "requests", "errors", "non_2xx", "p99_ms")},
        "probe_requests": probe.sent, "probe_failures": probe.failures,
        "decisions": decisions(log),
    }
    report = ROOT / "reports" / "autoscale" / f"test-{time.strftime('%Y%m%d-%H%M%S')}.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(figures, indent=2))
    print(f"\nautoscale figures ({report}): up {up_seconds} s, down {to_min} s after the load, "
          f"{len(probe.failures)} failed of {probe.sent} probe requests, wrk errors {load_result.get('errors')}")
    assert up_seconds is not None, f"products never reached 4 replicas under load:\n{output[-3000:]}"
    assert to_min is not None, f"products did not scale back to 2 after the load:\n{output[-3000:]}"
    assert probe.failures == [], probe.failures[:5]
    assert load_result["errors"] == 0, load_result
    assert load_ended - load_started >= LOAD_SECONDS - 1
