"""Metrics of calls to upstream replicas: load distribution, failover and retries become visible."""

from prometheus_client import Counter

UPSTREAM_REQUESTS = Counter(
    "upstream_requests_total", "Responses received from upstream replicas",
    ["caller", "service", "upstream", "status"],
)
UPSTREAM_ERRORS = Counter(
    "upstream_errors_total", "Calls to an upstream replica that failed, by kind", ["caller", "service", "upstream", "kind"]
)
UPSTREAM_RETRIES = Counter(
    "upstream_retries_total", "Calls retried on another replica", ["caller", "service"]
)
