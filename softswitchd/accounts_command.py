"""`softswitch accounts list|create|rotate`: the CPaaS API accounts, on the store."""

from __future__ import annotations

import argparse
import sys

from .command_config import config_or_exit, created


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    accounts = sub.add_parser("accounts", help="CPaaS API accounts: list, create, rotate")
    accounts.add_argument("--config", help="TOML configuration file (for the store path)")
    action = accounts.add_subparsers(dest="action", required=True)
    action.add_parser("list", help="show the accounts (secrets are never shown again)")
    create = action.add_parser("create", help="a new account; prints its generated secret once")
    create.add_argument("account_id")
    rotate = action.add_parser("rotate", help="a new secret for an account; the old one stops")
    rotate.add_argument("account_id")
    accounts.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Works on the store directly, so it also works while the switch runs (new secrets
    take effect on the next request: the API checks against the stored hash)."""
    from softswitch.accounts import AccountError, create_account, rotate_account
    from softswitch.store import Store
    from softswitch.store.accounts import AccountStore

    config = config_or_exit(args.config)
    if config is None:
        return 2
    store = Store(config.store.database_url, pool_size=config.store.pool_size)
    try:
        accounts = AccountStore(store.db)
        if args.action == "list":
            rows = accounts.all()
            if not rows:
                print("no accounts yet (they are created when the switch first starts)")
            for record in rows:
                print(f"{record.id}\t{record.source}\t{created(record.created_at)}")
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
