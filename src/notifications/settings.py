"""Settings of the notifications service."""

from functools import cache

from chassis.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    service_name: str = "notifications"


@cache
def get_settings() -> NotificationsSettings:
    return NotificationsSettings()
