"""`make lb-demo`: the same load under each of the edge's six balancing algorithms, with one slow gateway.

gateway-2 is made slower by the fault flag `latency_ms@gateway-2` (LB_DEMO_SLOW_MS, default 80 ms;
`make flag` sets the same flag by hand, no restart), then for each
algorithm: switch (graceful reload), run wrk through the gateways (/api/users/whoami, never
cached) and read from the edge metrics which gateway answered how many requests and how fast.
Printed as a table and written with two charts to reports/lb-demo/<time>/. What to look for:
round robin and the hashes hand the slow gateway its full share, so the clients' p99 is its
latency; least connections and two random choices send it fewer requests; IP hash puts every
client of this machine on one gateway. Afterwards gateway-2 is normal again and the algorithm
is the one that was active before.

Knobs: LB_DEMO_SECONDS (8 per algorithm), LB_DEMO_CONNECTIONS (32), LB_DEMO_SLOW_MS (80).
"""

import json
import os
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import httpx
import matplotlib

from bench.edge import ALGORITHMS, delta, edge_samples, per_gateway, slow_gateway, switch_algorithm
from bench.target import discover
from bench.wrk import COMMANDS, Load, run_wrk

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GATEWAYS = ("gateway-1", "gateway-2")


def active_algorithm(host: str) -> str:
    pool = httpx.get(f"{host}/nginx-health", timeout=5).json().get("lb", "gateways_least_conn")
    return pool.removeprefix("gateways_").replace("_", "-")


def run_all(target, load: Load) -> dict:
    results = {}
    for algorithm in ALGORITHMS:
        switch_algorithm(target, algorithm)
        before = edge_samples(target)
        figures = run_wrk(target.host, load)
        results[algorithm] = {"client": figures, "gateways": per_gateway(delta(before, edge_samples(target)))}
        share = results[algorithm]["gateways"].get("gateway-2", {}).get("share", 0.0)
        print(f"  {algorithm:<12} {figures['rps']:8.0f} req/s  p50 {figures['p50_ms']:6.1f} ms  "
              f"p99 {figures['p99_ms']:7.1f} ms  errors {figures['errors']}  slow gateway-2 share {share:.0%}",
              flush=True)
    return results


def table(results: dict) -> str:
    lines = ["| algorithm | req/s | p50 ms | p99 ms | errors | gateway-1 share | gateway-2 (slow) share | "
             "gateway-1 p50/p99 ms | gateway-2 p50/p99 ms |", "|---|---|---|---|---|---|---|---|---|"]
    for algorithm, result in results.items():
        client, gateways = result["client"], result["gateways"]
        cells = []
        for name in GATEWAYS:
            g = gateways.get(name, {"share": 0.0, "p50_ms": float("nan"), "p99_ms": float("nan")})
            cells.append((f"{g['share']:.0%}", f"{g['p50_ms']:.1f} / {g['p99_ms']:.1f}"))
        lines.append(f"| {algorithm} | {client['rps']:.0f} | {client['p50_ms']:.1f} | {client['p99_ms']:.1f} | "
                     f"{client['errors']} | {cells[0][0]} | {cells[1][0]} | {cells[0][1]} | {cells[1][1]} |")
    return "\n".join(lines)


def plot(results: dict, directory: Path) -> None:
    algorithms = list(results)
    figure, (share_axis, latency_axis) = plt.subplots(1, 2, figsize=(12, 4.5))
    bottom = [0.0] * len(algorithms)
    for name, color in zip(GATEWAYS, ("tab:blue", "tab:red")):
        shares = [results[a]["gateways"].get(name, {}).get("share", 0.0) * 100 for a in algorithms]
        share_axis.bar(algorithms, shares, bottom=bottom, label=name + (" (slow)" if name == "gateway-2" else ""),
                       color=color)
        bottom = [b + s for b, s in zip(bottom, shares)]
    share_axis.set_ylabel("share of requests, %")
    share_axis.set_title("Who got the requests")
    share_axis.legend()
    share_axis.tick_params(axis="x", rotation=30)
    positions = range(len(algorithms))
    for offset, key, label in ((-0.2, "p50_ms", "p50"), (0.2, "p99_ms", "p99")):
        latency_axis.bar([p + offset for p in positions], [results[a]["client"][key] for a in algorithms],
                         width=0.4, label=label)
    latency_axis.set_xticks(list(positions), algorithms, rotation=30)
    latency_axis.set_ylabel("client latency, ms")
    latency_axis.set_title("What the clients saw")
    latency_axis.legend()
    figure.tight_layout()
    figure.savefig(directory / "lb-demo.png", dpi=110)
    plt.close(figure)


def main() -> None:
    target = discover()
    slow_ms = int(os.environ.get("LB_DEMO_SLOW_MS", "80"))
    load = replace(Load(connections=int(os.environ.get("LB_DEMO_CONNECTIONS", "32")),
                        seconds=float(os.environ.get("LB_DEMO_SECONDS", "8"))), paths=("/api/users/whoami",))
    started = datetime.now(timezone.utc)
    directory = ROOT / "reports" / "lb-demo" / started.strftime("%Y%m%d-%H%M%S")
    directory.mkdir(parents=True, exist_ok=True)
    previous = active_algorithm(target.host)
    print(f"lb-demo on {target.host}: gateway-2 made {slow_ms} ms slower, {load.seconds:g}s of wrk "
          f"({load.connections} connections) per algorithm", flush=True)
    slow_gateway(target, slow_ms)
    try:
        results = run_all(target, load)
    finally:
        slow_gateway(target, 0)
        switch_algorithm(target, previous)
    plot(results, directory)
    summary = table(results)
    (directory / "report.json").write_text(json.dumps({
        "started_at": started.isoformat(timespec="seconds"), "runtime": target.runtime, "host": target.host,
        "slow_gateway": "gateway-2", "added_latency_ms": slow_ms, "connections": load.connections,
        "seconds": load.seconds, "results": results, "commands": COMMANDS}, indent=2, default=str))
    (directory / "report.md").write_text("\n".join([
        f"# Edge load balancing with one slow gateway, {started.isoformat(timespec='seconds')}", "",
        f"gateway-2 answers {slow_ms} ms later than gateway-1; the same wrk load ({load.connections} "
        f"connections, {load.seconds:g} s, GET /api/users/whoami) under each algorithm. Client figures from wrk, "
        "per-gateway share and latency from the edge metrics (mtail over nginx's log).", "",
        summary, "", "![share and latency](lb-demo.png)", ""]))
    print("\n" + summary + f"\n\nreport: {directory / 'report.md'} (+ report.json, lb-demo.png); "
          f"gateway-2 is normal again, algorithm back to {previous}")


if __name__ == "__main__":
    main()
