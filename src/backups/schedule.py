"""Which backup a stanza is due for: the backup strategy, as a pure function.

Full backups copy the whole database; incremental ones copy only the files changed
since the previous backup of any type, so they are cheap enough to take often. With
the WAL archived in between, any moment after the oldest kept full backup can be
restored (point-in-time recovery): a restore replays an incremental chain plus WAL.

A restore's time (the RTO) is copying the backup back plus replaying every WAL segment
archived since that backup, one `archive-get` per segment. A clock alone bounds that
badly: an idle database archives nothing in an hour, a busy one hundreds of segments
(archive_timeout closes one every 15 s while anything is written). So an incremental is
also due once `incremental_after_wal_segments` segments were archived since the newest
backup: backups follow the write volume, and the replay a restore faces stays bounded.
"""

from dataclasses import dataclass

FULL = "full"
INCREMENTAL = "incr"
SEGMENTS_PER_LOG_FILE = 0x100  # 16 MiB WAL segments: 256 per 4 GiB "log file" (the middle 8 hex digits)


@dataclass(frozen=True)
class Policy:
    incremental_every_seconds: float
    full_every_seconds: float
    incremental_after_wal_segments: int = 0  # 0: the clock only


def good_backups(stanza: dict) -> list[dict]:
    """The stanza's completed backups without errors, oldest first."""
    return [backup for backup in stanza.get("backup", []) if not backup.get("error")]


def segment_position(name: str) -> int:
    """A WAL segment file name's position in the WAL stream, whatever its timeline (the first 8 digits)."""
    return int(name[8:16], 16) * SEGMENTS_PER_LOG_FILE + int(name[16:24], 16)


def wal_segments_since(stanza: dict, backup: dict) -> int:
    """WAL segments archived after `backup` ended: what a restore from it replays to reach the end of the archive."""
    archives = [archive for archive in stanza.get("archive", []) if archive.get("max")]
    stop = (backup.get("archive") or {}).get("stop")
    if not archives or not stop:
        return 0
    return max(0, segment_position(archives[-1]["max"]) - segment_position(stop))


def due(stanza: dict, now: float, policy: Policy) -> str | None:
    """FULL when there is no full backup or the last is older than the full period; INCREMENTAL when
    the newest backup of any type is older than the incremental period, or more WAL segments than
    the policy allows were archived since it; otherwise None."""
    backups = good_backups(stanza)
    fulls = [backup for backup in backups if backup["type"] == FULL]
    if not fulls or now - fulls[-1]["timestamp"]["stop"] >= policy.full_every_seconds:
        return FULL
    if now - backups[-1]["timestamp"]["stop"] >= policy.incremental_every_seconds:
        return INCREMENTAL
    if policy.incremental_after_wal_segments and \
            wal_segments_since(stanza, backups[-1]) >= policy.incremental_after_wal_segments:
        return INCREMENTAL
    return None
