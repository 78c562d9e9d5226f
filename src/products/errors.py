"""What can go wrong in the products service, in its own words (branches of chassis.errors)."""

from chassis.errors import Conflict, NotFound


class ProductNotFound(NotFound):
    description = "product not found"


class ProductInUse(Conflict):
    description = "product has stock reservations; set its stock to 0 instead"


class InsufficientStock(Conflict):
    description = "insufficient stock"
