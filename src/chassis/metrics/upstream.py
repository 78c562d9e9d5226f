"""Metrics of calls to upstream replicas: load distribution, failover, retries and breakers become visible."""

from prometheus_client import Counter, Gauge

UPSTREAM_REQUESTS = Counter(
    "upstream_requests_total", "Responses received from upstream replicas (upstream = replica that answered)",
    ["caller", "service", "upstream", "status"],
)
UPSTREAM_ERRORS = Counter(
    "upstream_errors_total", "Calls to an upstream replica that failed, by kind", ["caller", "service", "upstream", "kind"]
)
UPSTREAM_RETRIES = Counter(
    "upstream_retries_total", "Calls retried on another replica", ["caller", "service"]
)
# 0 closed, 1 half-open, 2 open. Under gunicorn each worker has its own breaker: "livemax" shows
# the worst state among the live workers of a replica.
CIRCUIT_BREAKER_STATE = Gauge(
    "circuit_breaker_state", "Circuit breaker state per upstream service (0 closed, 1 half-open, 2 open)",
    ["caller", "service"], multiprocess_mode="livemax",
)
