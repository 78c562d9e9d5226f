"""The flag store: one Redis hash that every process mirrors in memory, kept fresh by pub/sub.

Flags are runtime switches (seed: "testing at scale", fault injection; the OpenTelemetry
demo's flagd is the model). They live in the Redis hash `scaleshop:flags`, one field per
flag and target, the value JSON:

    latency_ms               = 0      every process
    latency_ms@products      = 300    every replica of products (and its tasks)
    latency_ms@products-1    = 300    one replica only ("a slow replica")
    new_checkout             = {"percent": 10, "value": true}   10% of users (by user id)

Writers (`make flag`, the lab's control API) HSET the field and PUBLISH on
`scaleshop:flags:changed`. Every process keeps a snapshot of the whole hash and a daemon
thread that reloads it when a change is announced, and every few seconds anyway: a
pub/sub message is fire-and-forget, so a process that was reconnecting when it was sent
still converges. Reading a flag is a dict lookup, never a Redis round trip, and a Redis
outage leaves the last snapshot in force instead of failing requests.

The thread starts lazily in the process that reads (after gunicorn's or Celery's fork),
so a forked child never inherits a thread that does not exist in it.
"""

import json
import os
import threading
import time
from collections.abc import Mapping

import redis
import structlog

from chassis.flag_catalogue import CATALOGUE, FlagSpec, parse_value

HASH_KEY = "scaleshop:flags"
CHANNEL = "scaleshop:flags:changed"
TARGET_SEPARATOR = "@"
# A missed change notification is noticed at the latest this long after it was sent.
RELOAD_SECONDS = 5.0

log = structlog.get_logger("flags")


class FlagsRefused(PermissionError):
    """Fault flags are a development tool: refused outside ENVIRONMENT=development."""


def split_field(field: str) -> tuple[str, str | None]:
    """"latency_ms@products-1" -> ("latency_ms", "products-1"); a bare name targets everyone."""
    name, _, target = field.partition(TARGET_SEPARATOR)
    return name, target or None


def spec_of(field: str) -> FlagSpec:
    name, _ = split_field(field)
    if name not in CATALOGUE:
        raise KeyError(f"unknown flag {name!r}; known: {', '.join(sorted(CATALOGUE))}")
    return CATALOGUE[name]


class FlagStore:
    """The hash in Redis (writes) and this process's in-memory mirror of it (reads)."""

    def __init__(self, url: str, *, environment: str = "development", reload_seconds: float = RELOAD_SECONDS):
        self.url = url
        self.environment = environment
        self.reload_seconds = reload_seconds
        self.snapshot: Mapping[str, object] = {}
        self.version = 0  # bumped on every reload that changed something (cheap "did anything change?")
        self.loaded = threading.Event()
        self._listeners: list = []
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ writes (CLI, control API)
    def _client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2)

    def _check_allowed(self, field: str) -> FlagSpec:
        spec = spec_of(field)
        if spec.fault and self.environment != "development":
            raise FlagsRefused(f"fault flag {field!r} refused: ENVIRONMENT={self.environment}, not development")
        return spec

    def set(self, field: str, value: object) -> object:
        """Validate against the catalogue, store, announce. Returns the stored value."""
        spec = self._check_allowed(field)
        stored = parse_value(spec, value)
        with self._client() as client:
            client.hset(HASH_KEY, field, json.dumps(stored))
            client.publish(CHANNEL, field)
        return stored

    def clear(self, field: str | None = None) -> int:
        """Back to the default: one field, or every flag when `field` is None."""
        with self._client() as client:
            if field is None:
                removed = client.delete(HASH_KEY)
            else:
                self._check_allowed(field)
                removed = client.hdel(HASH_KEY, field)
            client.publish(CHANNEL, field or "*")
        return removed

    def read_all(self) -> dict[str, object]:
        """The hash as it is in Redis now (the CLI's `make flags`)."""
        with self._client() as client:
            return {field: json.loads(raw) for field, raw in client.hgetall(HASH_KEY).items()}

    # ------------------------------------------------------------------ reads (every process)
    def ensure_started(self) -> None:
        """Start the mirror thread in this process (idempotent; restarts it in a forked child)."""
        if self._pid == os.getpid() and self._thread is not None:
            return
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None:
                return
            self._pid = os.getpid()
            self.loaded.clear()
            self._thread = threading.Thread(target=self._mirror_forever, name="flag-store", daemon=True)
            self._thread.start()

    def on_change(self, listener) -> None:
        """Call `listener(changed_fields)` from the mirror thread after a reload that changed something."""
        self._listeners.append(listener)

    def _mirror_forever(self) -> None:
        reachable = True  # say so once per outage, not once a second
        while True:
            try:
                with self._client() as client, client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    pubsub.subscribe(CHANNEL)
                    self._reload(client)
                    reachable = True
                    while True:
                        # A message, or a timeout: reload either way (the periodic safety net).
                        pubsub.get_message(timeout=self.reload_seconds)
                        self._reload(client)
            except Exception as error:  # Redis down or restarting: keep the last snapshot, retry
                if reachable:
                    log.warning("flag store unreachable; keeping the last flags", error=repr(error))
                reachable = False
                self.loaded.set()  # readers must not wait for a store that is down
                time.sleep(1.0)

    def _reload(self, client: redis.Redis) -> None:
        fresh = {}
        for field, raw in client.hgetall(HASH_KEY).items():
            try:
                fresh[field] = parse_value(spec_of(field), json.loads(raw))
            except (KeyError, ValueError) as error:  # a flag this version does not know: ignored, said once
                if field not in self.snapshot:
                    log.warning("ignoring flag", field=field, error=str(error))
        if fresh != self.snapshot:
            changed = {k for k in set(fresh) | set(self.snapshot) if fresh.get(k) != self.snapshot.get(k)}
            self.snapshot = fresh  # one reference swap: readers see the old or the new dict, never a mix
            self.version += 1
            log.info("flags changed", changed=sorted(changed))
            for listener in self._listeners:
                listener(changed)
        self.loaded.set()

    def lookup(self, name: str, targets: tuple[str, ...]) -> tuple[object, str] | None:
        """The most specific value for `name`: first matching target (e.g. replica, then service), then global."""
        snapshot = self.snapshot
        for target in targets:
            field = f"{name}{TARGET_SEPARATOR}{target}"
            if field in snapshot:
                return snapshot[field], field
        if name in snapshot:
            return snapshot[name], name
        return None
