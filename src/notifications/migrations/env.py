"""Alembic environment of the notifications service (run by `python -m chassis.migrate notifications`)."""

from chassis.migrations_env import run_migrations
from notifications.models import Base

run_migrations(Base.metadata)
