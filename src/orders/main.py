"""App wiring of the orders service: the chassis app, the products client, the task publisher, the routes.

This is the one module of the web side that knows the Celery app: it hands orders.service and
orders.outbox a `publish` function, so they depend on no broker (and the worker, which imports
orders.tasks, is not imported back by the service)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from chassis.app import create_service_app
from chassis.db import Database, create_engine
from orders import outbox
from orders.clients import ProductsClient
from orders.resharding import shard_urls
from orders.router import router
from orders.settings import get_settings
from orders.shards import Shards


@asynccontextmanager
async def products_client(app: FastAPI) -> AsyncIterator[None]:
    """One pooled client to the products replicas per process, closed on shutdown."""
    app.state.products = ProductsClient(app.state.settings)
    yield
    await app.state.products.aclose()


@asynccontextmanager
async def order_shards(app: FastAPI) -> AsyncIterator[None]:
    """The shards (orders.shards): shard 0 is the chassis' own engine (DATABASE_URL, readiness
    "postgres": it holds the directory); every other shard gets a pooled engine. They are not
    readiness checks: one shard down fails its own customers' requests (503), it must not take the
    replica out of service for everyone else's."""
    settings = app.state.settings
    # Their pool and query metrics carry database="shard-N" (shard 0 keeps "primary").
    others = [Database(create_engine(url, settings, role=f"shard-{index}"))
              for index, url in enumerate(shard_urls(settings)[1:], start=1)]
    app.state.shards = Shards([app.state.db, *others])
    yield
    for database in others:
        await database.dispose()


@asynccontextmanager
async def task_publisher(app: FastAPI) -> AsyncIterator[None]:
    """outbox.Publish over the stack's Celery app (its broker and per-service queue routes), with
    relay triggers coalesced (outbox.coalescing)."""
    from worker.celery_app import app as celery_app

    def send(task: str, kwargs: dict, *, retry: bool = True) -> None:
        celery_app.send_task(task, kwargs=kwargs, retry=retry)

    app.state.publish = outbox.coalescing(send, outbox.QueuedRelayMarker(celery_app.conf.broker_url))
    yield


def create_app() -> FastAPI:
    return create_service_app(get_settings(), title="ScaleShop orders", routers=[router],
                              resources=[order_shards, products_client, task_publisher],
                              description="Orders with idempotency keys, a transactional outbox and a checkout saga.")
