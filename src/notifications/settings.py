"""Settings of the notifications service."""

from functools import cache

from pydantic import AliasChoices, Field

from chassis.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    service_name: str = "notifications"

    # The web replicas get DATABASE_URL; the shared Celery worker gets one URL per service.
    database_url: str | None = Field(default=None, validation_alias=AliasChoices("NOTIFICATIONS_DATABASE_URL",
                                                                                 "DATABASE_URL"))


@cache
def get_settings() -> NotificationsSettings:
    return NotificationsSettings()
