"""Client-side balancing strategies: which replica a call tries first (seed: "Load Balancing Algorithms").

A strategy orders a pool's replicas for one call; `ReplicaPool.candidates` then moves
ejected replicas to the end, and failover walks the rest of the order. The gateway picks
one with GATEWAY_LB:

- round-robin: each replica in turn. Even counts, blind to how busy a replica is.
- least-outstanding: the replica with the fewest calls this process has in flight to it
  (ties in turn). A slow replica holds its calls longer, so it is chosen less.
- p2c ("the power of two choices", Mitzenmacher): two replicas at random, the one with
  fewer calls in flight first. Nearly least-outstanding's balance without ranking every
  replica, and no herd: processes that see the same counts do not all pick the same one.

Counts are per process (each gateway worker balances its own calls): no coordination,
which is what makes client-side balancing cheap.
"""

import random
from collections.abc import Callable, Sequence
from typing import Protocol


class Balanced(Protocol):
    outstanding: int


Strategy = Callable[[Sequence[Balanced], int], list]


def round_robin(replicas: Sequence[Balanced], turn: int) -> list:
    start = turn % len(replicas)
    return [*replicas[start:], *replicas[:start]]


def least_outstanding(replicas: Sequence[Balanced], turn: int) -> list:
    fewest = min(replica.outstanding for replica in replicas)
    tied = [replica for replica in replicas if replica.outstanding == fewest]
    chosen = tied[turn % len(tied)]  # equally idle replicas take turns
    rest = sorted((replica for replica in replicas if replica is not chosen), key=lambda replica: replica.outstanding)
    return [chosen, *rest]


def power_of_two_choices(replicas: Sequence[Balanced], turn: int) -> list:
    if len(replicas) < 2:
        return list(replicas)
    first, second = random.sample(range(len(replicas)), 2)
    chosen = min(replicas[first], replicas[second], key=lambda replica: replica.outstanding)
    return [chosen, *(replica for replica in round_robin(replicas, turn) if replica is not chosen)]


STRATEGIES: dict[str, Strategy] = {
    "round-robin": round_robin,
    "least-outstanding": least_outstanding,
    "p2c": power_of_two_choices,
}


def strategy_named(name: str) -> Strategy:
    if name not in STRATEGIES:
        raise ValueError(f"unknown balancing strategy {name!r}; choose one of: {', '.join(STRATEGIES)}")
    return STRATEGIES[name]
