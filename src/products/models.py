"""Tables of the products service (its own database: seed "database per service")."""

from chassis.models import new_base

Base = new_base()
