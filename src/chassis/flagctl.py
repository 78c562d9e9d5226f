"""`make flags` / `make flag NAME=... VALUE=...`: list and set the stack's flags from a shell.

    python -m chassis.flagctl list
    python -m chassis.flagctl set latency_ms@products-1 300     # one replica 300 ms slower
    python -m chassis.flagctl set error_rate@orders 0.2         # 20% of orders' requests fail
    python -m chassis.flagctl set payment_failure_rate 1        # the payment provider is down
    python -m chassis.flagctl clear latency_ms@products-1       # back to the default
    python -m chassis.flagctl clear                             # every flag back to its default

The store is found like a service finds it (FLAGS_REDIS_URL, else REDIS_URL); fault
flags are refused unless ENVIRONMENT=development. Running services apply a change
within a second, without a restart (chassis.flag_store).
"""

import argparse
import sys

from chassis.flag_catalogue import CATALOGUE
from chassis.flag_store import FlagsRefused, split_field
from chassis.flags import store_for
from chassis.settings import ServiceSettings


def list_flags(store) -> None:
    stored = store.read_all()
    print(f"{'flag':<22} {'type':<6} {'default':<8} {'set':<40} what it does")
    for name, spec in CATALOGUE.items():
        set_here = ", ".join(f"{field}={value}" for field, value in sorted(stored.items())
                             if split_field(field)[0] == name) or "-"
        kind = spec.kind.__name__ + ("" if spec.fault else "*")
        print(f"{name:<22} {kind:<6} {spec.default!s:<8} {set_here:<40} {spec.help}")
    print("\ntarget one service or replica with NAME@service or NAME@replica (e.g. latency_ms@products-1);"
          "\na rollout is VALUE='{\"percent\": 10, \"value\": true}'; * = feature flag (allowed outside development)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="flagctl", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list")
    setter = commands.add_parser("set")
    setter.add_argument("field")
    setter.add_argument("value")
    clearer = commands.add_parser("clear")
    clearer.add_argument("field", nargs="?")
    args = parser.parse_args(argv)
    store = store_for(ServiceSettings())
    try:
        if args.command == "list":
            list_flags(store)
        elif args.command == "set" and args.value != "":
            print(f"{args.field} = {store.set(args.field, args.value)}")
        else:
            removed = store.clear(args.field or None)
            print(f"{args.field or 'every flag'} back to the default ({removed} cleared)")
    except (KeyError, ValueError, FlagsRefused) as error:
        print(f"flagctl: {error.args[0] if error.args else error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
