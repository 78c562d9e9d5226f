"""App wiring of the orders service: the chassis app, the products client, the orders routes."""

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


def create_app() -> FastAPI:
    return create_service_app(get_settings(), title="ScaleShop orders", routers=[router],
                              resources=[products_client],
                              description="Orders with idempotency keys, a transactional outbox and a checkout saga.")
