"""What a simulated shopper's browser says about itself (for the analytics: browsers, funnels).

Each simulated user keeps one session id (as the storefront does, X-Session-Id) and one user
agent, drawn from a mix of common desktop and mobile browsers.
"""

import random
import uuid

USER_AGENTS = (
    (40, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"),
    (20, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"),
    (15, "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"),
    (10, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"),
    (10, "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"),
    (5, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0"),
)


def browser_headers(rng: random.Random = random) -> dict[str, str]:
    weights, agents = zip(*USER_AGENTS)
    return {"User-Agent": rng.choices(agents, weights=weights)[0], "X-Session-Id": uuid.uuid4().hex}
