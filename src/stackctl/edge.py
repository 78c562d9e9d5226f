"""The edge's runtime levers, natively: switch the load-balancing algorithm, show how to trust the CA.

`make lb ALGO=least-conn` writes the active choice into the edge-runtime volume
(infra/nginx/upstreams.conf reads it) and sends nginx SIGHUP: a graceful reload. The
master checks the new configuration, starts new workers with it, and tells the old ones
to stop accepting and to exit once their in-flight requests are answered, so no request
is dropped (the test suite and `make bench` check it under load).
"""

import json
import time
import urllib.request

from stackctl.plan import load_plan
from stackctl.settings import get_settings
from stackctl.supervisor import Supervisor

ALGORITHMS = ("round-robin", "weighted", "least-conn", "ip-hash", "hash", "random-two")


def pool_of(algorithm: str) -> str:
    """The upstream group of an algorithm: least-conn -> gateways_least_conn."""
    if algorithm not in ALGORITHMS:
        raise SystemExit(f"unknown algorithm {algorithm!r}; choose one of: {', '.join(ALGORITHMS)}")
    return "gateways_" + algorithm.replace("-", "_")


def volume_file(target_dir: str, name: str):
    nginx = load_plan()["nginx"]
    mount = next(m for m in nginx.mounts if m.target == target_dir)
    return mount.native_path / name


def active_pool(base_url: str) -> str | None:
    """The group a fresh connection to the edge is balanced by (/nginx-health says it)."""
    try:
        with urllib.request.urlopen(base_url + "/nginx-health", timeout=2) as answer:
            return json.load(answer).get("lb")
    except OSError:
        return None


def switch(algorithm: str, timeout: float = 15.0) -> float:
    """Make `algorithm` the edge's balancing; return the seconds until new connections used it."""
    return switch_pool(pool_of(algorithm), timeout)


def switch_pool(pool: str, timeout: float = 15.0) -> float:
    """Make the edge send to upstream group `pool` (an algorithm's, or blue-green's green one)."""
    volume_file("/etc/nginx/runtime", "lb.conf").write_text(f"default {pool};\n")
    started = time.monotonic()
    Supervisor(get_settings()).rpc.signalProcess("nginx", "HUP")
    base_url = f"http://{load_plan()['nginx'].address}:8080"
    while active_pool(base_url) != pool:
        if time.monotonic() - started > timeout:
            raise SystemExit(f"nginx did not reload within {timeout:.0f}s: see `make logs NAME=nginx`")
        time.sleep(0.05)
    return time.monotonic() - started


def trust_instructions() -> str:
    """How to make a browser or curl trust the development CA (printed, never done behind your back)."""
    ca = volume_file("/etc/nginx/tls", "ca/rootCA.pem")
    return "\n".join([
        f"The edge's development CA (made by edge-init on the first `make up`): {ca}",
        "",
        "  curl:     curl --cacert " + str(ca) + " https://localhost:8443/api/products",
        "  system + Firefox/Chrome (NSS):  CAROOT=" + str(ca.parent) + " mkcert -install",
        "            (undo with the same CAROOT and `mkcert -uninstall`)",
        "",
        "Trust it on this machine only: its key is in the same directory, so anyone who can read",
        "the stack's state can issue certificates your browser would accept.",
    ])
