"""App wiring of the orders service: the chassis app, the products client, the task publisher, the routes.

This is the one module of the web side that knows the Celery app: it hands orders.service and
orders.outbox a `publish` function, so they depend on no broker (and the worker, which imports
orders.tasks, is not imported back by the service)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from chassis.app import create_service_app
from orders.clients import ProductsClient
from orders.router import router
from orders.settings import get_settings


@asynccontextmanager
async def products_client(app: FastAPI) -> AsyncIterator[None]:
    """One pooled client to the products replicas per process, closed on shutdown."""
    app.state.products = ProductsClient(app.state.settings)
    yield
    await app.state.products.aclose()


@asynccontextmanager
async def task_publisher(app: FastAPI) -> AsyncIterator[None]:
    """outbox.Publish over the stack's Celery app (its broker and per-service queue routes)."""
    from worker.celery_app import app as celery_app

    def publish(task: str, kwargs: dict, *, retry: bool = True) -> None:
        celery_app.send_task(task, kwargs=kwargs, retry=retry)

    app.state.publish = publish
    yield


def create_app() -> FastAPI:
    return create_service_app(get_settings(), title="ScaleShop orders", routers=[router],
                              resources=[products_client, task_publisher],
                              description="Orders with idempotency keys, a transactional outbox and a checkout saga.")
