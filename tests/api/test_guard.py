"""Which source a request's failed logins count against: the socket peer, IPv6 by /64."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from api.guard import source_of


def request_from(host: str | None, headers: list[tuple[bytes, bytes]] | None = None) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": headers or [],
        "client": None if host is None else (host, 40000),
    }
    return Request(scope)


@pytest.mark.parametrize(
    "host, source",
    [
        ("198.18.0.7", "198.18.0.7"),
        ("::ffff:198.18.0.7", "198.18.0.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),  # same subscriber block, same count
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("testclient", "testclient"),
        (None, ""),
    ],
)
def test_source_of(host: str | None, source: str) -> None:
    assert source_of(request_from(host)) == source


def test_forwarding_headers_are_not_trusted() -> None:
    forged = [(b"x-forwarded-for", b"198.18.0.99"), (b"x-real-ip", b"198.18.0.99")]
    assert source_of(request_from("198.18.0.7", forged)) == "198.18.0.7"
