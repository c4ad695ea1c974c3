"""Who is calling: digest authentication of extensions, with a brute-force guard."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

from .sip.auth import DigestServer
from .sip.message import new_tag
from .sip.transaction import ServerTransaction
from .sip.ua import UserAgent
from .store import Store

log = logging.getLogger("softswitch.identity")


class AuthGuard:
    """Counts failed authentications per source address and bans noisy ones for a while."""

    def __init__(
        self,
        max_failures: int,
        window: float = 60.0,
        ban_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.ban_seconds = ban_seconds
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._banned_until: dict[str, float] = {}

    def banned(self, host: str) -> bool:
        until = self._banned_until.get(host)
        if until is None:
            return False
        if self.clock() >= until:
            del self._banned_until[host]
            return False
        return True

    def failed(self, host: str) -> None:
        now = self.clock()
        times = self._failures.setdefault(host, deque())
        times.append(now)
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.max_failures:
            self._banned_until[host] = now + self.ban_seconds
            times.clear()
            log.warning(
                "auth: %s banned for %ds after %d failures",
                host,
                self.ban_seconds,
                self.max_failures,
            )
        if len(self._failures) > 10_000:  # bound memory under a spray of sources
            oldest = next(iter(self._failures))
            del self._failures[oldest]

    def succeeded(self, host: str) -> None:
        self._failures.pop(host, None)


class ExtensionAuthenticator:
    """Challenges requests from extensions and checks their answers against stored HA1s."""

    def __init__(
        self,
        store: Store,
        digest: DigestServer,
        guard: AuthGuard,
        on_authenticated: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.digest = digest
        self.guard = guard
        # told the source host of each request that authenticated (the flood guard
        # trusts it: a registered phone's flow, an office NAT)
        self.on_authenticated = on_authenticated

    def lookup_ha1(self, username: str, algorithm: str) -> str | None:
        ext = self.store.extension(username)
        if ext is None:
            return None
        return ext.ha1_sha256 if algorithm.upper().startswith("SHA-256") else ext.ha1_md5

    def authenticate(self, st: ServerTransaction, ua: UserAgent) -> str | None:
        """The authenticated extension number, or None once we have answered the request."""
        request = st.request
        host = st.peer.host
        if self.guard.banned(host):
            st.respond_stateless(ua.response(request, 403, "Forbidden"))
            return None
        header = request.headers.get("Authorization") or request.headers.get("Proxy-Authorization")
        if header is None:
            self._challenge(st, ua, stale=False)
            return None
        result = self.digest.verify(request.method, header, self.lookup_ha1)
        if result.ok and result.username:
            self.guard.succeeded(host)
            if self.on_authenticated is not None:
                self.on_authenticated(host)
            return result.username
        if result.stale:
            self._challenge(st, ua, stale=True)
            return None
        self.guard.failed(host)
        log.warning(
            "auth failed: %s %s from %s user=%s: %s",
            request.method,
            request.call_id,
            st.peer,
            result.username,
            result.reason,
        )
        if self.guard.banned(host):
            st.respond_stateless(ua.response(request, 403, "Forbidden"))
        else:
            self._challenge(st, ua, stale=False)
        return None

    def _challenge(self, st: ServerTransaction, ua: UserAgent, stale: bool) -> None:
        response = ua.response(st.request, 401, "Unauthorized", to_tag=_tag_for(st))
        for value in self.digest.challenges(stale=stale):
            response.headers.add("WWW-Authenticate", value)
        # stateless (Kamailio's sl_send_reply): a flood of unauthenticated requests
        # keeps no transaction and gets no retransmitted 401; the nonce carries the state
        st.respond_stateless(response)


def _tag_for(st: ServerTransaction) -> str | None:
    return None if st.request.to_addr.tag else new_tag()
