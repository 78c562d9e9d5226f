"""App wiring of the notifications service."""

from fastapi import FastAPI

from chassis.app import create_service_app
from notifications.router import router
from notifications.settings import get_settings


def create_app() -> FastAPI:
    return create_service_app(get_settings(), title="ScaleShop notifications", routers=[router],
                              description="Messages about the user's orders, written by Celery tasks.")
