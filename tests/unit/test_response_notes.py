"""Code deep inside a request can tell the caller how its answer was produced (X-DB-Read from the
read router): the chassis middleware adds such notes to that request's response, and only to it."""

from fastapi import FastAPI
from fastapi.testclient import TestClient

from chassis.middleware import RequestContextMiddleware, note_response_header


def app() -> FastAPI:
    application = FastAPI()
    application.add_middleware(RequestContextMiddleware, service="demo", replica="demo-1")

    @application.get("/noted")
    async def noted() -> dict:
        note_response_header("X-DB-Read", "primary (fallback_down)")
        return {}

    @application.get("/plain")
    async def plain() -> dict:
        return {}

    return application


def test_a_note_becomes_a_response_header_of_that_request_only():
    client = TestClient(app())
    noted = client.get("/noted")
    assert noted.headers["x-db-read"] == "primary (fallback_down)"
    assert noted.headers["x-served-by"] == "demo-1"
    assert "x-db-read" not in client.get("/plain").headers


def test_a_note_outside_a_request_is_ignored():
    note_response_header("x-db-read", "replica")  # no request in flight: nothing to attach it to, no error
