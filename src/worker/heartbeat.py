"""Beat's health signal: a periodic task travels beat -> broker -> worker and stamps Redis.

`python -m worker.heartbeat --max-age 45` (beat's compose health check) exits 0 when
the stamp is fresh, which proves the scheduler, the broker and a worker all work.
"""

import argparse
import os
import sys
import time

import redis
from celery import shared_task

HEARTBEAT_KEY = "scaleshop:beat:heartbeat"


def redis_client() -> redis.Redis:
    """The broker's Redis: the stamp lives beside the queue it proves."""
    url = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL", "redis://localhost:6379/0")
    return redis.Redis.from_url(url, socket_timeout=2)


@shared_task(name="worker.heartbeat.beat_heartbeat", ignore_result=True)
def beat_heartbeat() -> None:
    redis_client().set(HEARTBEAT_KEY, time.time(), ex=3600)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-age", type=float, default=45)
    max_age = parser.parse_args().max_age
    stamp = redis_client().get(HEARTBEAT_KEY)
    age = time.time() - float(stamp) if stamp else float("inf")
    if age > max_age:
        print(f"beat heartbeat is {age:.0f}s old (max {max_age:.0f}s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
