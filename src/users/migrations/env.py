"""Alembic environment of the users service (run by `python -m chassis.migrate users`)."""

from chassis.migrations_env import run_migrations
from users.models import Base

run_migrations(Base.metadata)
