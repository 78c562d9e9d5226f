"""App wiring of the notifications service."""

from fastapi import FastAPI

from chassis.app import create_service_app
from notifications.settings import get_settings


def create_app() -> FastAPI:
    return create_service_app(get_settings(), title="ScaleShop notifications")
