"""The Softswitch-Signature header: what the worker sends is what a receiver verifies."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from softswitch.webhooks.signing import SignatureError, header_value, new_secret, verify

BODY = b'{"id":"evt_1","type":"call.completed"}'


def test_a_signed_body_verifies_and_the_scheme_is_stripes() -> None:
    secret = new_secret()
    header = header_value(secret, 1_700_000_000, BODY)
    assert verify(secret, header, BODY, now=1_700_000_010) == 1_700_000_000
    # recomputed by hand, as the README tells a receiver to
    expected = hmac.new(secret.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert secret.startswith("whsec_") and secret != new_secret()


@pytest.mark.parametrize(
    ("secret", "body", "now", "why"),
    [
        ("whsec_other", BODY, 1_700_000_000, "does not match"),
        (None, BODY + b" ", 1_700_000_000, "does not match"),
        (None, BODY, 1_700_000_000 + 301, "tolerance"),  # a replay, five minutes later
        (None, BODY, 1_700_000_000 - 301, "tolerance"),
    ],
)
def test_a_wrong_secret_a_changed_body_or_an_old_timestamp_is_refused(
    secret: str | None, body: bytes, now: int, why: str
) -> None:
    mine = "whsec_mine"
    header = header_value(mine, 1_700_000_000, BODY)
    with pytest.raises(SignatureError, match=why):
        verify(secret or mine, header, body, now=now)


@pytest.mark.parametrize("header", ["", "v1=abc", "t=soon,v1=abc", "garbage"])
def test_a_malformed_header_is_refused(header: str) -> None:
    with pytest.raises(SignatureError):
        verify("whsec_x", header, BODY, now=0)
