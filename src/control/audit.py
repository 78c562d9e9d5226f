"""Every action on the control API, with who and what: a JSON log line (kept with every
other log, `make grep-logs`) and the last actions in memory for the lab to show."""

import time
from collections import deque

import structlog

from chassis.tokens import AccessClaims

log = structlog.get_logger("control.audit")
RECENT: deque[dict] = deque(maxlen=50)


def record(who: AccessClaims, action: str, target: str, outcome: str, **details) -> dict:
    entry = {"time": time.time(), "user_id": who.user_id, "role": who.role, "action": action,
             "target": target, "outcome": outcome, **details}
    RECENT.appendleft(entry)
    log.info("control action", **entry)
    return entry
