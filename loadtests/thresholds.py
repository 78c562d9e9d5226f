"""Pass/fail thresholds for a load test (seed: the k6 example's `thresholds`).

The seed's defaults: 95% of requests under 500 ms (`p(95)<500`) and fewer than 1% failed
(`rate<0.01`). When the run ends, each threshold is checked against the totals over all
requests; the process exits 1 and names every threshold that failed, else 0. A run that
made no request at all fails too: it proves nothing. locustfile.py wires this into
Locust's `quitting` event and sets the process exit code.

Signing up and logging in (once per simulated user, at its start) hash a password with
argon2, slow on purpose (seed: security) and a large share of a short run's requests,
though ~1% of a real shop's. They are held to their own threshold (p95 < 2 s by default)
and the seed's 500 ms applies to everything else: the shop as shoppers use it.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    name: str
    limit: str
    measured: str
    passed: bool

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'}  {self.name}: {self.measured} (threshold {self.limit})"


SIGN_UP_REQUESTS = {"/api/users/register", "/api/users/login"}


def check(*, requests: int, failures: int, p95_ms: float, max_p95_ms: float, max_error_rate: float,
          sign_up_p95_ms: float = 0.0, max_sign_up_p95_ms: float = 2000.0) -> list[Verdict]:
    """Every threshold with its measured value and whether it held (requests/failures: all of them)."""
    error_rate = failures / requests if requests else 0.0
    return [
        Verdict("requests made", "> 0", str(requests), requests > 0),
        Verdict("p95 response time (shopping)", f"< {max_p95_ms:g} ms", f"{p95_ms:.0f} ms", p95_ms < max_p95_ms),
        Verdict("p95 response time (sign-up, login: argon2)", f"< {max_sign_up_p95_ms:g} ms",
                f"{sign_up_p95_ms:.0f} ms", sign_up_p95_ms < max_sign_up_p95_ms),
        Verdict("error rate", f"< {max_error_rate:.2%}", f"{error_rate:.3%} ({failures}/{requests})",
                error_rate < max_error_rate),
    ]
