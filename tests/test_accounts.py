"""API accounts: hashing, provisioning from the config or generated defaults, CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from softswitch.accounts import (
    AccountAuthenticator,
    AccountError,
    create_account,
    hash_secret,
    provision_accounts,
    rotate_account,
    verify_secret,
)
from softswitch.config import AccountConfig
from softswitch.store import Store
from softswitch.store.accounts import AccountStore


@pytest.fixture
def store(store_url: str) -> AccountStore:
    return AccountStore(Store(store_url).db)


def test_hash_and_verify() -> None:
    stored = hash_secret("contact me")
    assert "contact me" not in stored and stored.startswith("scrypt$")
    assert verify_secret("contact me", stored)
    assert not verify_secret("contact me ", stored)
    assert not verify_secret("contact me", "garbage")
    assert hash_secret("same") != hash_secret("same")  # salted


def test_defaults_are_generated_once_and_announced(store: AccountStore) -> None:
    said: list[str] = []
    provision_accounts(store, [], said.append)
    assert [r.id for r in store.all()] == ["account_1", "account_2"]
    assert len(said) == 2 and all("shown once" in line for line in said)
    secret = said[0].split("auth: ")[1].split()[0]
    assert verify_secret(secret, store.secret_hash("account_1") or "")
    provision_accounts(store, [], said.append)  # a restart: nothing new, nothing shown
    assert len(said) == 2


def test_configured_accounts_replace_the_defaults(store: AccountStore) -> None:
    provision_accounts(store, [], lambda line: None)
    create_account(store, "ops")
    provision_accounts(
        store, [AccountConfig("account_1", "one"), AccountConfig("acme", "a")], lambda line: None
    )
    assert {r.id: r.source for r in store.all()} == {
        "account_1": "config",
        "acme": "config",
        "ops": "cli",
    }
    assert verify_secret("one", store.secret_hash("account_1") or "")
    # a changed secret in the config takes effect at the next start
    provision_accounts(store, [AccountConfig("account_1", "uno")], lambda line: None)
    assert verify_secret("uno", store.secret_hash("account_1") or "")
    assert {r.id for r in store.all()} == {"account_1", "ops"}
    with pytest.raises(AccountError):
        provision_accounts(store, [AccountConfig("bad id!", "x")], lambda line: None)


def test_create_and_rotate(store: AccountStore) -> None:
    secret = create_account(store, "acme")
    with pytest.raises(AccountError, match="exists"):
        create_account(store, "acme")
    new = rotate_account(store, "acme")
    assert not verify_secret(secret, store.secret_hash("acme") or "")
    assert verify_secret(new, store.secret_hash("acme") or "")
    with pytest.raises(AccountError, match="no account"):
        rotate_account(store, "nobody")
    provision_accounts(store, [AccountConfig("cfg", "x")], lambda line: None)
    with pytest.raises(AccountError, match="config file"):
        rotate_account(store, "cfg")


async def test_authenticator(store: AccountStore) -> None:
    secret = create_account(store, "acme")
    auth = AccountAuthenticator(store)
    assert (await auth.authenticate("acme", secret)).id == "acme"  # type: ignore[union-attr]
    assert await auth.authenticate("acme", secret) is not None  # cached path
    assert await auth.authenticate("acme", secret + "x") is None
    assert await auth.authenticate("nobody", secret) is None
    rotate_account(store, "acme")
    assert await auth.authenticate("acme", secret) is None


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "softswitchd", "accounts", "--config", "c.toml", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text('[store]\npath = "db.sqlite"\n')
    assert "no accounts yet" in run_cli("list", cwd=tmp_path).stdout
    created = run_cli("create", "acme", cwd=tmp_path)
    assert created.returncode == 0
    secret = created.stdout.split("auth: ")[1].split()[0]
    rotated = run_cli("rotate", "acme", cwd=tmp_path)
    new = rotated.stdout.split("auth: ")[1].split()[0]
    assert new != secret
    listed = run_cli("list", cwd=tmp_path)
    assert listed.stdout.startswith("acme\tcli\tcreated ") and secret not in listed.stdout
    assert run_cli("create", "acme", cwd=tmp_path).returncode == 1
    assert run_cli("rotate", "ghost", cwd=tmp_path).returncode == 1
    db = Store(tmp_path / "db.sqlite").db
    assert verify_secret(new, AccountStore(db).secret_hash("acme") or "")
