"""Compose health probe: `python -m chassis.healthcheck URL` exits 0 when URL answers 200.

Standard library only, so the probe stays cheap to run every few seconds.
"""

import sys
import urllib.error
import urllib.request


def main(url: str, timeout: float = 3.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"unhealthy: {url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
