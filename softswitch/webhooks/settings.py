"""An account's webhook settings: its status_callback URL and its signing secret.

The functions the API (api/cpaas/webhooks.py) and the web console call: read them, set
or clear the URL, rotate the secret. A URL must be http(s) and must not point at the
switch's own HTTP listener (its address and port, a loopback alias of it, or a name
resolving there): the switch would post its events to its own API.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..store.webhooks import WebhookSettings, WebhookStore
from .signing import new_secret

MAX_URL = 2048

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str, int], Awaitable[list[str]]]


class WebhookUrlError(ValueError):
    """A status_callback the switch refuses; the message says why."""


@dataclass(frozen=True, slots=True)
class SettingsChange:
    settings: WebhookSettings
    # the secret, shown once: when it was created (first URL) or rotated; else None
    new_secret: str | None


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (an IP literal is itself)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _plain(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_local(ip: IPAddress) -> bool:
    """An address of this machine: binding a socket to it works only then."""
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(ip), 0))
    except OSError:
        return False
    return True


def reaches(target: IPAddress, own: Iterable[IPAddress]) -> bool:
    """Does a connection to ``target`` land on a listener bound to one of ``own``?"""
    target = _plain(target)
    for listen in own:
        listen = _plain(listen)
        if target == listen or target.is_unspecified:
            return True
        if target.is_loopback and (listen.is_loopback or listen.is_unspecified):
            return True  # 127.0.0.2 is this machine too
        if listen.is_unspecified and is_local(target):
            return True
    return False


async def check_url(url: str, own: tuple[str, int], lookup: Resolve = resolve) -> str:
    """``url`` cleaned up, or WebhookUrlError saying why it cannot be a status_callback.

    ``own`` is the switch's HTTP listen address (host, port).
    """
    url = url.strip()
    if len(url) > MAX_URL:
        raise WebhookUrlError(f"status_callback: longer than {MAX_URL} characters")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise WebhookUrlError("status_callback: only http:// and https:// URLs are allowed")
    host = parts.hostname
    if not host:
        raise WebhookUrlError("status_callback: the URL has no host")
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        raise WebhookUrlError("status_callback: the URL's port is not valid") from None
    own_host, own_port = own
    if port != own_port:
        return url  # nothing of ours listens for HTTP there
    try:
        targets = await lookup(host, port)
        owns = await lookup(own_host or "0.0.0.0", own_port)
    except OSError:
        raise WebhookUrlError(f"status_callback: host {host!r} does not resolve") from None
    own_ips = [ipaddress.ip_address(a.split("%")[0]) for a in owns]
    if any(reaches(ipaddress.ip_address(t.split("%")[0]), own_ips) for t in targets):
        raise WebhookUrlError(
            "status_callback: the URL points at this switch's own API; give your receiver's"
        )
    return url


class WebhookSettingsService:
    def __init__(
        self,
        store: WebhookStore,
        own: tuple[str, int],
        *,
        clock: Callable[[], float] = time.time,
        lookup: Resolve = resolve,
    ) -> None:
        self.store = store
        self.own = own
        self.clock = clock
        self.lookup = lookup

    def get(self, account_id: str) -> WebhookSettings | None:
        return self.store.settings(account_id)

    async def set_url(self, account_id: str, url: str) -> SettingsChange:
        """Set (or with "" clear) the account's status_callback; the first one creates
        its secret. WebhookUrlError for a URL the switch refuses."""
        if url.strip():
            url = await check_url(url, self.own, self.lookup)
        current = self.store.settings(account_id)
        created = current is None
        settings = WebhookSettings(
            account_id,
            url.strip(),
            current.secret if current is not None else new_secret(),
            self.clock(),
        )
        self.store.put_settings(settings)
        return SettingsChange(settings, settings.secret if created else None)

    def rotate_secret(self, account_id: str) -> SettingsChange:
        """A new secret from now on (deliveries still waiting are signed with it)."""
        current = self.store.settings(account_id)
        settings = WebhookSettings(
            account_id, current.url if current else "", new_secret(), self.clock()
        )
        self.store.put_settings(settings)
        return SettingsChange(settings, settings.secret)
