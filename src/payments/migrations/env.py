"""Alembic environment of the payments service (run by `python -m chassis.migrate payments`)."""

from chassis.migrations_env import run_migrations
from payments.models import Base

run_migrations(Base.metadata)
