"""`softswitch admin token [--list | --revoke ID]`: the admin API's tokens, on the store."""

from __future__ import annotations

import argparse
import sys

from .command_config import config_or_exit, created


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    admin = sub.add_parser("admin", help="admin API credentials")
    admin_action = admin.add_subparsers(dest="action", required=True)
    token = admin_action.add_parser(
        "token", help="a new admin API token, printed once (or --list, --revoke ID)"
    )
    token.add_argument("--config", help="TOML configuration file (for the store path)")
    token_mode = token.add_mutually_exclusive_group()
    token_mode.add_argument("--list", action="store_true", help="show the tokens' ids")
    token_mode.add_argument("--revoke", metavar="ID", help="delete a token: it stops at once")
    token.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Like `accounts`, straight on the store: a new or revoked token counts on the
    switch's next request, without a restart."""
    from softswitch.admin_tokens import create_admin_token
    from softswitch.store import Store
    from softswitch.store.admin_tokens import AdminTokenStore

    config = config_or_exit(args.config)
    if config is None:
        return 2
    store = Store(config.store.database_url, pool_size=config.store.pool_size)
    try:
        tokens = AdminTokenStore(store.db)
        if args.list:
            rows = tokens.all()
            if not rows:
                print("no admin tokens (make one with `softswitch admin token`)")
            for record in rows:
                print(f"{record.id}\t{created(record.created_at)}")
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
