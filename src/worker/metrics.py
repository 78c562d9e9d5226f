"""Celery task metrics (owned by the observability work; see issue "Observe every pattern")."""
