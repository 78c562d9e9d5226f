"""The error tree mapped to HTTP in one place, and schemas that say exactly what validation accepts
(chassis/errors.py, chassis/error_handlers.py, chassis/fields.py). The live proof is the
schemathesis run in tests/contract; these pin each rule down without a server."""

import re
from decimal import Decimal
from types import SimpleNamespace
from typing import Annotated

import httpx
import pytest
from email_validator import SPECIAL_USE_DOMAIN_NAMES
from fastapi import APIRouter, FastAPI, Query
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request

from chassis.error_handlers import ERROR_SCHEMA, document_errors, errors, install_error_handlers
from chassis.errors import Conflict, DependencyUnavailable, NotFound, ServiceError
from chassis.fields import NO_NUL, NOT_BLANK, NOT_RESERVED, Email, IsoDate, NonBlankText, Stripped, Text, integer
from chassis.identity import AdminUser, CurrentUser
from chassis.settings import ServiceSettings
from gateway.proxy import method_not_served
from products.schemas import PRICE_TEXT, ProductCreate


class ThingNotFound(NotFound):
    description = "thing not found"


class ThingBusy(Conflict):
    description = "the thing is busy"


class CharacterNotInRepertoire(Exception):
    """Named like asyncpg's: Postgres refused text with a NUL byte."""

    sqlstate = "22021"


class Body(BaseModel):
    name: Annotated[Text, Field(max_length=10)]


def shop() -> FastAPI:
    """A tiny service wired like every real one: the tree's handlers and the documented errors."""
    app = FastAPI()
    app.state.settings = ServiceSettings(service_name="things")
    router = APIRouter(prefix="/things")

    @router.get("/{thing_id}", responses=errors(ThingNotFound))
    async def read(thing_id: int, _: CurrentUser) -> dict:
        raise ThingNotFound(thing_id=thing_id)

    @router.patch("/{thing_id}", responses=errors(ThingNotFound, ThingBusy))
    async def change(thing_id: int, body: Body, _: AdminUser) -> dict:
        raise ThingBusy("busy until noon", headers={"Retry-After": "60"})

    @router.delete("/{thing_id}")
    async def remove(thing_id: int) -> None:
        raise DBAPIError("DELETE ...", {}, CharacterNotInRepertoire("invalid byte sequence for encoding UTF8: 0x00"))

    @router.get("")
    async def listing(name: Annotated[str | None, Query(pattern=NO_NUL)] = None) -> dict:
        raise DependencyUnavailable("redis", "ConnectionError")

    app.include_router(router)
    install_error_handlers(app)
    document_errors(app)
    return app


async def call(method: str, path: str, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=shop()), base_url="http://t") as client:
        return await client.request(method, path, **kwargs)


ADMIN = {"X-User-Id": "1", "X-User-Role": "admin"}


async def test_a_domain_error_is_its_branch_status_with_its_detail_fields_and_headers():
    missing = await call("GET", "/things/7", headers=ADMIN)
    assert missing.status_code == 404 and missing.json() == {"detail": "thing not found", "thing_id": 7}
    busy = await call("PATCH", "/things/7", headers=ADMIN, json={"name": "x"})
    assert busy.status_code == 409 and busy.json() == {"detail": "busy until noon"}
    assert busy.headers["Retry-After"] == "60"
    down = await call("GET", "/things")
    assert down.status_code == 503 and down.json()["dependency"] == "redis" and down.headers["Retry-After"] == "1"


async def test_the_identity_dependencies_answer_401_and_403_from_the_tree():
    assert (await call("GET", "/things/7")).status_code == 401
    customer = await call("PATCH", "/things/7", headers={"X-User-Id": "2"}, json={"name": "x"})
    assert customer.status_code == 403 and customer.json()["detail"] == "admin role required"


async def test_an_undeclared_method_is_a_405_allowing_every_method_of_the_path():
    answer = await call("PUT", "/things/7")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "DELETE, GET, PATCH"  # three routes, one path (Starlette alone names one)


async def test_text_with_a_nul_byte_is_a_422_never_a_500():
    assert (await call("GET", "/things", params={"name": "a\x00b"})).status_code == 422
    assert (await call("PATCH", "/things/7", headers=ADMIN, json={"name": "a\x00"})).status_code == 422
    refused_by_postgres = await call("DELETE", "/things/7")  # the safety net behind the schemas
    assert refused_by_postgres.status_code == 422 and "NUL" in refused_by_postgres.json()["detail"]


async def test_a_body_that_is_not_utf8_is_a_422_like_a_body_that_is_not_json():
    not_utf8 = await call("PATCH", "/things/7", headers={**ADMIN, "content-type": "application/json"},
                          content=b'{"name": "\xff\xfe"}')
    assert not_utf8.status_code == 422


