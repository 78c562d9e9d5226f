"""App wiring of the orders service."""

from fastapi import FastAPI

from chassis.app import create_service_app
from orders.settings import get_settings


def create_app() -> FastAPI:
    return create_service_app(get_settings(), title="ScaleShop orders")
