"""Shard routing (orders.shard_keys): stable, balanced, and a move takes only the moved bucket's users."""

from collections import Counter

from orders.shard_keys import BUCKET_SQL, BUCKETS, MULTIPLIER, SHIFT, WORD, bucket_of, initial_shard

USERS = range(1, 1001)


def test_every_user_lands_in_one_bucket_and_always_the_same():
    first = [bucket_of(user) for user in USERS]
    assert first == [bucket_of(user) for user in USERS]
    assert all(0 <= bucket < BUCKETS for bucket in first)


def test_two_shards_are_balanced_within_ten_percent_over_a_thousand_users():
    shares = Counter(initial_shard(bucket_of(user), 2) for user in USERS)
    assert set(shares) == {0, 1}
    for shard, users in shares.items():
        assert abs(users - 500) <= 50, f"shard {shard} holds {users} of 1,000 users"


def test_buckets_are_even_so_moving_one_moves_about_one_sixty_fourth_of_the_users():
    per_bucket = Counter(bucket_of(user) for user in USERS)
    assert len(per_bucket) == BUCKETS
    assert max(per_bucket.values()) - min(per_bucket.values()) <= 4


def test_adding_a_shard_through_the_directory_moves_only_the_buckets_given_to_it():
    """Directory: move 21 of 64 buckets to shard 2 -> only their users move. `hash % 3` instead
    of `hash % 2` would move two users in three."""
    directory = {bucket: initial_shard(bucket, 2) for bucket in range(BUCKETS)}
    moved = set(sorted(directory)[-21:])
    after = {bucket: (2 if bucket in moved else shard) for bucket, shard in directory.items()}
    changed = [user for user in USERS if after[bucket_of(user)] != directory[bucket_of(user)]]
    assert all(bucket_of(user) in moved for user in changed)
    assert 0.25 < len(changed) / len(USERS) < 0.41
    rehashed = [user for user in USERS if bucket_of(user) % 3 != bucket_of(user) % 2]
    assert len(rehashed) / len(USERS) > 0.6


def test_the_sql_expression_is_the_same_function():
    """The database computes each row's bucket with BUCKET_SQL; the router with bucket_of. They must
    agree for every id (the live test checks it on real rows): the same constants, the same steps."""
    assert f"{MULTIPLIER}" in BUCKET_SQL and f"{WORD}" in BUCKET_SQL and f"{2**SHIFT}" in BUCKET_SQL
    for user in (1, 2, 999, 2**31, 2**40 + 7):
        assert bucket_of(user) == ((user * MULTIPLIER) % WORD) // 2**SHIFT
