"""Business metrics of payments (issue 5): charges by result and the revenue they bring."""

from prometheus_client import Counter

PAYMENTS = Counter("payments_total", "Payment outcomes", ["result"])  # charged | declined | refunded
REVENUE = Counter("revenue_total", "Amount charged, in currency units", ["currency"])
