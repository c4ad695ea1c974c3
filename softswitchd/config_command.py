"""`softswitch config check FILE`: read and validate a configuration as `serve` would,
starting nothing (no socket, no store). Prints what is wrong, naming the key, and exits
with status 1; 0 and a short summary when it is usable."""

from __future__ import annotations

import argparse
import sys

from softswitch.config import ConfigError, load


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("config", help="check a configuration file")
    action = parser.add_subparsers(dest="action", required=True)
    check = action.add_parser("check", help="validate FILE without starting anything")
    check.add_argument("file")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = load(args.file)
    except ConfigError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 1
    print(
        f"{args.file}: ok ({len(config.extensions)} extension(s), {len(config.trunks)}"
        f" trunk(s), {len(config.numbers)} number(s); sip {config.sip.listen},"
        f" api {config.api.listen})"
    )
    return 0
