"""Measure with wrk, repeat, keep the median (figures are only worth their spread).

wrk is a closed-loop generator: each connection sends its next request when the last
answer arrived, so it finds the maximum throughput at a given concurrency. Its Lua
hooks (wrk_report.lua) add Zipf-distributed paths, a fixed JSON body and a per-
connection delay for a roughly fixed arrival rate, and print every figure as JSON.
"""

import json
import os
import shlex
import statistics
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

LUA = Path(__file__).with_name("wrk_report.lua")
COMMANDS: list[str] = []  # every command the bench ran, for the report


@dataclass(frozen=True)
class Load:
    """How hard and how long wrk pushes (2 threads: the machine has few cores and the stack shares them)."""

    connections: int = 32
    seconds: float = 8.0
    threads: int = 2
    paths: tuple[str, ...] = ()
    zipf: float = 1.1
    delay_ms: int = 0
    method: str | None = None
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    bodies: tuple[str, ...] = ()  # each request draws one (WRK_BODIES)
    tokens: tuple[str, ...] = ()  # each request is sent as one of these bearers (WRK_TOKENS)
    fresh_idempotency_keys: bool = False  # a new Idempotency-Key per request (WRK_FRESH_KEYS)
    timeout_seconds: float = 5.0  # an answer slower than this counts as an error


def run_wrk(url: str, load: Load) -> dict:
    """One wrk run; its figures with throughput (rps), latency in ms and the error count."""
    env = {**os.environ, "WRK_ZIPF": str(load.zipf)}
    with tempfile.NamedTemporaryFile("w", suffix=".paths", delete=False) as paths_file:
        paths_file.write("\n".join(load.paths))
    if load.paths:
        env["WRK_PATHS"] = paths_file.name
    if load.delay_ms:
        env["WRK_DELAY_MS"] = str(load.delay_ms)
    if load.method:
        env["WRK_METHOD"], env["WRK_BODY"] = load.method, load.body or ""
    lists = []
    for variable, values in (("WRK_BODIES", load.bodies), ("WRK_TOKENS", load.tokens)):
        if values:
            with tempfile.NamedTemporaryFile("w", suffix=".lines", delete=False) as lines_file:
                lines_file.write("\n".join(values))
            env[variable] = lines_file.name
            lists.append(lines_file.name)
    if load.fresh_idempotency_keys:
        env["WRK_FRESH_KEYS"] = "1"
    argv = ["wrk", "-t", str(load.threads), "-c", str(load.connections), "-d", f"{load.seconds:g}s",
            "--timeout", f"{load.timeout_seconds:g}s", "-s", str(LUA)]
    for name, value in load.headers.items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(url if url.count("/") >= 3 else url + "/")  # wrk wants a path; the Lua hook may replace it
    shown = {key: env[key] for key in ("WRK_PATHS", "WRK_ZIPF", "WRK_DELAY_MS", "WRK_METHOD", "WRK_BODY",
                                       "WRK_BODIES", "WRK_TOKENS", "WRK_FRESH_KEYS") if key in env}
    COMMANDS.append(" ".join(f"{key}={shlex.quote(value)}" for key, value in shown.items()) + " " + shlex.join(argv))
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=load.seconds + 60, check=True)
    finally:
        for name in (paths_file.name, *lists):
            os.unlink(name)
    lines = [line for line in done.stdout.splitlines() if line.startswith("WRK_JSON ")]
    if not lines:  # a Lua error: wrk goes on without the script, so say what it printed
        raise RuntimeError(f"wrk printed no figures: {done.stderr.strip() or done.stdout.strip()}")
    return summarize(json.loads(lines[0].removeprefix("WRK_JSON ")))


def summarize(raw: dict) -> dict:
    """wrk's raw counters -> the figures the report uses."""
    seconds = raw["duration_us"] / 1e6
    errors = raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["status_errors"] + raw["timeouts"]
    attempts = raw["requests"] + raw["connect_errors"]
    return {
        "rps": raw["requests"] / seconds if seconds else 0.0,
        "p50_ms": raw["p50_us"] / 1000, "p90_ms": raw["p90_us"] / 1000, "p99_ms": raw["p99_us"] / 1000,
        "p999_ms": raw["p999_us"] / 1000, "mean_ms": raw["mean_us"] / 1000,
        "requests": raw["requests"], "errors": errors, "non_2xx": raw["status_errors"],
        "error_ratio": errors / attempts if attempts else 0.0,
        "bytes_per_response": raw["bytes"] / raw["requests"] if raw["requests"] else 0.0,
        "seconds": seconds,
    }


def median_of(runs: list[dict]) -> dict:
    """The median of each figure over the repetitions, with the runs kept for the report."""
    keys = [key for key in runs[0] if isinstance(runs[0][key], (int, float))]
    return {**{key: statistics.median(run[key] for run in runs) for key in keys}, "runs": runs}


def measure(url: str, load: Load, *, repeats: int) -> dict:
    """`repeats` wrk runs of the same load; the median figures."""
    return median_of([run_wrk(url, load) for _ in range(repeats)])
