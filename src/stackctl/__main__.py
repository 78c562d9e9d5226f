"""stackctl command line: `python -m stackctl up|down|ps|logs|kill|stop|start|clean|wait|address|footprint|exec|lb|trust|recreate`."""

import argparse
import os
import shutil
import time

from stackctl import edge, footprint, orchestrate, signals
from stackctl.plan import load_plan
from stackctl.settings import get_settings
from stackctl.supervisor import Supervisor


def known(name: str) -> str:
    plan = load_plan()
    if name not in plan:
        raise SystemExit(f"unknown component {name!r}; known: {', '.join(plan)}")
    return name


def main() -> None:
    parser = argparse.ArgumentParser(prog="stackctl", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for command in ("up", "down", "ps", "clean", "footprint", "trust"):
        commands.add_parser(command)
    for command in ("logs", "kill", "stop", "start", "wait", "address", "recreate"):
        commands.add_parser(command).add_argument("name")
    commands.add_parser("lb", help="switch the edge's load-balancing algorithm").add_argument(
        "algorithm", choices=edge.ALGORITHMS)
    run = commands.add_parser("exec", help="run a command in a container's environment: exec NAME -- CMD...")
    run.add_argument("name")
    run.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    settings = get_settings()

    if args.command == "up":
        orchestrate.up()
    elif args.command == "down":
        orchestrate.down()
    elif args.command == "ps":
        orchestrate.ps()
    elif args.command == "footprint":
        footprint.report()
    elif args.command == "clean":
        if Supervisor(settings).is_running():
            orchestrate.down()
        shutil.rmtree(settings.state_dir, ignore_errors=True)
        print(f"removed {settings.state_dir}")
    elif args.command == "logs":
        os.execvp("tail", ["tail", "-n", "100", "-F", str(settings.logs_dir / f"{known(args.name)}.log")])
    elif args.command == "kill":
        print(signals.kill(load_plan()[known(args.name)]))
    elif args.command == "exec":
        argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        raise SystemExit(signals.exec_in(load_plan()[known(args.name)], argv))
    elif args.command == "stop":
        Supervisor(settings).stop(known(args.name))
        print(f"{args.name} stopped; `make start NAME={args.name}` brings it back")
    elif args.command == "start":
        since = int(time.time())
        Supervisor(settings).start(known(args.name))
        print(f"{args.name} ready after {orchestrate.wait_healthy(args.name, timeout=300, since=since):.1f}s")
    elif args.command == "wait":
        print(f"{args.name} healthy after {orchestrate.wait_healthy(known(args.name)):.1f}s")
    elif args.command == "recreate":
        print(f"{args.name} recreated, healthy after {orchestrate.recreate(known(args.name)):.1f}s")
    elif args.command == "lb":
        seconds = edge.switch(args.algorithm)
        print(f"edge load balancing: {args.algorithm} (graceful reload, in force after {seconds:.2f}s)")
    elif args.command == "trust":
        print(edge.trust_instructions())
    elif args.command == "address":
        print(load_plan()[known(args.name)].address)


if __name__ == "__main__":
    main()
