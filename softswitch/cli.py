"""The `softswitch` command."""

from __future__ import annotations

import argparse
import asyncio
import sys

from . import logs
from .config import ConfigError, load


def _runner():
    try:
        import uvloop
    except ImportError:  # the stock loop works, at about half the packet rate
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="softswitch", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the switch (SIP, RTP, HTTP API)")
    serve.add_argument("--config", help="TOML configuration file (default: embedded defaults)")
    serve.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logs.setup(args.log_level)
    try:
        config = load(args.config)
    except ConfigError as exc:
        print(f"softswitch: configuration error: {exc}", file=sys.stderr)
        return 2
    from .server import serve as run_server

    with _runner() as runner:
        try:
            runner.run(run_server(config))
        except OSError as exc:
            print(f"softswitch: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
