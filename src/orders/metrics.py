"""Business and async metrics of the checkout (issue 5: business signals, outbox backlog).

Every metric has a label, so no sample file is written at import time (multiprocess mode
writes one per labelled child, when it is first used). The outbox gauges use "mostrecent":
whichever worker process ran the relay last tells the truth about the backlog.
"""

from prometheus_client import Counter, Gauge, Histogram

ORDERS_PLACED = Counter("orders_placed_total", "Orders accepted (written PENDING)", ["service"])
ORDER_STATUS = Counter("orders_status_total", "Order status transitions, by the status entered", ["status"])
IDEMPOTENCY_REQUESTS = Counter(
    "idempotency_requests_total", "POST /orders by what the Idempotency-Key did",
    ["result"],  # new | replayed | conflict (still in flight) | mismatch (same key, other body)
)
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox rows published to Celery", ["topic"])
OUTBOX_TRIGGERS_COALESCED = Counter("outbox_relay_triggers_coalesced_total",
                                    "Relay triggers not queued because a queued relay run will see the row",
                                    ["service"])
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Unpublished outbox rows seen by the last relay run", ["service"],
                       multiprocess_mode="mostrecent")
OUTBOX_OLDEST_AGE = Gauge("outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", ["service"],
                          multiprocess_mode="mostrecent")
# Sharding (orders.shards): orders written per shard (the shard's number as a label), and the cost
# of the one query that reads every shard (the admin listing).
ORDERS_BY_SHARD = Counter("orders_shard_orders_total", "Orders written, by the shard that holds them", ["shard"])
SCATTER_GATHER_SECONDS = Histogram("orders_scatter_gather_seconds", "Admin listing across every shard, end to end",
                                   ["service"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))

# The saga reconciler (orders.recovery).
SAGA_RECOVERED = Counter("saga_recovered_total", "Stuck orders the reconciler moved on, by the state they waited in",
                         ["status"])
SAGA_FAILED_BY_TIMEOUT = Counter("saga_failed_by_timeout_total",
                                 "Orders failed with compensation after their bounded re-drives", ["service"])
SAGA_STUCK = Gauge("saga_stuck_orders", "Orders still PENDING/PAID past the step deadline after the last round",
                   ["service"], multiprocess_mode="mostrecent")
RESERVATIONS_RELEASED = Counter("saga_abandoned_reservations_released_total",
                                "Stock reservations released for Idempotency-Keys nobody came back for", ["service"])
