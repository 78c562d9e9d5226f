"""App wiring of the payments service."""

from fastapi import FastAPI

from chassis.app import create_service_app
from payments.router import router
from payments.settings import get_settings


def create_app() -> FastAPI:
    return create_service_app(get_settings(), title="ScaleShop payments", routers=[router],
                              description="Charges and refunds, made at most once per order by Celery tasks.")
