"""products-db fails over under traffic (seed: "High Availability: Primary-Standby"), measured by the
same drill as `make failover-drill` (drills/failover.py; its report lands in reports/failover/).

These run last (tests/ha is the last test path): they move the primary and rewrite timelines.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]


def drill(stack, mode: str, tmp_path: Path) -> dict:
    out = tmp_path / f"{mode}.json"
    env = {**stack.env, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    subprocess.run([sys.executable, "-m", "drills.failover", "--mode", mode, "--json", str(out)],
                   env=env, cwd=ROOT, check=True, timeout=600)
    return json.loads(out.read_text())


def roles(stack) -> dict[str, str]:
    return {member["name"]: member["role"] for member in stack.patroni_cluster()["members"]}


def test_an_unplanned_failover_loses_no_committed_write_and_the_old_primary_rejoins(stack, tmp_path):
    """The primary's node dies (agent and Postgres SIGKILLed, kept down) under a writer and a reader."""
    result = drill(stack, "crash", tmp_path)
    assert result["new_primary"] != result["old_primary"]
    assert result["timeline_after"] > result["timeline_before"]  # a promotion: a new timeline
    assert result["writes_acknowledged"] > 0
    assert result["writes_lost"] == [], "acknowledged writes missing from the new primary"
    assert result["reads_failed"] == 0, result["read_failures"]
    # Writes fail only during the window, and then with a 503 that names the database.
    assert result["failed_writes_named_products_db"], result["write_failures"]
    # The drill returned after the old primary was started again and streamed on the new timeline.
    assert roles(stack)[result["old_primary"]] == "replica"


def test_a_planned_switchover_drops_no_read(stack, tmp_path):
    result = drill(stack, "switchover", tmp_path)
    assert result["new_primary"] != result["old_primary"]
    assert result["reads_failed"] == 0, result["read_failures"]
    assert result["writes_lost"] == []
    assert roles(stack) == {result["new_primary"]: "leader", result["old_primary"]: "replica"}
