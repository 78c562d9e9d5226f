"""Compose health probe of the consumer: healthy while its loop completed recently.

`python -m analytics.healthcheck URL MAX_AGE` reads the consumer's own heartbeat gauge from
its /metrics (standard library only): a consumer stuck on Redis is unhealthy, not just alive.
"""

import sys
import time
import urllib.request

HEARTBEAT = "analytics_consumer_heartbeat_timestamp_seconds "


def main(url: str, max_age: float) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            text = response.read().decode()
    except OSError as error:
        print(f"unhealthy: {url}: {error}", file=sys.stderr)
        return 1
    for line in text.splitlines():
        if line.startswith(HEARTBEAT):
            age = time.time() - float(line.split()[1])
            if age <= max_age:
                return 0
            print(f"unhealthy: last loop {age:.0f}s ago", file=sys.stderr)
            return 1
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 30.0))
