"""Count-Min sketch for heavy hitters (Cormode & Muthukrishnan, 2005), kept in Redis.

A table of `depth` rows x `width` counters; an item adds 1 to one counter per row (a
different hash per row), and its estimate is the smallest of its counters. Collisions only
add, so the estimate never undercounts, and with

    width = ceil(e / epsilon),  depth = ceil(ln(1 / delta))

    true count <= estimate <= true count + epsilon * N   with probability >= 1 - delta

where N is the total of all counts in the table. With the defaults (epsilon 0.002, delta
0.01): 1360 x 5 counters of 32 bits = 27 KB per hour, whatever the number of distinct items
(search strings have no bound). The heavy hitters are the candidates whose estimate is among
the largest, kept beside the table (the "sketch + heap" algorithm).

Why not a library: the table must live in Redis, shared by every consumer of the group and
updated in the same atomic script as the event-id check and the acknowledgement (that is
what makes the effect exactly-once). RedisBloom's CMS.* commands would do it but are not in
Debian's redis-server; in-process sketches (pyprobables) cannot join that script. What is
left to write is this: the two sizing formulas and the cell of an item in each row (the
script does BITFIELD INCRBY on those cells, the read API BITFIELD GET).
"""

import hashlib
import math
from dataclasses import dataclass

MAX_DEPTH = 5  # SHA-1 gives 5 x 32 bits, one per row: delta >= e^-5 = 0.0067


@dataclass(frozen=True)
class SketchShape:
    epsilon: float
    delta: float

    @property
    def width(self) -> int:
        return math.ceil(math.e / self.epsilon)

    @property
    def depth(self) -> int:
        return min(MAX_DEPTH, math.ceil(math.log(1 / self.delta)))

    def cells(self, kind: str, item: str) -> list[int]:
        """The counter of `item` in each row, as u32 offsets into one Redis string (row-major).

        Row r hashes with the r-th 32 bits of SHA-1(item): the script computes the same cells
        with Redis's built-in `redis.sha1hex`, so both sides agree without shipping them."""
        digest = hashlib.sha1(f"{kind[0]}:{item}".encode()).hexdigest()
        return [row * self.width + int(digest[8 * row:8 * row + 8], 16) % self.width for row in range(self.depth)]

    def error_bound(self, total: int) -> float:
        """The most an estimate can exceed the true count, with probability 1 - delta."""
        return self.epsilon * total
