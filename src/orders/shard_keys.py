"""Which bucket a user's orders live in: the hash half of "hash behind a directory" (seed
"Database Sharding Pattern").

A user id is hashed into one of BUCKETS fixed buckets (virtual shards); the directory (the shard
map, orders.directory) says which database holds each bucket. Moving a bucket moves every user in
it, and adding a shard is moving some buckets to it: no user is rehashed, unlike `hash % N`,
where going from 2 to 3 shards moves two users in three.

The hash is Knuth's multiplicative (Fibonacci) hashing: multiply by 2654435761 (≈ 2^32 / φ),
keep the low 32 bits, take the top 6 of them. It spreads sequential ids (what users get here)
evenly over the buckets, and it is simple enough to compute in SQL too: each shard stores the
bucket of every row as a generated column, the same expression (BUCKET_SQL), so the mover and
the reconciler select a bucket's rows with an index instead of recomputing it in Python.
"""

BUCKETS = 64
MULTIPLIER = 2654435761
WORD = 2**32
SHIFT = 26  # 32 - log2(BUCKETS)

# The same function in SQL (numeric: user_id * MULTIPLIER overflows bigint).
BUCKET_SQL = f"div(mod(user_id::numeric * {MULTIPLIER}, {WORD}), {2**SHIFT})::smallint"


def bucket_of(user_id: int) -> int:
    """The bucket of a user: stable across processes and restarts (no salted hash())."""
    return ((user_id * MULTIPLIER) % WORD) >> SHIFT


def initial_shard(bucket: int, shards: int) -> int:
    """Where a bucket starts before anything moved: round robin over the first shards."""
    return bucket % shards
