"""Settings of the users service."""

from functools import cache

from chassis.settings import ServiceSettings


class UsersSettings(ServiceSettings):
    service_name: str = "users"


@cache
def get_settings() -> UsersSettings:
    return UsersSettings()
