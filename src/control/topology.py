"""How the lab draws a component: its tier (a row of the topology, from the edge down to
the data) and its role, from its compose name and the kind of image it runs. Shared by
the native and the Docker runtime, so both draw the same picture."""

import re

REPLICA_NAME = re.compile(r"^(?P<service>[a-z]+)-(?P<n>\d+)$")
PATRONI_NODE = re.compile(r"^[a-z]+-db-\d+$")
MONITORING = {"prometheus", "grafana", "alertmanager"}
DATA_WORDS = ("-db", "redis", "etcd", "pgbouncer", "patroni", "postgres")


def tier_of(name: str, kind: str, oneshot: bool) -> str:
    """edge | gateway | service | async | data | job | monitoring."""
    if oneshot:
        return "job"
    if name in MONITORING or name.endswith("-exporter") or kind == "exporter":
        return "monitoring"
    if kind in ("postgres", "redis") or any(word in name for word in DATA_WORDS):
        return "data"
    if kind == "nginx" or name == "nginx":
        return "edge"
    if name.startswith("gateway"):
        return "gateway"
    if REPLICA_NAME.match(name):
        return "service"
    return "async"


def role_of(name: str, kind: str, tier: str) -> str:
    """A short role: primary / replica for databases, the service a replica belongs to, ..."""
    if tier == "data":
        if PATRONI_NODE.match(name):
            return "Patroni node"  # primary or replica: whichever holds the leader lock now
        if kind == "postgres" or "-db" in name:
            return "replica" if "replica" in name else "primary"
        return name.split("-")[0]
    if tier in ("service", "gateway") and (match := REPLICA_NAME.match(name)):
        return f"{match['service']} replica {match['n']}"
    if tier == "job":
        return "one-shot"
    if tier == "monitoring":
        return "exporter" if name.endswith("-exporter") else name
    return {"worker": "Celery worker", "beat": "Celery beat", "control": "control API"}.get(name, name)
