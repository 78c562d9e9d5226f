"""Analytics knobs: the consumer group, windows, lateness, the sketch and the recommender's thresholds."""

from functools import cache

from chassis.settings import ServiceSettings


class AnalyticsSettings(ServiceSettings):
    service_name: str = "analytics"
    # Consumer group: every consumer process of the group gets a share of the entries; the name
    # must stay the same across restarts so a restarted consumer finds its own pending entries.
    events_group: str = "analytics"
    consumer_batch_size: int = 200
    consumer_block_ms: int = 1000
    # Micro-batching (Kafka's linger.ms): after a batch that was not full, wait this long before
    # reading again, so the next one is bigger. A batch pays fixed costs (two round trips, the
    # dedup lookups, one write per distinct key): at a few thousand events/s, batches of 20
    # cost about twice the CPU per event of batches of 200. Lag grows by at most this much; at the
    # bench's ~400 events/s two consumers lingering 0.5 s apply batches of about 100, and the
    # stream costs Redis and the consumers together ~3% of a request's CPU (bench scenario 10).
    consumer_linger_ms: int = 500
    # Entries pending this long at another consumer are taken over (it is presumed dead).
    consumer_claim_idle_ms: int = 15_000
    # Event time may trail the newest event seen (the watermark) by this much and still land in
    # its window; older events are counted as late instead (seed: late events).
    allowed_lateness_seconds: int = 120
    # Duplicates (a producer appending an event twice) are recognised for this long. Redelivery
    # after a crash needs no memory at all: a batch is applied and acknowledged atomically.
    dedup_seconds: int = 3600
    # Count-Min sketch: error <= epsilon * N with probability >= 1 - delta (analytics.sketch).
    sketch_epsilon: float = 0.002
    sketch_delta: float = 0.01
    heavy_hitters_kept: int = 20
    # Recommendations (association rules): pairs below these are not recommended.
    recommendation_min_support: float = 0.001
    recommendation_min_confidence: float = 0.05
    metrics_address: str = "127.0.0.1:9810"


@cache
def get_settings() -> AnalyticsSettings:
    return AnalyticsSettings()
