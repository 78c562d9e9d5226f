"""A database that cannot serve now is a 503 naming it (and telling callers the replica itself is fine);
a gateway passes such a 503 through without ejecting the replica or opening its circuit."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError

from chassis.error_handlers import install_error_handlers
from chassis.errors import FAILED_DEPENDENCY_HEADER, is_connection_failure
from chassis.settings import ServiceSettings


class TargetServerAttributeNotMatched(Exception):
    """Named like asyncpg's: no host of a multi-host URL is read-write (a failover in progress)."""


class ReadOnly(Exception):
    sqlstate = "25006"


class ShuttingDown(Exception):
    sqlstate = "57P03"


class SyntaxProblem(Exception):
    sqlstate = "42601"


def dbapi_error(cause: Exception) -> DBAPIError:
    return DBAPIError("INSERT ...", {}, cause)


def test_no_primary_and_read_only_servers_are_database_unavailability_but_bad_sql_is_not():
    assert is_connection_failure(dbapi_error(TargetServerAttributeNotMatched("no host matches 'read-write'")))
    assert is_connection_failure(dbapi_error(ReadOnly("cannot execute INSERT in a read-only transaction")))
    assert is_connection_failure(dbapi_error(ShuttingDown("the database system is shutting down")))
    assert not is_connection_failure(dbapi_error(SyntaxProblem("syntax error")))


@pytest.mark.parametrize("label, named", [(None, "products-db"), ("products-cluster", "products-cluster")])
async def test_a_write_during_failover_is_a_503_naming_the_database(label, named):
    app = FastAPI()
    app.state.settings = ServiceSettings(service_name="products", database_label=label)
    install_error_handlers(app)

    @app.post("/products")
    async def create() -> None:
        raise dbapi_error(TargetServerAttributeNotMatched("none of the hosts match 'read-write'"))

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        answer = await client.post("/products")
    assert answer.status_code == 503
    assert answer.json() == {"detail": f"{named} is unavailable", "dependency": "postgres", "database": named,
                             "reason": "TargetServerAttributeNotMatched"}
    assert answer.headers[FAILED_DEPENDENCY_HEADER] == named and answer.headers["Retry-After"] == "1"
