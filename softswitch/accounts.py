"""CPaaS API accounts: provisioning from the config, secret hashing, credential checks.

Secrets are kept as salted scrypt hashes and compared in constant time. scrypt is slow
on purpose (~40 ms), far too slow to pay on each of thousands of requests a second, so
a successful check is remembered as a SHA-256 of the secret keyed by the stored hash:
rotating a secret (even from another process, `softswitch accounts rotate`) changes the
stored hash and so retires the cached entry by itself. The slow path runs in a worker
thread (hashlib releases the GIL), never on the event loop.

Only the right secret takes the fast path. Every wrong answer costs one scrypt run, with
the same parameters, whether the account exists (its stored hash) or not (a dummy hash),
and whether or not it logged in before: how long a refusal takes tells nothing about
which account names exist.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .config import AccountConfig
from .store.accounts import AccountRecord, AccountStore

DEFAULT_ACCOUNTS = ("account_1", "account_2")
ACCOUNT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")

_N, _R, _P = 2**14, 8, 1
_DUMMY_SALT = b"\x00" * 16


class AccountError(ValueError):
    """An account operation that cannot be done (bad id, unknown account, config-owned)."""


@dataclass(slots=True)
class Account:
    id: str


def generate_secret() -> str:
    return secrets.token_urlsafe(24)


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(
            secret.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(digest) // 2,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed.hex(), digest)


def check_id(account_id: str) -> str:
    if not ACCOUNT_ID.match(account_id):
        raise AccountError(f"invalid account id {account_id!r}: use 1-64 letters, digits, _ . -")
    return account_id


def provision_accounts(
    store: AccountStore,
    configured: Sequence[AccountConfig],
    announce: Callable[[str], None],
    now: float | None = None,
) -> None:
    """Bring the stored accounts in line with the configuration.

    With ``[[accounts]]`` configured, those replace any generated defaults (accounts made
    with `softswitch accounts create` stay). Without, account_1 and account_2 get
    generated secrets on first start (or when config accounts were removed), shown once
    through ``announce``.
    """
    now = time.time() if now is None else now
    if configured:
        wanted = {check_id(a.id): a.auth for a in configured}
        for record in store.all():
            if record.source in ("config", "generated") and record.id not in wanted:
                store.delete(record.id)
        for account_id, secret in wanted.items():
            if not secret:
                raise AccountError(f"account {account_id}: auth must not be empty")
            stored = store.get(account_id)
            if stored is None:
                store.insert(AccountRecord(account_id, hash_secret(secret), "config", now, now))
            elif stored.source != "config" or not verify_secret(secret, stored.secret_hash):
                store.set_secret(account_id, hash_secret(secret), "config", now)
        return
    for record in store.all():
        if record.source == "config":
            store.delete(record.id)
    if any(record.source == "generated" for record in store.all()):
        return
    for account_id in DEFAULT_ACCOUNTS:
        if store.get(account_id) is not None:  # made with `softswitch accounts create`
            continue
        secret = generate_secret()
        store.insert(AccountRecord(account_id, hash_secret(secret), "generated", now, now))
        announce(f"API account {account_id} auth: {secret}  (shown once; only its hash is kept)")


def create_account(store: AccountStore, account_id: str, now: float | None = None) -> str:
    """A new account with a generated secret; returns the secret (the only time it is seen)."""
    check_id(account_id)
    if store.get(account_id) is not None:
        raise AccountError(f"account {account_id} exists")
    now = time.time() if now is None else now
    secret = generate_secret()
    store.insert(AccountRecord(account_id, hash_secret(secret), "cli", now, now))
    return secret


def rotate_account(store: AccountStore, account_id: str, now: float | None = None) -> str:
    """A new generated secret for an existing account; the old one stops working at once."""
    record = store.get(account_id)
    if record is None:
        raise AccountError(f"no account {account_id}")
    if record.source == "config":
        raise AccountError(
            f"account {account_id} comes from the config file: change its auth there"
        )
    secret = generate_secret()
    store.set_secret(
        account_id,
        hash_secret(secret),
        "generated" if record.source == "generated" else "cli",
        time.time() if now is None else now,
    )
    return secret


class AccountAuthenticator:
    """Checks (account, secret) pairs; remembers successes so the common case costs µs."""

    def __init__(self, store: AccountStore, cache_size: int = 10_000, slow_checks: int = 2) -> None:
        self.store = store
        self.cache_size = cache_size
        self._verified: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        # At most this many scrypt runs at once: a flood of wrong secrets costs threads
        # and memory (16 MiB each) but cannot take them all.
        self._slow = asyncio.Semaphore(slow_checks)
        self._dummy = hash_secret("no such account", _DUMMY_SALT)

    async def authenticate(self, account_id: str, secret: str) -> Account | None:
        stored = self.store.secret_hash(account_id)
        quick = hashlib.sha256(secret.encode()).digest()
        if stored is not None:
            known = self._verified.get((account_id, stored))
            # The stored hash belongs to exactly one secret, and it is `known`. A mismatch
            # still goes the slow way: refusing it here, in microseconds, would set a
            # known account's wrong secret apart from an unknown account's 40 ms.
            if known is not None and hmac.compare_digest(known, quick):
                return Account(account_id)
        return await self._slow_check(account_id, secret, stored, quick)

    async def _slow_check(
        self, account_id: str, secret: str, stored: str | None, quick: bytes
    ) -> Account | None:
        loop = asyncio.get_running_loop()
        async with self._slow:
            # An unknown account costs the same scrypt run as a known one: no timing oracle.
            good = await loop.run_in_executor(
                None, verify_secret, secret, stored if stored is not None else self._dummy
            )
        if not good or stored is None:
            return None
        key = (account_id, stored)
        self._verified[key] = quick
        self._verified.move_to_end(key)
        while len(self._verified) > self.cache_size:
            self._verified.popitem(last=False)
        return Account(account_id)
