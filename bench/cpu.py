"""CPU time per request, per component: where a request's cost goes, whatever else the machine runs.

Throughput on a shared machine moves with everything else running on it; the CPU seconds a
process consumed per request served hardly do. Reading utime+stime of a component's
processes (the master and every worker: its descendants) from /proc before and after a
measurement gives milliseconds of CPU per request for each hop (native runtime only).
"""

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> tuple[int, float] | None:
    """(parent pid, CPU seconds used) of one process, None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime + stime, and cutime + cstime: the CPU of children it has reaped (a Postgres backend that
    # ended during the measurement would otherwise take its CPU with it).
    return int(fields[1]), (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / TICKS


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def cpu_seconds(markers: dict[str, str]) -> dict[str, float]:
    """CPU seconds used so far by each component: processes whose command line holds its marker, and their children."""
    stats = {pid: stat for pid in os.listdir("/proc") if pid.isdigit() and (stat := _stat(pid))}
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in stats.items():
        children.setdefault(parent, []).append(int(pid))
    totals = {}
    for name, marker in markers.items():
        roots = [int(pid) for pid in stats if marker in _cmdline(pid)]
        seen, todo = set(), list(roots)
        while todo:
            pid = todo.pop()
            if pid not in seen:
                seen.add(pid)
                todo += children.get(pid, [])
        totals[name] = sum(stats[str(pid)][1] for pid in seen if str(pid) in stats)
    return totals


def per_request_ms(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, float]:
    """Milliseconds of CPU per request for each component between two readings."""
    return {name: 1000 * (after[name] - before[name]) / requests for name in before} if requests else {}


def context_switches() -> int:
    """The machine's context switches since boot (/proc/stat `ctxt`): every hop of a request that
    wakes another process costs one or more, and on few cores their cost shows in throughput."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("ctxt "):
            return int(line.split()[1])
    return 0
