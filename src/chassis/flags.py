"""Flags through the OpenFeature SDK: a provider over the stack's own flag store.

Code asks OpenFeature, never Redis: `get_flags(settings).value("latency_ms")`. The
provider (`RedisHashProvider`) answers from the in-memory mirror of the store
(chassis.flag_store), choosing the most specific field for the caller:

    name@<replica>  ->  name@<service>:<version>  ->  name@<service>  ->  name  ->  the catalogue's default

(`error_rate@products:v2` breaks only the v2 replicas of products: a deliberately failing release
for a canary to catch, stackctl/deploy.py)

and, for a percentage rollout, buckets the OpenFeature targeting key (the user id) so a
user stays in or out of it. Outside ENVIRONMENT=development fault flags resolve to their
default (reason DISABLED) whatever the store holds: a stray flag cannot slow production.

Swapping the provider (flagd, a SaaS) changes this file only: that is what OpenFeature
is for.
"""

import zlib
from dataclasses import dataclass
from functools import cache

from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEventDetails
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider import AbstractProvider, Metadata

from chassis.flag_catalogue import CATALOGUE, FlagSpec
from chassis.flag_store import FlagStore
from chassis.settings import ServiceSettings

PROVIDER_NAME = "scaleshop-redis-hash"


class RedisHashProvider(AbstractProvider):
    """OpenFeature provider: resolves flags from a FlagStore's snapshot (no I/O per evaluation)."""

    def __init__(self, store: FlagStore, *, environment: str):
        super().__init__()
        self.store = store
        self.environment = environment

    def get_metadata(self) -> Metadata:
        return Metadata(name=PROVIDER_NAME)

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        self.store.on_change(lambda changed: self.emit_provider_configuration_changed(
            ProviderEventDetails(flags_changed=sorted(changed))))
        self.store.ensure_started()

    def resolve_boolean_details(self, flag_key, default_value, evaluation_context=None):
        return self._resolve(flag_key, default_value, evaluation_context, bool)

    def resolve_string_details(self, flag_key, default_value, evaluation_context=None):
        return self._resolve(flag_key, default_value, evaluation_context, str)

    def resolve_integer_details(self, flag_key, default_value, evaluation_context=None):
        return self._resolve(flag_key, default_value, evaluation_context, int)

    def resolve_float_details(self, flag_key, default_value, evaluation_context=None):
        return self._resolve(flag_key, default_value, evaluation_context, float)

    def resolve_object_details(self, flag_key, default_value, evaluation_context=None):
        return self._resolve(flag_key, default_value, evaluation_context, object)

    def _resolve(self, key: str, default, context: EvaluationContext | None, kind: type) -> FlagResolutionDetails:
        spec = CATALOGUE.get(key)
        if spec is None:
            return FlagResolutionDetails(default, ErrorCode.FLAG_NOT_FOUND, f"no flag {key!r}", Reason.ERROR)
        if spec.fault and self.environment != "development":
            return FlagResolutionDetails(default, reason=Reason.DISABLED)
        attributes = context.attributes if context else {}
        service, version = attributes.get("service"), attributes.get("version")
        targets = tuple(t for t in (attributes.get("replica"), service and version and f"{service}:{version}",
                                    service) if t)
        found = self.store.lookup(key, targets)
        if found is None:
            return FlagResolutionDetails(default, reason=Reason.DEFAULT)
        value, field = found
        if isinstance(value, dict):  # a percentage rollout
            user = context.targeting_key if context else None
            if user is not None and bucket(key, user) < value["percent"]:
                return FlagResolutionDetails(value["value"], reason=Reason.SPLIT, variant="rollout:in")
            return FlagResolutionDetails(default, reason=Reason.SPLIT, variant="rollout:out")
        if kind is not object and not isinstance(value, kind):
            return FlagResolutionDetails(default, ErrorCode.TYPE_MISMATCH, f"{field} is not {kind.__name__}",
                                         Reason.ERROR)
        return FlagResolutionDetails(value, reason=Reason.TARGETING_MATCH if "@" in field else Reason.STATIC,
                                     variant=field)


def bucket(flag: str, targeting_key: str) -> float:
    """A stable 0..100 position for (flag, user): the same user gets the same answer on every replica."""
    return zlib.crc32(f"{flag}:{targeting_key}".encode()) % 10_000 / 100


@dataclass
class Flags:
    """This process's flag reader: the OpenFeature client plus who is asking (service, replica, version)."""

    store: FlagStore
    service: str
    replica: str
    version: str = "v1"

    def __post_init__(self) -> None:
        self.client = api.get_client(PROVIDER_NAME)
        self._contexts: dict[str | None, EvaluationContext] = {}

    @property
    def any_set(self) -> bool:
        """False when the store is empty: the hot path skips every evaluation (one attribute read)."""
        self.store.ensure_started()
        if not self.store.loaded.is_set():  # first use in this process: give the mirror a moment to load
            self.store.loaded.wait(0.5)
        return bool(self.store.snapshot)

    def context(self, user_id: str | None = None) -> EvaluationContext:
        cached = self._contexts.get(user_id)
        if cached is None:
            cached = EvaluationContext(targeting_key=user_id,
                                       attributes={"service": self.service, "replica": self.replica,
                                                   "version": self.version})
            if len(self._contexts) < 10_000:
                self._contexts[user_id] = cached
        return cached

    def value(self, name: str, *, user_id: str | None = None):
        """The flag's value for this replica (and user), typed by the catalogue."""
        spec: FlagSpec = CATALOGUE[name]
        context = self.context(user_id)
        getter = {bool: self.client.get_boolean_value, int: self.client.get_integer_value,
                  float: self.client.get_float_value, str: self.client.get_string_value}[spec.kind]
        return getter(name, spec.default, context)


def store_for(settings: ServiceSettings) -> FlagStore:
    return FlagStore(settings.flags_redis_url or settings.redis_url, environment=settings.environment)


@cache
def get_flags(service: str, replica: str, url: str, environment: str, version: str = "v1") -> Flags:
    """One store, provider and reader per process (keyed by what identifies it)."""
    store = FlagStore(url, environment=environment)
    api.set_provider(RedisHashProvider(store, environment=environment), domain=PROVIDER_NAME)
    return Flags(store, service, replica, version)


def flags_for(settings: ServiceSettings) -> Flags:
    """The flag reader of a service process (web replica or Celery worker)."""
    return get_flags(settings.service_name, settings.replica_name,
                     settings.flags_redis_url or settings.redis_url, settings.environment, settings.service_version)
