"""Prestart step: `python -m chassis.migrate SERVICE` waits for the service's database, then
runs its Alembic migrations (`SERVICE/migrations`) to head. Run once per deploy, before replicas start.
"""

import asyncio
import sys

from alembic import command
from alembic.config import Config
from tenacity import retry, stop_after_delay, wait_fixed

from chassis.db import Database, create_engine
from chassis.settings import ServiceSettings


@retry(stop=stop_after_delay(60), wait=wait_fixed(1), reraise=True)
def wait_for_database(settings: ServiceSettings) -> None:
    async def ping() -> None:
        database = Database(create_engine(settings.database_url, settings, pooled=False))
        try:
            await database.ping()
        finally:
            await database.dispose()

    asyncio.run(ping())


def alembic_config(service: str, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", f"{service}:migrations")
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def main(service: str) -> None:
    settings = ServiceSettings()
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is required")
    wait_for_database(settings)
    command.upgrade(alembic_config(service, settings.database_url), "head")
    print(f"{service}: migrations at head", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
