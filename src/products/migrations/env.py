"""Alembic environment of the products service (run by `python -m chassis.migrate products`)."""

from chassis.migrations_env import run_migrations
from products.models import Base

run_migrations(Base.metadata)
