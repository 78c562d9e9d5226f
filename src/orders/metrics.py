"""Business and async metrics of the checkout (issue 5: business signals, outbox backlog).

Every metric has a label, so no sample file is written at import time (multiprocess mode
writes one per labelled child, when it is first used). The outbox gauges use "mostrecent":
whichever worker process ran the relay last tells the truth about the backlog.
"""

from prometheus_client import Counter, Gauge

ORDERS_PLACED = Counter("orders_placed_total", "Orders accepted (written PENDING)", ["service"])
ORDER_STATUS = Counter("orders_status_total", "Order status transitions, by the status entered", ["status"])
IDEMPOTENCY_REQUESTS = Counter(
    "idempotency_requests_total", "POST /orders by what the Idempotency-Key did",
    ["result"],  # new | replayed | conflict (still in flight) | mismatch (same key, other body)
)
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox rows published to Celery", ["topic"])
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Unpublished outbox rows seen by the last relay run", ["service"],
                       multiprocess_mode="mostrecent")
OUTBOX_OLDEST_AGE = Gauge("outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", ["service"],
                          multiprocess_mode="mostrecent")
