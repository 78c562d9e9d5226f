"""Which backup a stanza is due for: the backup strategy, as a pure function.

Full backups copy the whole database; incremental ones copy only the files changed
since the previous backup of any type, so they are cheap enough to take often. With
the WAL archived in between, any moment after the oldest kept full backup can be
restored (point-in-time recovery): a restore replays an incremental chain plus WAL.
"""

from dataclasses import dataclass

FULL = "full"
INCREMENTAL = "incr"


@dataclass(frozen=True)
class Policy:
    incremental_every_seconds: float
    full_every_seconds: float


def good_backups(stanza: dict) -> list[dict]:
    """The stanza's completed backups without errors, oldest first."""
    return [backup for backup in stanza.get("backup", []) if not backup.get("error")]


def due(stanza: dict, now: float, policy: Policy) -> str | None:
    """FULL when there is no full backup or the last is older than the full period; INCREMENTAL when
    the newest backup of any type is older than the incremental period; otherwise None."""
    backups = good_backups(stanza)
    fulls = [backup for backup in backups if backup["type"] == FULL]
    if not fulls or now - fulls[-1]["timestamp"]["stop"] >= policy.full_every_seconds:
        return FULL
    if now - backups[-1]["timestamp"]["stop"] >= policy.incremental_every_seconds:
        return INCREMENTAL
    return None
