"""The `softswitch` command."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import sys

from softswitch.config import Config, ConfigError, load
from softswitchd import calls_command, cdr_command, import_command, logs, status_command
from softswitchd.api_client import ClientError


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
    accounts = sub.add_parser("accounts", help="CPaaS API accounts: list, create, rotate")
    accounts.add_argument("--config", help="TOML configuration file (for the store path)")
    action = accounts.add_subparsers(dest="action", required=True)
    action.add_parser("list", help="show the accounts (secrets are never shown again)")
    create = action.add_parser("create", help="a new account; prints its generated secret once")
    create.add_argument("account_id")
    rotate = action.add_parser("rotate", help="a new secret for an account; the old one stops")
    rotate.add_argument("account_id")
    admin = sub.add_parser("admin", help="admin API credentials")
    admin_action = admin.add_subparsers(dest="action", required=True)
    token = admin_action.add_parser(
        "token", help="a new admin API token, printed once (or --list, --revoke ID)"
    )
    token.add_argument("--config", help="TOML configuration file (for the store path)")
    token_mode = token.add_mutually_exclusive_group()
    token_mode.add_argument("--list", action="store_true", help="show the tokens' ids")
    token_mode.add_argument("--revoke", metavar="ID", help="delete a token: it stops at once")
    # these talk to a running switch over its HTTP API (softswitchd/api_client.py)
    for command in (status_command, calls_command, cdr_command, import_command):
        command.register(sub)
    args = parser.parse_args(argv)
    if hasattr(args, "handler"):
        try:
            return int(args.handler(args))
        except ClientError as exc:
            print(f"softswitch: {exc}", file=sys.stderr)
            return 1
    if args.command == "accounts":
        return _accounts(args)
    if args.command == "admin":
        return _admin_token(args)
    logs.setup(args.log_level)
    config = _config_or_exit(args.config)
    if config is None:
        return 2
    # only here: `softswitch accounts` needs none of what the server imports (uvicorn,
    # numpy, the API)
    from softswitchd.server import serve as run_server

    with _runner() as runner:
        try:
            runner.run(run_server(config))
        except (OSError, ConfigError) as exc:  # also a TLS certificate that cannot be made
            print(f"softswitch: {exc}", file=sys.stderr)
            return 1
    return 0


def _config_or_exit(path: str | None) -> Config | None:
    """The configuration, or None after printing why it cannot be read (exit status 2)."""
    try:
        return load(path)
    except ConfigError as exc:
        print(f"softswitch: configuration error: {exc}", file=sys.stderr)
        return None


def _created(timestamp: float) -> str:
    return (
        f"created {datetime.datetime.fromtimestamp(timestamp, datetime.UTC):%Y-%m-%d %H:%M:%S} UTC"
    )


def _accounts(args: argparse.Namespace) -> int:
    """Works on the store directly, so it also works while the switch runs (new secrets
    take effect on the next request: the API checks against the stored hash)."""
    from softswitch.accounts import AccountError, create_account, rotate_account
    from softswitch.store import Store
    from softswitch.store.accounts import AccountStore

    config = _config_or_exit(args.config)
    if config is None:
        return 2
    store = Store(config.store.path)
    try:
        accounts = AccountStore(store.db)
        if args.action == "list":
            rows = accounts.all()
            if not rows:
                print("no accounts yet (they are created when the switch first starts)")
            for record in rows:
                print(f"{record.id}\t{record.source}\t{_created(record.created_at)}")
            return 0
        try:
            if args.action == "create":
                secret = create_account(accounts, args.account_id)
            else:
                secret = rotate_account(accounts, args.account_id)
        except AccountError as exc:
            print(f"softswitch: {exc}", file=sys.stderr)
            return 1
        print(f"account: {args.account_id}\nauth: {secret}\n(shown once; only its hash is kept)")
        return 0
    finally:
        store.close()


def _admin_token(args: argparse.Namespace) -> int:
    """Like `accounts`, straight on the store: a new or revoked token counts on the
    switch's next request, without a restart."""
    from softswitch.admin_tokens import create_admin_token
    from softswitch.store import Store
    from softswitch.store.admin_tokens import AdminTokenStore

    config = _config_or_exit(args.config)
    if config is None:
        return 2
    store = Store(config.store.path)
    try:
        tokens = AdminTokenStore(store.db)
        if args.list:
            rows = tokens.all()
            if not rows:
                print("no admin tokens (make one with `softswitch admin token`)")
            for record in rows:
                print(f"{record.id}\t{_created(record.created_at)}")
            return 0
        if args.revoke is not None:
            if not tokens.delete(args.revoke):
                print(f"softswitch: no admin token {args.revoke}", file=sys.stderr)
                return 1
            print(f"admin token {args.revoke} revoked")
            return 0
        made = create_admin_token(tokens)
        print(
            f"admin token id: {made.id}\ntoken: {made.token}\n"
            "(shown once; only its SHA-256 is kept)\n"
            "send it as the header  Authorization: Bearer <token>"
        )
        return 0
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
