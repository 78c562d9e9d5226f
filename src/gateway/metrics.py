"""Edge metrics of the gateway: requests refused by authentication or by a rate limit."""

from prometheus_client import Counter

AUTH_FAILURES = Counter(
    "gateway_auth_failures_total", "Requests refused with 401, by reason (missing|expired|invalid)", ["reason"]
)
RATE_LIMITED = Counter(
    "gateway_rate_limited_total", "Requests refused with 429, by limit scope (user|anonymous|login)", ["scope"]
)
