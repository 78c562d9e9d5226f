"""RED metrics (rate, errors, duration) and the /metrics endpoint, correct under several gunicorn workers.

Under gunicorn each worker is a process; prometheus-client's multiprocess mode
writes samples to PROMETHEUS_MULTIPROC_DIR and the MultiProcessCollector sums them
at scrape time (gunicorn_conf wipes the dir at start and marks dead workers).
"""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response

# 1 ms to 5 s, dense where web latencies live, so p50/p95/p99 interpolate well.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0)

REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled", ["service", "replica", "method", "route", "status"]
)
LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency", ["service", "replica", "method", "route"],
    buckets=LATENCY_BUCKETS,
)
# The info-metric idiom (like kube_pod_info): 1 per replica, its version a label, so any series joins it
# on `replica` (`... * on(replica) group_left(version) service_version_info`) and a chart splits by version.
VERSION_INFO = Gauge(
    "service_version_info", "The version this replica runs", ["service", "replica", "version"], multiprocess_mode="max"
)
IN_FLIGHT = Gauge(
    "http_requests_in_flight", "HTTP requests being served", ["service", "replica"], multiprocess_mode="livesum"
)


def metrics_endpoint(_: Request) -> Response:
    """Prometheus exposition: all workers' samples when multiprocess, else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
