"""Pass/fail thresholds for a load test (seed: the k6 example's `thresholds`).

The seed's defaults: 95% of requests under 500 ms (`p(95)<500`) and fewer than 1% failed
(`rate<0.01`). When the run ends, each threshold is checked against the totals over all
requests; the process exits 1 and names every threshold that failed, else 0. A run that
made no request at all fails too: it proves nothing.
"""

from dataclasses import dataclass

from locust import events
from locust.env import Environment


@dataclass(frozen=True)
class Verdict:
    name: str
    limit: str
    measured: str
    passed: bool

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'}  {self.name}: {self.measured} (threshold {self.limit})"


def check(*, requests: int, failures: int, p95_ms: float, max_p95_ms: float, max_error_rate: float) -> list[Verdict]:
    """Every threshold with its measured value and whether it held."""
    error_rate = failures / requests if requests else 0.0
    return [
        Verdict("requests made", "> 0", str(requests), requests > 0),
        Verdict("p95 response time", f"< {max_p95_ms:g} ms", f"{p95_ms:.0f} ms", p95_ms < max_p95_ms),
        Verdict("error rate", f"< {max_error_rate:.2%}", f"{error_rate:.3%} ({failures}/{requests})",
                error_rate < max_error_rate),
    ]


@events.init_command_line_parser.add_listener
def add_threshold_options(parser) -> None:
    parser.add_argument("--max-p95-ms", type=float, default=500.0, env_var="LOAD_MAX_P95_MS",
                        help="fail the run when the p95 response time over all requests reaches this (ms)")
    parser.add_argument("--max-error-rate", type=float, default=0.01, env_var="LOAD_MAX_ERROR_RATE",
                        help="fail the run when this fraction of requests failed (0.01 = 1%%)")


@events.quitting.add_listener
def enforce_thresholds(environment: Environment, **_) -> None:
    """Print the verdicts and set the exit code (overriding Locust's 'any failure exits 1')."""
    if environment.runner is None or environment.parsed_options is None:
        return
    total = environment.stats.total
    verdicts = check(
        requests=total.num_requests,
        failures=total.num_failures,
        p95_ms=total.get_response_time_percentile(0.95) or 0.0,
        max_p95_ms=environment.parsed_options.max_p95_ms,
        max_error_rate=environment.parsed_options.max_error_rate,
    )
    print("\nThresholds (seed: p95 < 500 ms, error rate < 1%):")
    for verdict in verdicts:
        print("  " + verdict.line())
    failed = [verdict.name for verdict in verdicts if not verdict.passed]
    if environment.runner.exceptions:
        failed.append(f"{len(environment.runner.exceptions)} exception(s) in the journeys' code")
    print(f"Thresholds failed: {', '.join(failed)}" if failed else "All thresholds passed.")
    environment.process_exit_code = 1 if failed else 0
