"""Status callback URLs: only http(s), never the switch's own HTTP listener; the secret
is made with the first URL and shown only then and when rotated."""

from __future__ import annotations

import socket

import pytest

from softswitch.store import Store
from softswitch.store.webhooks import WebhookStore
from softswitch.webhooks.settings import WebhookSettingsService, WebhookUrlError, check_url

OWN = ("127.0.0.1", 8080)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/hook", "only http:// and https://"),
        ("file:///etc/passwd", "only http:// and https://"),
        ("javascript:alert(1)", "only http:// and https://"),
        ("http:///nohost", "no host"),
        ("http://example.com:99999/", "port is not valid"),
        ("http://127.0.0.1:8080/hook", "own API"),
        ("http://localhost:8080/hook", "own API"),
        ("http://127.0.0.2:8080/hook", "own API"),  # a loopback alias
        ("http://[::1]:8080/hook", "own API"),
        ("http://[::ffff:127.0.0.1]:8080/hook", "own API"),
        ("http://0.0.0.0:8080/hook", "own API"),
        ("HTTP://LOCALHOST:8080/hook", "own API"),
        ("http://no-such-host.invalid:8080/", "does not resolve"),
        ("http://x/" + "a" * 2100, "longer than"),
    ],
)
async def test_refused_urls_say_why(url: str, why: str) -> None:
    with pytest.raises(WebhookUrlError, match=why):
        await check_url(url, OWN)


@pytest.mark.parametrize(
    "url",
    [
        "https://crm.example.com/hooks/softswitch",
        "http://127.0.0.1:9000/hook",  # another port on this machine: a local receiver
        "http://localhost:8081/",
        "http://127.0.0.1/hook",  # port 80
    ],
)
async def test_other_receivers_are_accepted(url: str) -> None:
    assert await check_url(f"  {url} ", OWN) == url


async def test_a_switch_listening_on_every_address_refuses_each_of_them() -> None:
    own = ("0.0.0.0", 8080)
    with pytest.raises(WebhookUrlError, match="own API"):
        await check_url("http://127.0.0.1:8080/", own)
    # the machine's own name resolves to one of its addresses
    name = socket.gethostname()
    with pytest.raises(WebhookUrlError, match="own API"):
        await check_url(f"http://{name}:8080/", own)
    # an address that is not this machine's (TEST-NET-2, never routed) is someone else
    assert await check_url("http://198.18.0.200:8080/", own)


async def test_the_secret_is_made_once_shown_once_and_rotated(store_url) -> None:
    store = Store(store_url)
    service = WebhookSettingsService(WebhookStore(store.db), OWN)
    assert service.get("acc") is None
    first = await service.set_url("acc", "https://crm.example.com/a")
    assert first.new_secret and first.new_secret == first.settings.secret
    again = await service.set_url("acc", "https://crm.example.com/b")
    assert again.new_secret is None and again.settings.secret == first.new_secret
    cleared = await service.set_url("acc", "")
    assert cleared.settings.url == "" and service.get("acc").secret == first.new_secret
    rotated = service.rotate_secret("acc")
    assert rotated.new_secret and rotated.new_secret != first.new_secret
    assert service.get("acc").secret == rotated.new_secret
    with pytest.raises(WebhookUrlError):
        await service.set_url("acc", "ftp://crm.example.com/")
    assert service.get("acc").url == ""  # a refused URL changes nothing
    store.close()