def test_every_route_documents_the_statuses_it_can_answer_with_one_error_schema():
    document = shop().openapi()
    statuses = {(path, method): set(operation["responses"])
                for path, operations in document["paths"].items() for method, operation in operations.items()}
    assert statuses[("/things/{thing_id}", "get")] == {"200", "401", "404", "422", "503"}
    assert statuses[("/things/{thing_id}", "patch")] == {"200", "401", "403", "404", "409", "422", "503"}
    assert statuses[("/things", "get")] == {"200", "422", "503"}
    patch = document["paths"]["/things/{thing_id}"]["patch"]["responses"]
    assert patch["409"]["description"] == "the thing is busy"
    for status in ("401", "403", "404", "409", "422", "503"):
        assert patch[status]["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
    assert "Retry-After" in patch["503"]["headers"]
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_errors_merges_two_errors_of_one_status_into_one_documented_response():
    assert errors(ThingNotFound, ThingBusy, Conflict) == {
        404: {"description": "thing not found"},
        409: {"description": "the thing is busy; the resource's current state does not allow this"}}
    assert issubclass(ThingBusy, ServiceError) and ThingBusy.status_code == 409


# ---------------------------------------------------------------- schemas say what validation does
def accepts(model: type[BaseModel], **values) -> bool:
    try:
        model(**values)
    except ValidationError:
        return False
    return True


def test_not_blank_means_exactly_what_str_strip_leaves_something_of():
    class Named(BaseModel):
        name: Annotated[NonBlankText, Stripped]

    for code in [*range(0, 0x3100), 0xFEFF]:
        character = chr(code)
        pattern_says = re.fullmatch(NOT_BLANK, character) is not None
        assert pattern_says == (character.strip() != "" and character != "\x00"), hex(code)
    assert Named(name="  Ada ").name == "Ada"
    with pytest.raises(ValidationError):
        Named(name="\u3000 \t")


def test_the_email_pattern_names_the_domains_email_validator_refuses():
    class Account(BaseModel):
        email: Email

    for domain in SPECIAL_USE_DOMAIN_NAMES:
        address = f"someone@shop.{domain.upper()}"
        assert not re.search(NOT_RESERVED, address)
        with pytest.raises(ValidationError):
            Account(email=address)
    assert re.search(NOT_RESERVED, "someone@local.example.com")
    assert Account(email="someone@local.example.com").email == "someone@local.example.com"


@pytest.mark.parametrize("price, accepted", [
    (12, True), (0.57, True), ("12.50", True), ("0", True), (99999999.99, True),
    (0.5700000000000001, False), ("1.001", False), (" 1", False), ("1e3", False), ("-1", False),
    (100000000, False), (True, False),
])
def test_a_price_is_accepted_exactly_when_its_schema_allows_it(price, accepted):
    schema = ProductCreate.model_json_schema()["properties"]["price"]["anyOf"]
    number, text = schema
    assert number["multipleOf"] == 0.01 and text["pattern"] == PRICE_TEXT
    assert accepts(ProductCreate, name="lamp", category="home", price=price) == accepted


@pytest.mark.parametrize("value, accepted", [(3, True), (3.0, True), (True, False), ("3", False), (3.5, False)])
def test_an_integer_in_a_body_is_json_schemas_integer(value, accepted):
    class Line(BaseModel):
        quantity: integer(ge=1, le=5)

    assert accepts(Line, quantity=value) == accepted
    assert Line.model_json_schema()["properties"]["quantity"] == {
        "minimum": 1, "maximum": 5, "title": "Quantity", "type": "integer"}


@pytest.mark.parametrize("value, accepted", [("2026-12-01", True), ("0", False), ("1733011200", False)])
def test_a_day_is_written_as_its_format_says(value, accepted):
    class Report(BaseModel):
        day: IsoDate

    assert accepts(Report, day=value) == accepted
    assert Report.model_json_schema()["properties"]["day"]["format"] == "date"


def test_decimal_prices_keep_their_cents():
    assert ProductCreate(name="lamp", category="home", price="12.50").price == Decimal("12.50")


def test_the_gateway_routes_every_path_to_its_service_a_newline_in_it_too():
    from gateway.proxy import router

    catch_all = next(route for route in router.routes if "{path" in route.path)
    matched = catch_all.path_regex.match("/api/products/a\nb/bought-together")
    assert matched and matched["path"] == "a\nb/bought-together"  # the service answers 422, not the gateway 404


class ThingsClient:
    """The gateway's ServiceClient for the `things` service above: the same call, answered in process."""

    def __init__(self, down: bool = False):
        self.down, self.asked = down, []

    async def request(self, method: str, path: str, **kwargs):
        self.asked.append((method, path))
        if self.down:
            raise DependencyUnavailable("things", "no replica answered")
        transport = httpx.ASGITransport(app=shop())
        async with httpx.AsyncClient(transport=transport, base_url="http://things") as client:
            return await client.request(method, path, params=kwargs.get("params"), headers=kwargs.get("headers"),
                                        content=kwargs.get("content"))


def gateway_request(method: str, path: str, client: ThingsClient) -> Request:
    app = SimpleNamespace(state=SimpleNamespace(clients={"things": client}))
    return Request({"type": "http", "method": method, "path": f"/api{path}", "headers": [], "query_string": b"",
                    "app": app})


async def test_without_a_token_an_undeclared_method_is_still_the_405_with_the_paths_allow():
    client = ThingsClient()
    answer = await method_not_served(gateway_request("PUT", "/things/7", client), "things", "/things/7")
    assert answer.status_code == 405 and answer.headers["allow"] == "DELETE, GET, PATCH"
    assert client.asked == [("OPTIONS", "/things/7")]  # asked as a method no route serves


async def test_without_a_token_a_declared_method_keeps_its_401_also_when_the_service_cannot_say():
    for client in (ThingsClient(), ThingsClient(down=True)):
        assert await method_not_served(gateway_request("PATCH", "/things/7", client), "things", "/things/7") is None
