"""The benchmark report: report.json (every figure), report.md (for people), PNG plots, a summary table.

The JSON also records the machine (cores, memory), the versions and every command run,
so a figure can be traced to how it was measured and re-measured.
"""

import importlib.metadata
import json
import os
import platform
import subprocess
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("fastapi", "uvicorn", "uvicorn-worker", "gunicorn", "sqlalchemy", "asyncpg", "redis", "hiredis",
            "aiohttp", "httpx", "locust", "matplotlib")


@cache
def pyplot():
    """matplotlib's pyplot, drawing to files only (no display). Imported when a plot is drawn, not
    with this module: it costs about a second, and the unit tests import the report's pure functions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot


def first_line(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except OSError:
        return "absent"
    return ((done.stdout or done.stderr).strip().splitlines() or ["?"])[0]


def machine() -> dict:
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
    models = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
              if line.startswith("model name")]
    return {"cores": os.cpu_count(), "cpu": models[0] if models else platform.processor(),
            "memory_gib": round(int(meminfo["MemTotal"].split()[0]) / 2**20, 1), "os": platform.platform()}


def versions() -> dict:
    found = {"python": platform.python_version(), "wrk": first_line(["wrk", "--version"]),
             "nginx": first_line(["nginx", "-v"]), "redis": first_line(["redis-server", "--version"]),
             "postgres": first_line(["/usr/lib/postgresql/15/bin/postgres", "--version"]),
             "git": first_line(["git", "-C", str(ROOT), "describe", "--always", "--dirty"])}
    for package in PACKAGES:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "absent"
    return found


def floor_rows(scenarios: dict) -> list[dict]:
    """One row per headline figure: its value, its floor (if the issue sets one) and whether it holds."""
    rows = []

    def add(key, figure, value, floor, ok, unit=""):
        rows.append({"scenario": key, "figure": figure, "value": value, "unit": unit, "floor": floor, "ok": ok})

    if "1" in scenarios:
        ratio = scenarios["1"]["throughput_ratio"]
        add("1", "full path / hello throughput", ratio, ">= 0.25", ratio >= 0.25)
        if "cpu_ratio" in scenarios["1"]:
            add("1", "hello / full path CPU per request", scenarios["1"]["cpu_ratio"], "", None)
        if "context_switches_per_request" in scenarios["1"]:
            switches = scenarios["1"]["context_switches_per_request"]
            add("1", "context switches per request: full path", switches["full path"], "", None)
            add("1", "context switches per request: hello", switches["hello"], "", None)
    if "2" in scenarios:
        s2 = scenarios["2"]
        add("2", "cache hit / cache disabled throughput", s2["throughput_ratio"], ">= 3", s2["throughput_ratio"] >= 3)
        queries = s2["db_queries_per_request_cached"]
        add("2", "DB queries per request (warm cache, Zipf)", queries, "<= 0.05",
            queries is not None and queries <= 0.05)
    if "3" in scenarios:
        add("3", "gateway->services keepalive on/off throughput", scenarios["3"]["gateway_ratio"], "", None)
        add("3", "nginx->gateways keepalive on/off throughput", scenarios["3"]["nginx_ratio"], "", None)
    if "4" in scenarios:
        ratio = scenarios["4"]["throughput_ratio"]
        add("4", "login throughput 2 replicas / 1", ratio, ">= 1.5", ratio >= 1.5)
    if "5" in scenarios:
        failed = scenarios["5"]["failed_ratio"]
        add("5", "failed requests while a replica is killed", failed * 100, "<= 0.1 %", failed <= 0.001, "%")
    if "6" in scenarios:
        checkout = scenarios["6"]["variants"]["checkout"]
        offered = scenarios["6"].get("offered_orders_per_s", 0)
        floor_rate = offered * 0.975  # issue 11: >= 19.5/s settled at 20/s offered
        add("6", "checkout orders placed per second", checkout.get("placed_per_s"), "", None, "/s")
        add("6", "checkout orders settled per second", checkout["rps"], f">= {floor_rate:g}",
            checkout["rps"] >= floor_rate, "/s")
        add("6", "checkout POST -> settled p50", checkout["p50_ms"], "", None, "ms")
        add("6", "checkout POST -> settled p95", checkout["p95_ms"], "<= 1000", checkout["p95_ms"] <= 1000, "ms")
        add("6", "checkout POST -> settled p99", checkout["p99_ms"], "", None, "ms")
        add("6", "checkout HTTP errors", checkout["http_failures"], "0", checkout["http_failures"] == 0)
    if "7" in scenarios:
        ratio = scenarios["7"]["throughput_ratio"]
        add("7", "edge cache hit / app path throughput", ratio, ">= 5", ratio >= 5)
        if scenarios["7"].get("edge_hit_ratio_during_hit_runs") is not None:
            add("7", "edge hit ratio during the hit runs", scenarios["7"]["edge_hit_ratio_during_hit_runs"], "", None)
    if "8" in scenarios:
        add("8", "TLS / plain HTTP throughput (keepalive)", scenarios["8"]["tls_over_plain_throughput"], "", None)
    if "9" in scenarios:
        failed = scenarios["9"]["failed_requests"]
        add("9", "failed requests across 6 algorithm switches", failed, "0", failed == 0)
    if "10" in scenarios:
        overhead = scenarios["10"]["overhead"]
        add("10", "emitting events: full-path throughput overhead", overhead * 100, "<= 5 %", overhead <= 0.05, "%")
        if scenarios["10"].get("gateway_cpu_overhead") is not None:
            add("10", "emitting events: gateway CPU per request overhead",
                scenarios["10"]["gateway_cpu_overhead"] * 100, "", None, "%")
    if "11" in scenarios:
        s8 = scenarios["11"]
        add("11", "event ingest, producer -> applied by 2 consumers", s8["end_to_end_events_per_s"], ">= 5000",
            s8["end_to_end_events_per_s"] >= 5000, "/s")
        add("11", "stream memory at most (MAXLEN ~ bound)", s8["stream_memory_max_bytes"] / 2**20, "bounded", None, "MiB")
    if "13" in scenarios:
        strategies = scenarios["13"]["strategies"]
        for name in ("cache-aside", "read-through", "refresh-ahead"):
            loads = strategies.get(name, {}).get("warm_read_only_db_loads_per_read")
            add("13", f"{name}: DB loads per product read (warm, Zipf)", loads, "<= 0.05",
                loads is not None and loads <= 0.05)
        for name, figures in strategies.items():
            add("13", f"{name}: max staleness a reader saw (5% writes)", figures["max_staleness_ms"], "", None, "ms")
        behind = scenarios["13"]["write_behind"]
        per_write = behind["events_per_database_write"]
        add("13", "write-behind: view events per database write", per_write, ">= 10",
            per_write is not None and per_write >= 10)
        add("13", "write-behind: view events lost", behind["lost"], "0", behind["lost"] == 0)
    if "14" in scenarios:
        s14 = scenarios["14"]
        for name, figures in s14["variants"].items():
            add("14", f"orders placed per second at saturation, {name}", figures["rps"], "", None, "/s")
        add("14", "2 shards / 1 shard placement throughput", s14["two_vs_one_shards"], "reported", None)
        add("14", f"bottleneck: {s14['bottleneck']}", s14["machine_busy_share"]["1 shard"] * 100, "named", None, "% busy")
    if "12" in scenarios and scenarios["12"]["lag_p95_s"] is not None:
        add("12", "end-to-end event lag p95 during make load", scenarios["12"]["lag_p95_s"], "<= 2 s",
            scenarios["12"]["lag_p95_s"] <= 2, "s")
    return rows


def summary_table(rows: list[dict]) -> str:
    lines = ["| # | figure | value | floor | ok |", "|---|---|---|---|---|"]
    for row in rows:
        value = "n/a" if row["value"] is None else f"{row['value']:.3g}{(' ' + row['unit']) if row['unit'] else ''}"
        verdict = {True: "yes", False: "**no**", None: "-"}[row["ok"]]
        lines.append(f"| {row['scenario']} | {row['figure']} | {value} | {row['floor'] or '-'} | {verdict} |")
    return "\n".join(lines)


def plot(scenarios: dict, directory: Path) -> list[str]:
    """throughput.png (req/s per variant) and latency.png (p50/p90/p99 per variant, log scale)."""
    labels, rps, p50, p90, p99 = [], [], [], [], []
    for key, scenario in scenarios.items():
        for name, figures in scenario.get("variants", {}).items():
            labels.append(f"{key}: {name}")
            rps.append(figures.get("rps", 0))
            p50.append(figures.get("p50_ms", 0))
            p90.append(figures.get("p90_ms", figures.get("p95_ms", 0)))
            p99.append(figures.get("p99_ms", 0))
    if not labels:
        return []
    height = max(3.0, 0.45 * len(labels))
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(10, height))
    bars = axis.barh(labels, rps, color="tab:blue")
    axis.bar_label(bars, fmt="%.1f", padding=3)
    axis.invert_yaxis()
    axis.set_xscale("log")  # logins (~10/s) and cached reads (~1,000s/s) on one chart
    axis.set_xlim(right=max(rps) * 3)  # room for the labels
    axis.set_xlabel("requests per second, log scale (median of the runs; scenario 6: orders settled per second)")
    axis.set_title("Throughput per scenario")
    figure.tight_layout()
    figure.savefig(directory / "throughput.png", dpi=110)
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(10, height))
    positions = range(len(labels))
    for offset, values, name in ((-0.27, p50, "p50"), (0.0, p90, "p90 (6: p95)"), (0.27, p99, "p99")):
        axis.barh([position + offset for position in positions], values, height=0.27, label=name)
    axis.set_yticks(list(positions), labels)
    axis.invert_yaxis()
    axis.set_xscale("log")
    axis.set_xlabel("latency, ms (log scale)")
    axis.set_title("Latency percentiles per scenario")
    axis.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.tight_layout()
    figure.savefig(directory / "latency.png", dpi=110)
    plt.close(figure)
    return ["throughput.png", "latency.png"]


def variant_table(variants: dict) -> str:
    lines = ["| variant | req/s | p50 ms | p90 ms | p99 ms | requests | errors |", "|---|---|---|---|---|---|---|"]
    for name, figures in variants.items():
        lines.append(f"| {name} | {figures.get('rps', 0):.1f} | {figures.get('p50_ms', 0):.2f} | "
                     f"{figures.get('p90_ms', figures.get('p95_ms', 0)):.2f} | {figures.get('p99_ms', 0):.2f} | "
                     f"{figures.get('requests', figures.get('orders', 0)):.0f} | {figures.get('errors', figures.get('http_failures', 0)):.0f} |")
    return "\n".join(lines)


def write(directory: Path, report: dict) -> str:
    """Write report.json, the plots and report.md; return the summary table."""
    report["summary"] = floor_rows(report["scenarios"])
    report["plots"] = plot(report["scenarios"], directory)
    (directory / "report.json").write_text(json.dumps(report, indent=2, default=str))
    table = summary_table(report["summary"])
    parts = [f"# ScaleShop benchmark, {report['started_at']}", "",
             f"Machine: {report['machine']['cores']} cores ({report['machine']['cpu']}), "
             f"{report['machine']['memory_gib']} GiB; runtime {report['settings']['runtime']}; "
             f"host {report['settings']['host']}; each figure is the median of {report['settings']['repeats']} runs.",
             "", "## Summary", "", table, ""]
    for key, scenario in report["scenarios"].items():
        parts += [f"## {key}. {scenario.get('title', '')}", ""]
        if "variants" in scenario:
            parts += [variant_table(scenario["variants"]), ""]
        if "table_md" in scenario:
            parts += [scenario["table_md"], ""]
        if "plot" in scenario:
            parts += [f"![{scenario['plot']}]({scenario['plot']})", ""]
        extras = {name: value for name, value in scenario.items()
                  if name not in ("title", "variants", "floor", "table_md", "plot", "strategies")}
        parts += [f"- {name}: {value:.4g}" if isinstance(value, float) else f"- {name}: {value}"
                  for name, value in extras.items()] + [""]
    parts += [f"![{name}]({name})" for name in report["plots"]]
    parts += ["", "## Versions", "", *[f"- {name}: {value}" for name, value in report["versions"].items()],
              "", "## Commands", "", "```", *report["commands"], "```", ""]
    (directory / "report.md").write_text("\n".join(parts))
    return table
