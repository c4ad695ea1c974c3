"""The `softswitch` command: `serve` here, every other command in a module of its own."""

from __future__ import annotations

import argparse
import asyncio
import sys

from softswitch.config import ConfigError
from softswitch.store.engine import StoreError
from softswitchd import (
    accounts_command,
    admin_token_command,
    calls_command,
    cdr_command,
    import_command,
    logs,
    status_command,
)
from softswitchd.api_client import ClientError
from softswitchd.command_config import config_or_exit

# accounts and admin tokens work on the store; the others talk to a running switch over
# its HTTP API (softswitchd/api_client.py)
COMMANDS = (
    accounts_command,
    admin_token_command,
    status_command,
    calls_command,
    cdr_command,
    import_command,
)


def _runner() -> asyncio.Runner:
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
    for command in COMMANDS:
        command.register(sub)
    args = parser.parse_args(argv)
    if hasattr(args, "handler"):
        try:
            return int(args.handler(args))
        except (ClientError, StoreError) as exc:
            print(f"softswitch: {exc}", file=sys.stderr)
            return 1
    logs.setup(args.log_level)
    config = config_or_exit(args.config)
    if config is None:
        return 2
    # only here: the other commands need none of what the server imports (uvicorn,
    # numpy, the API)
    from softswitchd.server import serve as run_server

    with _runner() as runner:
        try:
            runner.run(run_server(config))
        # OSError: also a TLS certificate that cannot be made; StoreError: the database
        except (OSError, ConfigError, StoreError) as exc:
            print(f"softswitch: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
