"""Edge metrics of the gateway: requests refused by authentication or by a rate limit."""

from prometheus_client import Counter

AUTH_FAILURES = Counter(
    "gateway_auth_failures_total", "Requests refused with 401, by reason (missing|expired|invalid)", ["reason"]
)
RATE_LIMITED = Counter(
    "gateway_rate_limited_total", "Requests refused with 429, by limit scope (user|anonymous|login)", ["scope"]
)

AUTH_FAILURE_REASONS = ("missing", "expired", "invalid")
RATE_LIMIT_SCOPES = ("user", "anonymous", "login")


def initialise() -> None:
    """Create every label set at 0 at startup, so dashboards and alerts see a series before the first refusal."""
    for reason in AUTH_FAILURE_REASONS:
        AUTH_FAILURES.labels(reason)
    for scope in RATE_LIMIT_SCOPES:
        RATE_LIMITED.labels(scope)
