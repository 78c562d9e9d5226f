"""`python -m products.seed`: load a realistic catalogue into an empty products database.

PRODUCTS_SEED_COUNT products (10,000 by default) in 20 categories, with a Zipf-like skew
of popularity: the product of rank r gets a popularity proportional to 1/r, so about 20%
of the products hold about 80% of all popularity (the 80/20 rule the load tests replay:
they pick products to view in proportion to it). Deterministic (fixed random seed).

Fast: the rows go in with one COPY (asyncpg `copy_records_to_table`), well under a second
for 10,000 rows. Idempotent: it does nothing when the table already has rows, and an
advisory lock keeps two concurrent runs from both loading.
"""

import asyncio
import random
import time
from decimal import Decimal

from sqlalchemy import text

from chassis.db import create_engine
from products.settings import get_settings

SEED_LOCK = 7_446_001  # pg_advisory_xact_lock key: one seeding transaction at a time

# category -> (nouns, price range)
CATALOGUE = {
    "electronics": (["Headphones", "Speaker", "Charger", "Power Bank", "Smartwatch", "Earbuds"], (15, 400)),
    "computers": (["Laptop Stand", "Keyboard", "Mouse", "Monitor", "USB Hub", "Webcam"], (10, 1500)),
    "phones": (["Phone Case", "Screen Protector", "Phone Mount", "Cable", "Wireless Charger"], (5, 120)),
    "home": (["Desk Lamp", "Throw Pillow", "Wall Clock", "Vase", "Candle", "Picture Frame"], (8, 150)),
    "kitchen": (["Chef Knife", "Frying Pan", "Cutting Board", "Kettle", "Coffee Grinder", "Mixing Bowl"], (6, 250)),
    "garden": (["Garden Hose", "Pruning Shears", "Planter", "Watering Can", "Bird Feeder"], (5, 180)),
    "tools": (["Drill", "Screwdriver Set", "Tape Measure", "Hammer", "Wrench Set", "Level"], (6, 300)),
    "sports": (["Yoga Mat", "Dumbbell", "Jump Rope", "Water Bottle", "Resistance Band", "Tennis Racket"], (5, 220)),
    "outdoors": (["Tent", "Sleeping Bag", "Hiking Backpack", "Headlamp", "Camping Stove"], (12, 450)),
    "fashion": (["T-Shirt", "Hoodie", "Jeans", "Scarf", "Sneakers", "Rain Jacket"], (10, 180)),
    "jewelry": (["Necklace", "Ring", "Bracelet", "Earrings", "Watch"], (15, 900)),
    "beauty": (["Face Cream", "Shampoo", "Lip Balm", "Perfume", "Hair Dryer"], (4, 160)),
    "health": (["Vitamin Pack", "Thermometer", "First Aid Kit", "Massage Gun", "Scale"], (5, 200)),
    "toys": (["Puzzle", "Building Blocks", "Plush Bear", "Toy Car", "Kite", "Board Game"], (5, 90)),
    "books": (["Novel", "Cookbook", "Travel Guide", "Notebook", "Sketchbook", "Atlas"], (4, 60)),
    "music": (["Guitar Strings", "Ukulele", "Metronome", "Drumsticks", "Keyboard Stand"], (5, 350)),
    "pets": (["Dog Leash", "Cat Bed", "Pet Bowl", "Chew Toy", "Aquarium Filter"], (4, 120)),
    "office": (["Desk Organizer", "Fountain Pen", "Stapler", "Office Chair", "Whiteboard"], (3, 400)),
    "automotive": (["Car Vacuum", "Dash Cam", "Tire Inflator", "Seat Cover", "Jump Starter"], (10, 250)),
    "grocery": (["Coffee Beans", "Green Tea", "Olive Oil", "Dark Chocolate", "Honey", "Granola"], (3, 40)),
}
BRANDS = ["Acme", "Northwind", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent",
          "Tyrell", "Cyberdyne", "Aperture", "Oscorp", "Wonka", "Gringotts", "Monarch", "Pied Piper"]
