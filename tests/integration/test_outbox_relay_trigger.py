"""Coalesced outbox relay triggers (orders.outbox.coalescing) on a real Redis: one queued relay run
absorbs the triggers of every commit made before it starts, a run that started lets the next commit
queue a new one, and a Redis that cannot answer never suppresses a trigger."""

from orders import outbox
from redis_server import free_port, redis_server


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def __call__(self, task: str, kwargs: dict, *, retry: bool = True) -> None:
        self.sent.append(task)


def test_triggers_are_coalesced_until_the_queued_run_starts(tmp_path):
    with redis_server(tmp_path) as url:
        marker, sent = outbox.QueuedRelayMarker(url), Recorder()
        marker.clear()
        publish = outbox.coalescing(sent, marker)
        for _ in range(5):  # five commits before the relay run starts: one run sees all five rows
            outbox.trigger_relay(publish)
        assert sent.sent == [outbox.RELAY_TASK]

        marker.clear()  # the queued run starts (it clears before its SELECT)
        outbox.trigger_relay(publish)  # a commit after that SELECT may be missed by it: queue another
        assert sent.sent == [outbox.RELAY_TASK, outbox.RELAY_TASK]


def test_other_tasks_are_never_coalesced(tmp_path):
    with redis_server(tmp_path) as url:
        sent = Recorder()
        publish = outbox.coalescing(sent, outbox.QueuedRelayMarker(url))
        publish("payments.charge", {"order_id": 1})
        publish("payments.charge", {"order_id": 1})
        assert sent.sent == ["payments.charge", "payments.charge"]


def test_the_marker_expires_so_a_lost_run_blocks_triggers_only_for_its_ttl(tmp_path):
    with redis_server(tmp_path) as url:
        marker = outbox.QueuedRelayMarker(url, ttl_seconds=5)
        assert marker.claim() is True
        assert 0 < marker._redis.ttl(marker.KEY) <= 5
        assert marker.claim() is False


def test_without_redis_every_trigger_is_sent():
    marker, sent = outbox.QueuedRelayMarker(f"redis://127.0.0.1:{free_port()}/0"), Recorder()
    publish = outbox.coalescing(sent, marker)
    outbox.trigger_relay(publish)
    outbox.trigger_relay(publish)
    marker.clear()  # must not raise either
    assert sent.sent == [outbox.RELAY_TASK, outbox.RELAY_TASK]
