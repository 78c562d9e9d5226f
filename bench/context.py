"""What every scenario gets: the stack, the product ids by popularity, the load and where to write."""

from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.target import Target
from bench.wrk import Load


@dataclass
class Bench:
    target: Target
    workdir: Path
    repeats: int
    load: Load
    product_ids: list[int] = field(default_factory=list)
    results: dict = field(default_factory=dict)  # scenario key -> its figures, as they are measured

    def zipf_load(self, prefix: str, **changes) -> Load:
        """The base load over Zipf-distributed product paths (`prefix` + id), most popular first."""
        return replace(self.load, paths=tuple(f"{prefix}{product_id}" for product_id in self.product_ids), **changes)


def popular_product_ids(host: str, count: int = 1000) -> tuple[list[int], int]:
    """The `count` most popular product ids (seeded with Zipf-skewed popularity) and the catalogue's size."""
    ids: list[int] = []
    total = 0
    with httpx.Client(base_url=host, timeout=10) as client:
        while len(ids) < count:
            page = client.get("/api/products", params={"sort": "popularity", "limit": 100, "offset": len(ids)})
            page.raise_for_status()
            items, total = page.json()["items"], page.json()["total"]
            ids += [item["id"] for item in items]
            if len(items) < 100:
                break
    if not ids:
        raise SystemExit(f"the catalogue at {host} is empty: seed it first (products seed runs on `make up`)")
    return ids[:count], total


def warm(base: str, paths: list[str]) -> dict[str, int]:
    """GET every path once (fills the cache-aside entries); the X-Cache answers seen."""
    seen: dict[str, int] = {}
    with httpx.Client(base_url=base, timeout=10) as client:
        for path in paths:
            source = client.get(path).headers.get("x-cache", "none")
            seen[source] = seen.get(source, 0) + 1
    return seen


def scrape(base: str, names: set[str]) -> dict[str, float]:
    """Sums of the named samples (e.g. db_query_duration_seconds_count) on one replica's /metrics."""
    text = httpx.get(base + "/metrics", timeout=10).text
    totals = dict.fromkeys(names, 0.0)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in names:
                totals[sample.name] += sample.value
    return totals


def cache_samples(base: str) -> dict[str, float]:
    """Cache hits and misses by result on one replica's /metrics (cache_requests_total)."""
    text = httpx.get(base + "/metrics", timeout=10).text
    results: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "cache_requests_total":
                result = sample.labels.get("result", "?")
                results[result] = results.get(result, 0.0) + sample.value
    return results


def scrape_labelled(base: str, names: set[str]) -> dict[tuple, float]:
    """The named samples on one replica's /metrics with their labels: {(name, (label, value), ...): value}."""
    text = httpx.get(base + "/metrics", timeout=10).text
    found: dict[tuple, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in names:
                key = (sample.name, *sorted(sample.labels.items()))
                found[key] = found.get(key, 0.0) + sample.value
    return found
