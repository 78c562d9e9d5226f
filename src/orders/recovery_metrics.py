"""Metrics of the saga reconciler (orders.recovery); labelled, so no sample file at import time."""

from prometheus_client import Counter, Gauge

SAGA_RECOVERED = Counter("saga_recovered_total", "Stuck orders the reconciler moved on, by the state they waited in",
                         ["status"])
SAGA_FAILED_BY_TIMEOUT = Counter("saga_failed_by_timeout_total",
                                 "Orders failed with compensation after their bounded re-drives", ["service"])
SAGA_STUCK = Gauge("saga_stuck_orders", "Orders still PENDING/PAID past the step deadline after the last round",
                   ["service"], multiprocess_mode="mostrecent")
RESERVATIONS_RELEASED = Counter("saga_abandoned_reservations_released_total",
                                "Stock reservations released for Idempotency-Keys nobody came back for", ["service"])
