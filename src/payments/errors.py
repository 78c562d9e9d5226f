"""What can go wrong in the payments service's API, in its own words (branches of chassis.errors)."""

from chassis.errors import NotFound


class ChargeNotFound(NotFound):
    description = "no charge for this order"
