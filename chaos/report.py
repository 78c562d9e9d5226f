"""The chaos report: report.json (everything) and report.md (one row per scenario, floors judged).

Floors (issue 11): every scenario 0 orders lost or stuck, 0 double charges (nor money
kept for a failed order), 0 oversold (nor leaked) units, the steady state back; a
replicated stateless component's loss costs at most 0.1% of requests; a killed
component's orders settle within 60 s of it being back.
"""

import json
import platform
from pathlib import Path

MAX_FAILED_SHARE_REPLICATED = 0.001
MAX_SETTLE_AFTER_BACK_S = 60.0


def floors(result: dict) -> dict[str, bool]:
    checks = {
        "no order lost": result["lost"] == 0,
        "no order stuck": result["stuck"] == 0,
        "no double charge": result["double_charges"] == 0 and result["money_kept_for_failed_orders"] == 0,
        "no oversold or leaked unit": result["oversold_units"] == 0 and result["leaked_units"] == 0,
        "steady state again": result["seconds_to_steady_state"] is not None,
    }
    if result["replicated"]:
        checks["failed requests <= 0.1%"] = result["failed_share"] <= MAX_FAILED_SHARE_REPLICATED
    if result["last_order_settled_after_component_back_s"] is not None:
        checks["settled <= 60 s after back"] = (result["last_order_settled_after_component_back_s"]
                                                <= MAX_SETTLE_AFTER_BACK_S)
    return checks


def write(out: Path, results: list[dict], options: dict) -> dict[str, bool]:
    verdicts = {}
    for result in results:
        result["floors"] = floors(result)
        verdicts[result["name"]] = all(result["floors"].values())
    (out / "report.json").write_text(json.dumps({"machine": platform.node(), "options": options,
                                                 "scenarios": results}, indent=2))
    lines = [
        "# Chaos matrix", "",
        f"Options: {', '.join(f'{k}={v}' for k, v in options.items())}. Each scenario: the shopper places orders "
        "and reads products through nginx before, during and after the fault; the ledger then waits for every "
        "placed order to end. Orders placed: those acknowledged to the shopper (201) and those the shop placed while "
        "the shopper's retries were cut off when it stopped (found in the customers' order lists).", "",
        "| scenario | requests | failed | orders placed | settled | stuck | lost | double charges | oversold | "
        "leaked | steady again (s) | settled after back (s) | floors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        missed = [name for name, ok in r["floors"].items() if not ok]
        lines.append(
            f"| {r['name']} | {r['requests']} | {r['failed_requests']} ({r['failed_share']:.2%}) | {r['placed']}{_unacknowledged(r)} | "
            f"{r['settled']} | {r['stuck']} | {r['lost']} | {r['double_charges'] + r['money_kept_for_failed_orders']} | "
            f"{r['oversold_units']} | {r['leaked_units']} | {_or_dash(r['seconds_to_steady_state'])} | "
            f"{_or_dash(r['last_order_settled_after_component_back_s'])} | "
            f"{'all met' if not missed else 'MISSED: ' + ', '.join(missed)} |")
    lines += ["", "Failed requests by endpoint and error:", ""]
    for r in results:
        if r["errors"]:
            lines.append(f"- {r['name']}: " + ", ".join(f"{k} x{v}" for k, v in sorted(r["errors"].items())))
    lines += ["", "Order outcomes: " + "; ".join(f"{r['name']} {r['statuses']}" for r in results), ""]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return verdicts


def _unacknowledged(result: dict) -> str:
    count = result.get("unacknowledged_orders", 0)
    return f" ({count} of them unacknowledged)" if count else ""


def _or_dash(value) -> str:
    return "-" if value is None else f"{value:g}"
