"""What can go wrong in the orders service, in its own words (branches of chassis.errors).

The idempotency errors follow the IETF draft "The Idempotency-Key HTTP Header Field":
a missing key is a 400, a key whose first request is still running a 409, a key reused
with another body a 422.
"""

from chassis.errors import BadRequest, Conflict, DependencyUnavailable, NotFound, Unprocessable


class IdempotencyKeyMissing(BadRequest):
    description = "the Idempotency-Key header is required (1 to 100 characters)"


class IdempotencyKeyInFlight(Conflict):
    description = "a request with this Idempotency-Key is still in progress"


class IdempotencyKeyReused(Unprocessable):
    description = "this Idempotency-Key was already used with a different request body"


class OrderNotFound(NotFound):
    description = "order not found"


class OrderNotCancellable(Conflict):
    description = "the order is no longer cancellable"


class InsufficientStock(Conflict):
    description = "insufficient stock"


class UnknownProduct(Unprocessable):
    description = "unknown product"


class ShardMoving(DependencyUnavailable):
    description = "this customer's orders are moving between shards; retry in a moment"

    def __init__(self):
        super().__init__("orders-shard", "moving")
