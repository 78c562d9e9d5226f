"""Alembic environment of the orders service (run by `python -m chassis.migrate orders`)."""

from chassis.migrations_env import run_migrations
from orders.models import Base

run_migrations(Base.metadata)
