"""A short subset of the chaos matrix on an isolated test stack (`make test-chaos`; the whole matrix is `make chaos`):
the two crashes that used to lose orders. Each runs the real experiment through Chaos Toolkit with
the background shopper, and the report's floors must all hold."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def chaos_report(stack, tmp_path_factory):
    out = tmp_path_factory.mktemp("chaos")
    env = {**stack.env, "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}", "CHAOS_RUNTIME": "native", "CHAOS_OUT": str(out),
           "CHAOS_WARMUP": "5", "CHAOS_COOLDOWN": "10", "CHAOS_CUSTOMERS": "3"}
    run = subprocess.run([sys.executable, "-m", "chaos", "--experiment", "kill-queue,kill-worker"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    report = json.loads((out / "report.json").read_text())
    return {scenario["name"]: scenario for scenario in report["scenarios"]}, run


@pytest.mark.parametrize("name", ["kill-queue", "kill-worker"])
def test_a_crash_of_the_queue_or_the_worker_loses_no_order_and_charges_once(chaos_report, name):
    scenarios, run = chaos_report
    scenario = scenarios[name]
    assert scenario["placed"] > 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert scenario["journal_status"] == "completed", scenario
    assert (scenario["lost"], scenario["stuck"]) == (0, 0), scenario["statuses"]
    assert (scenario["double_charges"], scenario["money_kept_for_failed_orders"]) == (0, 0)
    assert (scenario["oversold_units"], scenario["leaked_units"]) == (0, 0)
    assert all(scenario["floors"].values()), scenario["floors"]
