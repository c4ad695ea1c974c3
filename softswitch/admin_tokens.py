"""Admin credentials: bearer tokens for the admin API, distinct from the CPaaS accounts.

`softswitch admin token` makes one and prints it once; the store keeps its SHA-256.
Checking a presented token is one digest and one indexed lookup, so no slow hash (and
no cache of verified secrets, as the CPaaS accounts need) is involved.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from .store.admin_tokens import AdminTokenRecord, AdminTokenStore

PREFIX = "ssa_"  # tells an admin token apart from other secrets in a config or a log
MAX_TOKEN = 256  # longer headers are refused before hashing


@dataclass(slots=True)
class AdminToken:
    id: str
    token: str  # the secret: shown once, never stored


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_admin_token(store: AdminTokenStore, now: float | None = None) -> AdminToken:
    token = PREFIX + secrets.token_urlsafe(32)
    token_id = secrets.token_hex(4)
    created = time.time() if now is None else now
    store.insert(AdminTokenRecord(token_id, token_digest(token), created))
    return AdminToken(token_id, token)


def check_admin_token(store: AdminTokenStore, token: str) -> AdminTokenRecord | None:
    """The stored token that `token` is, or None."""
    if not token or len(token) > MAX_TOKEN:
        return None
    digest = token_digest(token)
    record = store.by_digest(digest)
    # The lookup found the row by its digest; comparing again in constant time keeps a
    # backend with a case-insensitive or prefix-matching index from widening the match.
    if record is None or not hmac.compare_digest(record.digest, digest):
        return None
    return record
