"""The catalogue: queries and admin writes. Callers pick the session (replica for reads, primary for writes)."""

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from products.errors import ProductInUse
from products.models import Product, Reservation
from products.schemas import ProductCreate, ProductSort, ProductUpdate

# A unique tie-breaker (id) keeps pages stable: no product shows up on two pages or none.
ORDERINGS = {
    ProductSort.price: (Product.price.asc(), Product.id.asc()),
    ProductSort.price_desc: (Product.price.desc(), Product.id.asc()),
    ProductSort.popularity: (Product.popularity.desc(), Product.id.asc()),
    ProductSort.name: (Product.name.asc(), Product.id.asc()),
}


async def get(*, session: AsyncSession, product_id: int) -> Product | None:
    """One product, or None."""
    return await session.get(Product, product_id)


async def get_all(*, session: AsyncSession, limit: int, offset: int, category: str | None,
                  sort: ProductSort) -> tuple[list[Product], int]:
    """One page of the catalogue and the total number of matching products."""
    filters = [Product.category == category] if category else []
    total = await session.scalar(select(func.count()).select_from(Product).where(*filters))
    page = await session.scalars(
        select(Product).where(*filters).order_by(*ORDERINGS[sort]).limit(limit).offset(offset)
    )
    return list(page), total or 0


async def search(*, session: AsyncSession, q: str, limit: int, offset: int,
                 ranking_v2: bool = False) -> tuple[list[Product], int]:
    """Full-text search (GIN index on `search`), best matches first, popularity breaking ties.

    `ranking_v2` (the feature flag search_ranking_v2, rolled out by user) weighs relevance by
    popularity, ts_rank x ln(popularity + 2): a popular good match beats an obscure slightly better one."""
    # websearch_to_tsquery accepts what people type ("red shoes", "lamp -desk", quoted phrases)
    # and never fails on syntax; the query is a bound parameter, never spliced into SQL.
    query = func.websearch_to_tsquery("english", q)
    matches = Product.search.op("@@")(query)
    total = await session.scalar(select(func.count()).select_from(Product).where(matches))
    rank = func.ts_rank(Product.search, query)
    if ranking_v2:
        rank = rank * func.ln(Product.popularity + 2)
    page = await session.scalars(
        select(Product).where(matches)
        .order_by(rank.desc(), Product.popularity.desc(), Product.id.asc())
        .limit(limit).offset(offset)
    )
    return list(page), total or 0


async def create(*, session: AsyncSession, data: ProductCreate) -> Product:
    """Add a product."""
    product = Product(**data.model_dump())
    session.add(product)
    await session.commit()
    await session.refresh(product)
    return product


async def update(*, session: AsyncSession, product: Product, data: ProductUpdate) -> Product:
    """Change the fields given in `data`."""
    for field, value in data.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(product, field, value)
    await session.commit()
    await session.refresh(product)
    return product


async def set_stock(*, session: AsyncSession, product: Product, stock: int) -> Product:
    """Set the stock level (a restock or an inventory count)."""
    product.stock = stock
    await session.commit()
    await session.refresh(product)
    return product


async def delete(*, session: AsyncSession, product: Product) -> None:
    """Remove a product that no order holds stock of (ProductInUse otherwise)."""
    held = await session.scalar(select(func.count()).select_from(Reservation)
                                .where(Reservation.product_id == product.id))
    if held:
        raise ProductInUse(product_id=product.id)
    await session.delete(product)
    try:
        await session.commit()
    except IntegrityError as error:  # a reservation slipped in between the check and the delete
        await session.rollback()
        raise ProductInUse(product_id=product.id) from error
