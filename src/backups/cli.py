"""`make backup` and `make restore`, run inside the backup container (`stackctl exec backup` natively,
`docker compose run backup` with Docker).

    python -m backups.cli backup [--type full|incr] [STANZA ...]
    python -m backups.cli restore STANZA [--target-time "2026-01-01 12:00:00+00"] [--into DIR]
    python -m backups.cli info

A restore needs the database stopped (make restore stops and starts it around this command). For
a Patroni cluster (products) it restores the first node and empties the others (backups/cluster.py);
make restore also removes the cluster's state from etcd before and starts the nodes after.
"""

import argparse
import json
import logging
import sys

from backups import cluster, pgbackrest
from backups.scheduler import take


def main() -> int:
    parser = argparse.ArgumentParser(prog="backups", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    backup = commands.add_parser("backup", help="take a backup of every (or the named) database now")
    backup.add_argument("--type", choices=["full", "incr"], default="incr")
    backup.add_argument("stanzas", nargs="*")
    restore = commands.add_parser("restore", help="restore a stopped database, to the latest point or a time")
    restore.add_argument("stanza")
    restore.add_argument("--target-time")
    restore.add_argument("--into", help="restore into this directory instead (a restore test)")
    commands.add_parser("info", help="the repository: every stanza's backups and WAL archive")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    if args.command == "backup":
        stanzas = args.stanzas or pgbackrest.configured_stanzas()
        failed = [stanza for stanza in stanzas
                  if not (pgbackrest.run(stanza, "stanza-create").ok and take(stanza, args.type))]
        print(f"{args.type} backup of {', '.join(stanzas)}: " + (f"FAILED for {', '.join(failed)}" if failed else "ok"))
        return 1 if failed else 0
    if args.command == "restore":
        if cluster.is_cluster(args.stanza) and not args.into:
            result = cluster.restore(args.stanza, target_time=args.target_time)
        else:
            result = pgbackrest.restore(args.stanza, target_time=args.target_time, into=args.into)
        print(result.output or "restored", file=sys.stdout if result.ok else sys.stderr)
        return 0 if result.ok else 1
    print(json.dumps(pgbackrest.info(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
