"""The chaos experiments (chaos/experiments/*.json) are valid Chaos Toolkit experiments, one per row
of the matrix, each with a steady-state hypothesis, a method and rollbacks."""

import json
from pathlib import Path

import pytest
from chaoslib.experiment import ensure_experiment_is_valid
from chaoslib.loader import load_experiment

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted((ROOT / "chaos" / "experiments").glob("*.json"))
MATRIX = {"kill-gateway", "kill-service-replica", "kill-cache", "kill-queue", "kill-worker", "kill-beat",
          "kill-service-db", "kill-products-replica-db", "products-db-latency", "payment-provider-failing"}


def test_one_experiment_per_row_of_the_matrix():
    assert {path.stem for path in EXPERIMENTS} == MATRIX
    orders = [json.loads(path.read_text())["configuration"]["scaleshop_order"] for path in EXPERIMENTS]
    assert sorted(orders) == list(range(1, len(MATRIX) + 1))


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_chaos_toolkit_validates_it_and_it_has_hypothesis_method_and_rollbacks(path, monkeypatch):
    experiment = json.loads(path.read_text())
    assert experiment["steady-state-hypothesis"]["probes"] and experiment["method"] and experiment["rollbacks"]
    # What `chaos validate` does (chaostoolkit.commands.validate), in this process: one import of the
    # toolkit for every experiment instead of a process each. It imports each activity's module and
    # checks its function and arguments, so the repository root must be importable (`chaos.actions`).
    monkeypatch.syspath_prepend(str(ROOT))
    ensure_experiment_is_valid(load_experiment(str(path), {}))  # raises InvalidExperiment, naming the fault
