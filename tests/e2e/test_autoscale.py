"""The native autoscaler (`make autoscale`) follows load: products scales from the HPA's minimum
to its maximum under load and back after it, and not one request fails meanwhile, the scale-down's
drains included (seeds: "Horizontal Pod Autoscaler (HPA)", "Autoscaling (Elasticity)").

Bounded: wrk sends paced reads through nginx (8 connections) until products serves on 4
replicas (at most 570 s); a probe client sends a request every 2 s for the whole run. The HPA is the dev overlay's (2..4 replicas) with two
overrides: a 20 s scale-down window instead of its 30 s, to keep the suite short, and 0.5 rps per
pod instead of 15, because on a machine shared by several stacks the whole path may serve only a
few requests per second (measured: 2 to 9 rps at load average 70-90), and the test must prove
the mechanism, not the machine's speed. The figures (time to scale
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
TARGET_RPS = 0.5


class Probe(threading.Thread):
    """One GET every 2 s through nginx (0.25 rps per pod at 2 pods: under the target, so the
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
                time.sleep(2)


def decisions(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def wait_for(log: Path, replicas: int, timeout: float) -> float | None:
    """Seconds until a decision shows `replicas` ready (serving), or None."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if any(d["ready"] == replicas for d in decisions(log)[-1:]):
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
        assert wait_for(log, 2, 240) is not None, "the autoscaler made no decision"
        load_result = {"requests": 0, "errors": 0, "rps": []}
        paths = tuple(f"/api/products/{i}" for i in range(1, 51))
        reached = threading.Event()

        def pace() -> None:
            # 10 s wrk runs until products serves on 4 replicas (or 570 s): a replica's start takes
            # seconds on a quiet machine and minutes on a crowded one, and the load must outlast it.
            started = time.monotonic()
            while not reached.is_set() and time.monotonic() - started < 570:
                run = run_wrk(stack.nginx, Load(connections=8, threads=1, seconds=10, paths=paths, delay_ms=25,
                                                timeout_seconds=30))
                load_result["requests"] += run["requests"]
                load_result["errors"] += run["errors"]
                load_result["rps"].append(round(run["rps"], 1))
            load_result["ended"] = time.monotonic()

        load = threading.Thread(target=pace)
        load_started = time.monotonic()
        load.start()
        # Generous bound: the floors are the figures in the report, not this timeout.
        to_max = wait_for(log, 4, 600)
        up_seconds = None if to_max is None else time.monotonic() - load_started
        reached.set()
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
        "load": {k: load_result.get(k) for k in ("rps", "requests", "errors")},
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
