"""Admin tokens: made at random, kept only as a digest, checked by that digest."""

from __future__ import annotations

import hashlib

from softswitch.admin_tokens import MAX_TOKEN, check_admin_token, create_admin_token
from softswitch.store import Store
from softswitch.store.admin_tokens import AdminTokenStore


def test_a_token_is_kept_only_as_its_digest_and_checks(store_url: str) -> None:
    store = Store(store_url)
    tokens = AdminTokenStore(store.db)
    made = create_admin_token(tokens, now=1000.0)
    other = create_admin_token(tokens)
    assert made.token != other.token and made.id != other.id
    assert made.token.startswith("ssa_") and len(made.token) > 40  # 32 random bytes
    [first, second] = tokens.all()
    assert first.id == made.id and first.created_at == 1000.0
    assert first.digest == hashlib.sha256(made.token.encode()).hexdigest()
    dump = repr(store.db.execute("SELECT * FROM admin_tokens").fetchall())
    assert made.token not in dump and other.token not in dump

    found = check_admin_token(tokens, made.token)
    assert found is not None and found.id == made.id
    assert check_admin_token(tokens, made.token + "x") is None
    assert check_admin_token(tokens, made.token[:-1]) is None
    assert check_admin_token(tokens, "") is None
    assert check_admin_token(tokens, "x" * (MAX_TOKEN + 1)) is None
    # the digest itself is no credential
    assert check_admin_token(tokens, first.digest) is None

    assert tokens.delete(made.id) and not tokens.delete(made.id)
    assert check_admin_token(tokens, made.token) is None
    assert check_admin_token(tokens, other.token) is not None
