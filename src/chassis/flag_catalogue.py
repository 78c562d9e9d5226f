"""Every flag the stack knows: name, type, default, bounds, and whether it is a fault.

A flag that is not here cannot be set (a typo is refused, not silently ignored).
Fault flags break things on purpose and are refused outside ENVIRONMENT=development;
feature flags (rollouts) are not faults. To add one, add a line here and read it with
`chassis.flags` where it takes effect.

A value is a plain JSON value of the flag's type, or a percentage rollout:
`{"percent": 10, "value": true}` gives `value` to 10% of users (bucketed by user id,
the OpenFeature targeting key, so a user keeps their bucket) and the default to the rest.
"""

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class FlagSpec:
    name: str
    kind: type  # bool | int | float | str
    default: object
    help: str
    fault: bool = True
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None  # a str flag's allowed values


def _share(name: str, help: str) -> FlagSpec:
    return FlagSpec(name, float, 0.0, help, minimum=0.0, maximum=1.0)


def _millis(name: str, help: str) -> FlagSpec:
    return FlagSpec(name, int, 0, help, minimum=0, maximum=60_000)


CATALOGUE: dict[str, FlagSpec] = {spec.name: spec for spec in (
    # Per service or replica (target with @products or @products-1); applied by chassis.faults.
    _millis("latency_ms", "added latency per HTTP request, in ms"),
    FlagSpec("latency_share", float, 1.0, "share of requests that get latency_ms (0..1)", minimum=0.0, maximum=1.0),
    _share("error_rate", "share of HTTP requests answered 503 by the fault injector (0..1)"),
    _millis("db_latency_ms", "added latency before every database statement, in ms"),
    # The simulated payment provider (payments/provider.py), in the worker that charges.
    _millis("payment_latency_ms", "added latency per payment provider call, in ms (slow provider)"),
    _share("payment_failure_rate", "share of provider calls that fail (provider down; the task retries)"),
    _share("payment_decline_rate", "share of charges the provider declines (card declined)"),
    # Feature flags (not faults: allowed everywhere), rolled out by percentage of users.
    FlagSpec("search_ranking_v2", bool, False, "search ranks matches by relevance x popularity (products/service.py)",
             fault=False),
    # Caching strategies (chassis/cache_strategies.py), switched per resource to compare them live.
    FlagSpec("product_cache_strategy", str, "write-through",
             "how product pages are cached: cache-aside | read-through | refresh-ahead | write-through | none",
             fault=False, choices=("cache-aside", "read-through", "refresh-ahead", "write-through", "none")),
    FlagSpec("product_cache_stampede", str, "lock",
             "stampede protection of the product cache: lock (one loader) | early (probabilistic early expiration)",
             fault=False, choices=("lock", "early")),
    # The fault injection point of the write-behind crash test: the view flusher pauses after claiming a batch.
    _millis("views_flush_pause_ms", "pause of the product-view flusher between claiming a batch and writing it, in ms"),
)}


def parse_value(spec: FlagSpec, value: object) -> object:
    """A validated value of the flag's type (a string from the command line is parsed as JSON first)."""
    if isinstance(value, str) and spec.kind is not str:
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"{spec.name}: {value!r} is not a {spec.kind.__name__}") from error
    if isinstance(value, dict):
        return _parse_rollout(spec, value)
    return _parse_plain(spec, value)


def _parse_plain(spec: FlagSpec, value: object) -> object:
    if spec.kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{spec.name}: expected true or false, got {value!r}")
        return value
    if spec.kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{spec.name}: expected a number, got {value!r}")
        if spec.kind is int and value != int(value):
            raise ValueError(f"{spec.name}: expected a whole number, got {value!r}")
        value = spec.kind(value)
        if spec.minimum is not None and value < spec.minimum or spec.maximum is not None and value > spec.maximum:
            raise ValueError(f"{spec.name}: {value} is outside {spec.minimum}..{spec.maximum}")
        return value
    if spec.choices is not None and value not in spec.choices:
        raise ValueError(f"{spec.name}: expected one of {', '.join(spec.choices)}, got {value!r}")
    return str(value)


def _parse_rollout(spec: FlagSpec, value: dict) -> dict:
    if set(value) != {"percent", "value"}:
        raise ValueError(f"{spec.name}: a rollout is {{\"percent\": 0..100, \"value\": ...}}, got {value!r}")
    percent = value["percent"]
    if isinstance(percent, bool) or not isinstance(percent, int | float) or not 0 <= percent <= 100:
        raise ValueError(f"{spec.name}: percent must be a number in 0..100, got {percent!r}")
    return {"percent": float(percent), "value": _parse_plain(spec, value["value"])}
