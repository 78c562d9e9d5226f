"""FastAPI dependencies of the orders service, as `Annotated` aliases: what the lifespan opened (orders.main)."""

from typing import Annotated

from fastapi import Depends

from chassis.dependencies import app_state
from orders.clients import ProductsClient
from orders.outbox import Publish
from orders.shards import Shards

ShardsDep = Annotated[Shards, Depends(app_state("shards"))]
ProductsDep = Annotated[ProductsClient, Depends(app_state("products"))]
PublishDep = Annotated[Publish, Depends(app_state("publish"))]