ADJECTIVES = ["Classic", "Compact", "Deluxe", "Ergonomic", "Lightweight", "Premium", "Rugged", "Sleek", "Smart",
              "Portable", "Eco", "Vintage", "Pro", "Ultra", "Essential", "Handmade"]
MATERIALS = ["Bamboo", "Steel", "Cotton", "Leather", "Oak", "Aluminium", "Ceramic", "Glass", "Wool", "Carbon"]
COLOURS = ["black", "white", "red", "blue", "green", "grey", "walnut", "sand", "navy", "olive"]
QUALITIES = ["built to last", "easy to clean", "great for gifts", "loved by reviewers", "designed for daily use",
             "backed by a two-year warranty", "made from recycled materials", "perfect for small spaces"]

COLUMNS = ["name", "description", "category", "price", "stock", "popularity"]


def catalogue(count: int, rng: random.Random) -> list[tuple]:
    """`count` product rows (name, description, category, price, stock, popularity)."""
    ranks = list(range(1, count + 1))
    rng.shuffle(ranks)  # popular products are spread over every category, not bunched in the first one
    categories = list(CATALOGUE)
    rows = []
    for index in range(count):
        category = categories[index % len(categories)]
        nouns, (low, high) = CATALOGUE[category]
        noun, brand = rng.choice(nouns), rng.choice(BRANDS)
        name = f"{brand} {rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} {noun}"
        first, second = rng.sample(QUALITIES, 2)
        description = (f"A {rng.choice(COLOURS)} {noun.lower()} by {brand}, {first} and {second}. "
                       f"Model {rng.randint(100, 999)}-{index}.")
        price = Decimal(round(rng.uniform(low, high), 2)).quantize(Decimal("0.01"))
        stock = 0 if rng.random() < 0.03 else rng.randint(5, 500)  # a few sold out, as in any real shop
        popularity = 1_000_000 // ranks[index]  # Zipf, s = 1
        rows.append((name, description, category, price, stock, popularity))
    return rows


async def seed(count: int) -> int:
    """Load `count` products unless the table has rows already; returns how many were loaded."""
    # A one-shot deploy step, not a request: it waits for a connection longer than the request
    # path's 3 s budget (at load average ~60 a new connection to products-db, then cloning its
    # replica, outlasted it and failed `compose up` after the COPY had succeeded).
    settings = get_settings().model_copy(update={"db_pool_timeout_seconds": 30.0})
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is required")
    engine = create_engine(settings.database_url, settings, pooled=False)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEED_LOCK})
            # A one-shot bulk load, not a request: the request path's statement timeout does not apply
            # (on a loaded machine the COPY of 10,000 rows outlasted it and the seed failed).
            await connection.execute(text("SET LOCAL statement_timeout = 0"))
            existing = (await connection.execute(text("SELECT count(*) FROM products"))).scalar_one()
            if existing:
                print(f"products: catalogue has {existing} products already, nothing to seed", flush=True)
                return 0
            started = time.perf_counter()
            rows = catalogue(count, random.Random(42))
            print(f"products: generated {len(rows)} products in {len(CATALOGUE)} categories "
                  f"({time.perf_counter() - started:.2f}s); loading with COPY", flush=True)
            raw = await connection.get_raw_connection()
            await raw.driver_connection.copy_records_to_table("products", records=rows, columns=COLUMNS)
        await report(engine, time.perf_counter() - started)
        return count
    finally:
        await engine.dispose()


async def report(engine, elapsed: float) -> None:
    """Print what was loaded, and the share of popularity held by the top 20%: the 80/20 check."""
    async with engine.connect() as connection:
        total, top_share = (await connection.execute(text(
            "SELECT count(*), sum(popularity) FILTER (WHERE rank <= 0.2 * n)::float / sum(popularity) "
            "FROM (SELECT popularity, row_number() OVER (ORDER BY popularity DESC) AS rank, "
            "count(*) OVER () AS n FROM products) ranked"
        ))).one()
    print(f"products: loaded {total} products in {elapsed:.2f}s; the top 20% hold "
          f"{top_share:.0%} of popularity", flush=True)


def main() -> None:
    asyncio.run(seed(get_settings().products_seed_count))


if __name__ == "__main__":
    main()
