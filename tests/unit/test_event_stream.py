"""The event producer never slows a request: a full buffer or a Redis that is down drops events
and counts them (events_dropped_total) instead of waiting."""

import inspect

import redis.asyncio as aioredis

from chassis.event_stream import EVENTS_DROPPED, EventEmitter, make_event, session_of
from chassis.redis_client import reconnect_retry


def dropped(service: str, reason: str) -> float:
    return EVENTS_DROPPED.labels(service, reason)._value.get()


def test_emit_is_a_plain_call_that_does_no_io():
    assert not inspect.iscoroutinefunction(EventEmitter.emit)


async def test_a_full_buffer_drops_and_counts_instead_of_waiting():
    # Nothing listens on port 1: the stream is down, and the buffer fills. The client retries as the
    # services' does (redis-py's default backoff would spend 3.5 s of this test reconnecting).
    client = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2,
                            retry=reconnect_retry())
    emitter = EventEmitter(client, service="unit-full", stream="s", maxlen=100, buffer_size=100, flush_seconds=60)
    for _ in range(1000):
        assert emitter.emit(make_event("product_view", session="s", product=1)) is None
    assert len(emitter.buffer) == 100
    assert dropped("unit-full", "buffer_full") == 900
    # The background flush finds Redis down: the buffered batch is dropped and counted, not retried forever.
    assert await emitter.flush() == 0
    assert dropped("unit-full", "stream_down") == 100
    assert not emitter.buffer
    await client.aclose()


def test_disabled_emitter_keeps_nothing():
    emitter = EventEmitter(None, service="unit-off", stream="s", maxlen=1, buffer_size=1, flush_seconds=1,
                           enabled=False)
    emitter.emit(make_event("search", session="s", q="x", results=0))
    assert not emitter.buffer


def test_events_carry_their_metadata_and_a_natural_key_when_given():
    event = make_event("order_placed", session="abc", user=7, user_agent="UA", request_id="r1",
                       event_id="order_placed:9", order=9, items=[1, 2])
    assert event["id"] == "order_placed:9" and event["session"] == "abc" and event["user"] == 7
    assert event["ua"] == "UA" and event["rid"] == "r1" and isinstance(event["ts"], int)
    assert make_event("search", session="s")["id"] != make_event("search", session="s")["id"]


def test_session_is_the_storefronts_header_or_derived_from_address_and_agent():
    assert session_of({"x-session-id": "abc-123"}, "10.0.0.1") == "abc-123"
    forged = session_of({"x-session-id": "bad id; drop", "user-agent": "UA"}, "10.0.0.1")
    assert forged.startswith("anon-") and forged == session_of({"user-agent": "UA"}, "10.0.0.1")
    assert session_of({"user-agent": "UA"}, "10.0.0.2") != forged
