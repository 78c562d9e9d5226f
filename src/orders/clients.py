"""Typed client for the products service's internal stock API (reserve / release).

Both calls are idempotent per `order_ref` on the products side, which is what lets
orders retry a reservation after a crash and release it any number of times.
Calls go through the chassis ServiceClient: pooled, load-balanced over the products
replicas, failing over on connection errors, 503 naming "products" when none answers.
"""

from dataclasses import dataclass
from decimal import Decimal

from chassis.balancer import ReplicaPool, parse_upstreams
from chassis.errors import DependencyUnavailable
from chassis.service_client import ServiceClient
from orders.errors import InsufficientStock, UnknownProduct
from orders.settings import OrdersSettings

CENT = Decimal("0.01")


@dataclass(frozen=True)
class ReservedItem:
    product_id: int
    name: str
    unit_price: Decimal
    quantity: int


@dataclass(frozen=True)
class Reservation:
    order_ref: str
    items: list[ReservedItem]
    total: Decimal


class ProductsClient:
    def __init__(self, settings: OrdersSettings):
        pool = ReplicaPool("products", parse_upstreams(settings.products_upstreams))
        self.http = ServiceClient(pool, caller=settings.service_name,
                                  connect_timeout=settings.http_connect_timeout_seconds,
                                  timeout=settings.http_timeout_seconds)

    async def reserve(self, *, order_ref: str, items: list[dict]) -> Reservation:
        """Reserve stock for every item at once, or for none (InsufficientStock, UnknownProduct: client errors,
        not an outage)."""
        response = await self.http.request("POST", "/products/internal/reservations",
                                           json={"order_ref": order_ref, "items": items})
        if response.status_code in (200, 201):
            body = response.json()
            return Reservation(
                order_ref=body["order_ref"],
                items=[ReservedItem(product_id=int(item["product_id"]), name=item["name"],
                                    unit_price=_money(item["unit_price"]), quantity=int(item["quantity"]))
                       for item in body["items"]],
                total=_money(body["total"]),
            )
        if response.status_code in (404, 409, 422):
            body = _json(response)
            detail = body.get("detail") if isinstance(body.get("detail"), str) else None
            named = {"product_id": body["product_id"]} if body.get("product_id") is not None else {}
            if response.status_code != 409:  # an unknown product is a fault of the order's body: 422 to our client
                fallback = UnknownProduct.description if response.status_code == 404 else "products refused these items"
                raise UnknownProduct(detail or fallback, **named)
            raise InsufficientStock(detail or InsufficientStock.description, **named)
        raise DependencyUnavailable("products", f"reservation answered {response.status_code}")

    async def release(self, *, order_ref: str) -> bool:
        """Give the reserved stock back (idempotent: releasing twice releases once)."""
        response = await self.http.request("POST", f"/products/internal/reservations/{order_ref}/release")
        if response.status_code == 200:
            return bool(_json(response).get("released"))
        if response.status_code == 404:
            return False  # nothing was reserved under this reference
        raise DependencyUnavailable("products", f"release answered {response.status_code}")

    async def aclose(self) -> None:
        await self.http.aclose()


def _money(value) -> Decimal:
    """Products sends JSON numbers; money here is an exact Decimal with two places."""
    return Decimal(str(value)).quantize(CENT)


def _json(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
