"""The signature of a delivery: HMAC-SHA256 over ``timestamp + "." + body`` with the
account's webhook secret, sent as ``Softswitch-Signature: t=<unix time>,v1=<hex>``
(Stripe's scheme). Each attempt is signed afresh, so a receiver may refuse a timestamp
older than a few minutes (a replay) even for an event retried hours later.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

HEADER = "Softswitch-Signature"
SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300  # seconds a receiver accepts a timestamp off its clock


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def header_value(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


class SignatureError(ValueError):
    pass


def verify(
    secret: str, header: str, body: bytes, now: float, tolerance: int = DEFAULT_TOLERANCE
) -> int:
    """What a receiver does (README, "Webhooks"): check ``header`` for ``body``; returns
    its timestamp, or SignatureError when it is malformed, wrong, or too old."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise SignatureError("no timestamp in the signature header") from None
    if abs(now - timestamp) > tolerance:
        raise SignatureError("timestamp outside the tolerance: a replay?")
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
        raise SignatureError("signature does not match")
    return timestamp
