"""Memory footprint of the native stack: the PSS of every process supervisord runs, per component.

PSS (proportional set size) splits shared pages between the processes sharing them, so
the sum over processes is the stack's real memory use (forked gunicorn workers and
Postgres backends share most of their pages).
"""

from pathlib import Path

from stackctl.plan import load_plan
from stackctl.settings import get_settings
from stackctl.supervisor import Supervisor


def pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return tree


def descendants(pid: int, tree: dict[int, list[int]]) -> list[int]:
    found = [pid]
    for child in tree.get(pid, []):
        found += descendants(child, tree)
    return found


def report() -> int:
    """Print PSS per component and the total; return the total in KiB."""
    supervisor = Supervisor(get_settings())
    infos = supervisor.all_info()
    tree = children_of()
    total = 0
    rows = []
    for name in load_plan():
        pid = infos.get(name, {}).get("pid")
        if not pid:
            continue
        pids = descendants(pid, tree)
        kib = sum(pss_kib(p) for p in pids)
        total += kib
        rows.append((kib, name, len(pids)))
    supervisord_pid = int((get_settings().state_dir / "supervisord.pid").read_text())
    total += pss_kib(supervisord_pid)
    for kib, name, count in sorted(rows, reverse=True):
        print(f"{name:<30} {kib / 1024:8.1f} MiB  ({count} processes)")
    print(f"{'TOTAL (incl. supervisord)':<30} {total / 1024:8.1f} MiB")
    return total
