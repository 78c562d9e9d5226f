"""chassis.flag_store against the test stack's real Redis: a write is announced on pub/sub and
mirrored by another process's store without polling for it; typos and bad values are refused."""

import time
import uuid

import pytest

from chassis.flag_store import FlagStore

pytestmark = pytest.mark.stack


@pytest.fixture
def url(stack):
    return f"redis://{stack.address('queue-redis')}:6379/0"


def wait_for(predicate, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_a_change_reaches_another_mirror_through_the_notification(url):
    # A reload period far beyond the wait: only the pub/sub message can bring the change in time.
    mirror = FlagStore(url, reload_seconds=60)
    mirror.ensure_started()
    assert mirror.loaded.wait(3)
    writer = FlagStore(url)
    field = f"latency_ms@test-{uuid.uuid4().hex[:6]}"
    try:
        writer.set(field, "150")
        assert wait_for(lambda: mirror.lookup("latency_ms", (field.split("@")[1],)) == (150, field))
        assert writer.read_all()[field] == 150
    finally:
        writer.clear(field)
    assert wait_for(lambda: mirror.lookup("latency_ms", (field.split("@")[1],)) is None)


def test_unknown_flags_and_out_of_range_values_are_refused_and_nothing_is_stored(url):
    writer = FlagStore(url)
    with pytest.raises(KeyError):
        writer.set("latncy_ms", 100)
    with pytest.raises(ValueError):
        writer.set("error_rate@orders", "2")
    assert "error_rate@orders" not in writer.read_all()
