"""Client-side load balancing over a service's replicas (seed: load balancing, health checks).

A strategy (chassis.balancing: round robin by default, least outstanding, two random
choices) orders the replicas for each call, with passive health checks like nginx's
`max_fails=1 fail_timeout=5s`: a replica that refused a connection is ejected for
`eject_seconds` and only tried again when every other replica is ejected too.
"""

import itertools
import time
from dataclasses import dataclass

from chassis.balancing import strategy_named


@dataclass
class Replica:
    url: str
    ejected_until: float = 0.0
    outstanding: int = 0  # calls this process has in flight to it (least-outstanding, p2c)

    @property
    def available(self) -> bool:
        return time.monotonic() >= self.ejected_until


class ReplicaPool:
    def __init__(self, service: str, urls: list[str], eject_seconds: float = 5.0, strategy: str = "round-robin"):
        if not urls:
            raise ValueError(f"{service}: no replica URLs configured")
        self.service = service
        self.replicas = [Replica(url.rstrip("/")) for url in urls]
        self.eject_seconds = eject_seconds
        self.strategy = strategy_named(strategy)
        self._turn = itertools.count()

    def candidates(self) -> list[Replica]:
        """All replicas in the order to try them: the strategy's choice first, ejected ones last."""
        ordered = self.strategy(self.replicas, next(self._turn))
        return [r for r in ordered if r.available] + [r for r in ordered if not r.available]

    def eject(self, replica: Replica) -> None:
        replica.ejected_until = time.monotonic() + self.eject_seconds

    def restore(self, replica: Replica) -> None:
        replica.ejected_until = 0.0


def parse_upstreams(value: str) -> list[str]:
    """"http://users-1:8000,http://users-2:8000" -> the list of replica base URLs."""
    return [url.strip() for url in value.split(",") if url.strip()]
