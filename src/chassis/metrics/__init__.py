"""The chassis' Prometheus metrics, one module per concern (seed: "Monitoring and Observability").

- web: RED metrics of the requests a replica serves (rate, errors, duration), in-flight
  requests, the version info metric, and the /metrics endpoint (multiprocess-safe);
- db: connection pool use, query latency, replica vs primary reads, replica lag;
- cache: hit ratio per cache and strategy, loads, staleness served, stampede guards,
  refresh-ahead and the write-behind backlog;
- upstream: calls to other services' replicas: distribution, errors, retries, breakers.

A service's own business metrics live in the service (`orders/metrics.py`, ...), the
worker's in `worker/metrics.py`. Every metric is labelled, so importing a module writes
no sample file in multiprocess mode until the metric is first used.
"""
