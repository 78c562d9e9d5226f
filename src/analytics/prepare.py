"""The Python half of applying a batch: decode entries, parse user agents, locate sketch cells.

What needs libraries or hashing happens here; what must be atomic happens in `apply.lua`.
Each stream entry becomes one compact JSON document for the script. An entry that cannot be
decoded (a poison message) is still acknowledged, as type `_invalid`, so it never blocks the
group, and it is counted where the event-type metadata shows it.
"""

import functools

import orjson
from ua_parser import parse as parse_user_agent

from chassis.event_stream import FIELD

KNOWN_TYPES = {"page_view", "product_view", "search", "add_to_cart", "order_placed", "order_confirmed", "sign_up"}
INVALID = "_invalid"


@functools.lru_cache(maxsize=8192)
def agent_families(user_agent: str) -> tuple[str, str, str]:
    """Browser, OS and device family (ua-parser, the Browserscope rules), cached: agents repeat a lot."""
    result = parse_user_agent(user_agent)
    browser = result.user_agent.family if result.user_agent else "Other"
    system = result.os.family if result.os else "Other"
    device = result.device.family if result.device else "Other"
    return browser, system, device


def normalise_query(query: str) -> str:
    return " ".join(str(query).lower().split())[:100]


# The positional layout of one event in the script's arguments (apply.lua reads the same order).
LAYOUT = ("entry", "id", "type", "ts", "session", "visitor", "browser", "os", "device",
          "subject", "results", "items", "fields")


def prepare(entry_id: bytes, fields: dict | None) -> list:
    """One stream entry -> its values in LAYOUT order (a row of the batch's JSON array for apply.lua)."""
    entry_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    try:
        event = orjson.loads(fields[FIELD.encode()] if FIELD.encode() in fields else fields[FIELD])
        event_type, ts, event_id = str(event["type"]), int(event["ts"]), str(event["id"])[:80]
    except (KeyError, TypeError, ValueError, orjson.JSONDecodeError):
        event_type = INVALID  # undecodable, or trimmed from the stream while pending
    if event_type not in KNOWN_TYPES:
        return [entry_id, "", INVALID, 0, "", "", "", "", "", "", 0, "", ""]
    session = str(event.get("session") or "")[:80]
    user = event.get("user")
    browser = system = device = ""
    if event.get("ua"):
        browser, system, device = agent_families(str(event["ua"]))
    subject, results, items = "", 0, ""
    if event_type in ("product_view", "add_to_cart"):
        subject = str(int(event.get("product") or 0))
    elif event_type == "search":
        subject, results = normalise_query(event.get("q", "")), int(event.get("results") or 0)
    elif event_type == "order_placed":
        subject = str(event.get("order") or "")
        items = ",".join(str(i) for i in sorted({int(i) for i in event.get("items") or [] if isinstance(i, int)}))
    elif event_type == "order_confirmed":
        subject = str(event.get("order") or "")
    elif event_type == "page_view":
        subject = str(event.get("page") or "/")[:120]
    visitor = f"u:{user}" if user else f"s:{session}"
    return [entry_id, event_id, event_type, ts, session, visitor, browser, system, device,
            subject, results, items, ",".join(sorted(event))]
