"""Blue-green of the gateway tier through the edge (seed: "Zero-Downtime Deployment", blue-green):
`make deploy SERVICE=gateway VERSION=v2 STRATEGY=blue-green`, then, if v2 disappoints,
`make deploy SERVICE=gateway VERSION=v2 STRATEGY=blue-green-rollback`.

Blue is what the edge sends to now: compose's gateways, under whichever balancing group
`make lb` chose. A deploy:

1. starts green beside blue: two more gateways on the new version (gateway-3, gateway-4), made
   like the autoscaler's replicas (stackctl/scale.py), readiness-gated (health check + version,
   stackctl/deploy.py) while blue still serves everything;
2. switches in one graceful reload: green's upstream group `gateways_green` is written into the
   edge's runtime volume (infra/nginx/upstreams.conf includes it), lb.conf names it, nginx gets
   SIGHUP (stackctl/edge.py): new workers send every new request to green, the old workers finish
   what they hold on blue -- no request is dropped, none is answered by a mix;
3. keeps blue running: a rollback is lb.conf naming blue's group again and one more reload,
   instant because blue never stopped. The rollback also drains green away.

The state between the two (blue's group, green's replicas) is `bluegreen.json` in the stack's state
directory. Known limit: blue is always compose's gateways; `make up` returns the edge to them.
"""

import argparse
import json
from pathlib import Path

from stackctl import edge, scale
from stackctl.deploy import VERSION_VARIABLE, Journal, version_of, wait_ready
from stackctl.plan import load_plan
from stackctl.settings import get_settings

TIER = "gateway"
GREEN_POOL = "gateways_green"
GREEN_SIZE = 2


def state_file() -> Path:
    return get_settings().state_dir / "bluegreen.json"


def green_group(replicas: list[str]) -> str:
    """The green pair's upstream group, with the blue groups' passive health checks and keepalive."""
    plan = load_plan()
    servers = "".join(f"    server {plan[name].address}:{scale.PORT} max_fails=1 fail_timeout=5s;\n"
                      for name in replicas)
    return (f"# Written by stackctl/bluegreen.py: the green gateways ({', '.join(replicas)}).\n"
            f"upstream {GREEN_POOL} {{\n    zone {GREEN_POOL} 64k;\n    least_conn;\n{servers}    keepalive 64;\n}}\n")


def deploy(version: str, journal: Journal) -> None:
    if state_file().exists():
        raise SystemExit("a green gateway tier is live: roll it back first (STRATEGY=blue-green-rollback)")
    edge_url = f"http://{load_plan()['nginx'].address}:8080"
    blue_pool = edge.active_pool(edge_url)
    blue = scale.replicas_of(load_plan(), TIER)
    journal("blue-green deploy", blue=blue, blue_pool=blue_pool, blue_version=version_of(blue[0]), version=version)
    green = scale.start_replicas(TIER, GREEN_SIZE, env={VERSION_VARIABLE: version})
    journal("green starting beside blue", green=green)
    for name in green:
        seconds = wait_ready(name, version)
        scale.scrape_target(load_plan()[name], TIER)
        journal("green replica ready", replica=name, version=version, seconds_to_ready=round(seconds, 1))
    edge.volume_file("/etc/nginx/runtime", "upstream-green.conf").write_text(green_group(green))
    state_file().write_text(json.dumps({"blue_pool": blue_pool, "blue": blue, "green": green, "version": version}))
    seconds = edge.switch_pool(GREEN_POOL)
    journal("edge switched to green", pool=GREEN_POOL, seconds_to_switch=round(seconds, 2),
            note="blue keeps running: STRATEGY=blue-green-rollback switches back")


def rollback(journal: Journal) -> None:
    if not state_file().exists():
        raise SystemExit("no blue-green deploy to roll back")
    state = json.loads(state_file().read_text())
    seconds = edge.switch_pool(state["blue_pool"])
    journal("edge switched back to blue", pool=state["blue_pool"], seconds_to_switch=round(seconds, 2))
    # Green gets no new request since the reload; the drain covers what the old workers still hold.
    removed = scale.remove_replicas(TIER, len(state["green"]))
    edge.volume_file("/etc/nginx/runtime", "upstream-green.conf").unlink(missing_ok=True)
    state_file().unlink()
    journal("green drained and removed", removed=removed)


def main() -> None:
    parser = argparse.ArgumentParser(prog="stackctl.bluegreen", description=__doc__.split("\n\n")[0])
    parser.add_argument("version")
    parser.add_argument("--rollback", action="store_true")
    parser.add_argument("--log", type=Path, help="append every step here as JSON lines")
    args = parser.parse_args()
    journal = Journal(args.log)
    rollback(journal) if args.rollback else deploy(args.version, journal)


if __name__ == "__main__":
    main()
