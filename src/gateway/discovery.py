"""Replica discovery: the gateway follows a service's replicas as they come and go
(seeds: "Autoscaling (Elasticity)", service discovery in "Kubernetes Scaling").

The configured `<SERVICE>_UPSTREAMS` list is where a gateway starts. Whoever adds or removes
replicas (the native autoscaler, `stackctl.scale`) keeps the current set in a Redis set,
`discovery:replicas:<service>`; every gateway process reads those sets every
DISCOVERY_INTERVAL_SECONDS and updates its pools:

- a new replica is registered only once it is healthy, so it gets traffic from the next poll on;
- a replica to be removed is deregistered first and stopped only after the gateways have
  stopped sending to it (the drain), so no request is cut;
- no set (or Redis down) means "keep what you have": discovery never empties a pool.

On Kubernetes the same job is done by the Service's endpoints (only ready pods) and the
preStop pause; this module is the native runtime's equivalent.
"""

import asyncio

import redis.asyncio as redis
import structlog

from chassis.balancer import Replica, ReplicaPool

KEY_PREFIX = "discovery:replicas:"
log = structlog.get_logger()


def key_of(service: str) -> str:
    return f"{KEY_PREFIX}{service}"


def apply(pool: ReplicaPool, urls: set[str]) -> bool:
    """Make `pool` hold exactly `urls`, keeping the state (ejection) of replicas that stay.

    The replica list is replaced in one assignment, so a request that is choosing a replica
    sees either the old or the new list, never half of each. Returns whether anything changed."""
    urls = {url.rstrip("/") for url in urls}
    current = {replica.url: replica for replica in pool.replicas}
    if not urls or urls == set(current):
        return False
    pool.replicas = [current.get(url) or Replica(url) for url in sorted(urls)]
    return True


async def refresh(client: redis.Redis, pools: dict[str, ReplicaPool]) -> None:
    """One poll: read every service's set in one round trip and apply the non-empty ones."""
    async with client.pipeline(transaction=False) as pipe:
        for service in pools:
            pipe.smembers(key_of(service))
        sets = await pipe.execute()
    for (service, pool), urls in zip(pools.items(), sets):
        if apply(pool, set(urls)):
            log.info("replicas discovered", upstream_service=service, replicas=[r.url for r in pool.replicas])


async def follow(client: redis.Redis, pools: dict[str, ReplicaPool], interval: float) -> None:
    """Poll until cancelled; a failed poll is logged and the pools are left as they are."""
    while True:
        try:
            await refresh(client, pools)
        except Exception as error:  # Redis down or slow: the last known replicas keep serving
            log.warning("replica discovery failed", error=f"{type(error).__name__}: {error}")
        await asyncio.sleep(interval)
