"""Celery: the async work of the shop (seed: queues and background workers)."""
