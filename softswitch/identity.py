"""Who is calling: digest authentication of extensions, with a brute-force guard.

The guard bans per (address, extension) for wrong passwords of existing extensions and
per address for unknown users, so one misconfigured phone does not lock out the others
behind its NAT; a request without credentials is refused only for an address ban, so
it never tells which extensions exist.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .sip.auth import DigestServer, authorization_username
from .sip.message import Request, new_tag
from .sip.transaction import ServerTransaction
from .sip.transport import Peer
from .sip.ua import UserAgent
from .store import Store

log = logging.getLogger("softswitch.identity")


class AuthGuard:
    """Counts failed authentications and bans the noisy for a while, fairly under NAT.

    A wrong password for an existing extension is that phone's problem (or a guess at
    that one extension): it counts against the (address, user) pair, and only that
    user is refused from that address once it reaches ``max_failures`` in ``window``
    seconds, so the honest phones behind the same NAT keep working. A failure for an
    unknown user is enumeration or cracking: it counts against the whole address,
    banned at ``max_failures``. Failures of known users from one address add up too:
    ``max_address_failures`` of them in ``window`` ban the address, which bounds an
    attacker who guesses at many extensions at once. ``max_slow_failures`` in
    ``slow_window`` seconds ban a pair or an address as well: a guesser who stays just
    under ``max_failures`` per ``window`` is not let through forever. A success clears only its own
    pair's count, so valid credentials for one extension cannot reset the counts of
    guesses at others.
    """

    def __init__(
        self,
        max_failures: int,
        window: float = 60.0,
        ban_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_address_failures: int = 30,
        max_slow_failures: int = 60,
        slow_window: float = 3600.0,
        max_entries: int = 10_000,
    ) -> None:
        self.max_failures = max_failures
        self.max_address_failures = max_address_failures
        self.max_slow_failures = max_slow_failures
        self.slow_window = max(slow_window, window)
        self.window = window
        self.ban_seconds = ban_seconds
        self.clock = clock
        self._max_entries = max_entries
        # (host, user) for a known user's failures, (host, None) for unknown users';
        # _address_failures counts every failure of an address, for max_address_failures.
        self._failures: dict[tuple[str, str | None], deque[float]] = {}
        self._address_failures: dict[str, deque[float]] = {}
        self._banned_until: dict[tuple[str, str | None], float] = {}

    def banned(self, host: str, user: str | None = None) -> bool:
        """Is ``host`` banned, or ``user`` from ``host`` (when a user is named)?"""
        if self._ban_active((host, None)):
            return True
        return user is not None and self._ban_active((host, user))

    def _ban_active(self, key: tuple[str, str | None]) -> bool:
        until = self._banned_until.get(key)
        if until is None:
            return False
        if self.clock() >= until:
            del self._banned_until[key]
            return False
        return True

    def failed(self, host: str, user: str | None) -> None:
        """Count a failure: ``user`` is the existing extension tried, None for an unknown one."""
        now = self.clock()
        key = (host, user)
        recent, slow = self._count(self._failures, key, now)
        if recent >= self.max_failures or slow >= self.max_slow_failures:
            self._ban(key, now)
        if self._count(self._address_failures, host, now)[0] >= self.max_address_failures:
            self._ban((host, None), now)

    def succeeded(self, host: str, user: str | None) -> None:
        self._failures.pop((host, user), None)

    def _count(self, table: dict[Any, deque[float]], key: Any, now: float) -> tuple[int, int]:
        """Add a failure at ``now``: (failures within window, within slow_window)."""
        times = table.get(key)
        if times is None:
            self._make_room(table)
            times = table[key] = deque()
        times.append(now)
        while times and times[0] <= now - self.slow_window:
            times.popleft()
        recent = 0
        for at in reversed(times):
            if at <= now - self.window:
                break
            recent += 1
        return recent, len(times)

    def _ban(self, key: tuple[str, str | None], now: float) -> None:
        self._make_room(self._banned_until)
        self._banned_until[key] = now + self.ban_seconds
        # The counts stay: a ban's requests are refused uncounted, the short window is
        # empty when it ends, and the slow window re-bans a guesser who comes straight back.
        host, user = key
        log.warning(
            "auth: %s banned for %ds after repeated failures",
            host if user is None else f"user {user} from {host}",
            self.ban_seconds,
        )

    def _make_room(self, table: dict[Any, Any]) -> None:
        # Bounds memory under a spray of sources: the oldest entry makes way.
        while len(table) >= self._max_entries:
            del table[next(iter(table))]


class ExtensionAuthenticator:
    """Challenges requests from extensions and checks their answers against stored HA1s."""

    def __init__(
        self,
        store: Store,
        digest: DigestServer,
        guard: AuthGuard,
        on_authenticated: Callable[[str], None] | None = None,
        origin: Callable[[Request, Peer], Peer] | None = None,
    ) -> None:
        self.store = store
        self.digest = digest
        self.guard = guard
        # told the source host of each request that authenticated (the flood guard
        # trusts it: a registered phone's flow, an office NAT)
        self.on_authenticated = on_authenticated
        # behind a cluster's front door (softswitch.cluster): the real sender, so that
        # a guesser's ban is its own, not every phone's behind the proxy
        self.origin = origin

    def lookup_ha1(self, username: str, algorithm: str) -> str | None:
        ext = self.store.extension(username)
        if ext is None:
            return None
        return ext.ha1_sha256 if algorithm.upper().startswith("SHA-256") else ext.ha1_md5

    def authenticate(self, st: ServerTransaction, ua: UserAgent) -> str | None:
        """The authenticated extension number, or None once we have answered the request."""
        request = st.request
        host = st.peer.host if self.origin is None else self.origin(request, st.peer).host
        header = request.headers.get("Authorization") or request.headers.get("Proxy-Authorization")
        claimed = authorization_username(header) if header is not None else None
        # A banned pair is refused only when the request names that user: a request
        # without credentials is challenged like any other (svwar sees no difference).
        if self.guard.banned(host, claimed if self._known(claimed) else None):
            st.respond_stateless(ua.response(request, 403, "Forbidden", to_tag=_tag_for(st)))
            return None
        if header is None:
            self._challenge(st, ua, stale=False)
            return None
        result = self.digest.verify(
            request.method, header, self.lookup_ha1, request_uri=request.uri
        )
        if result.ok and result.username:
            self.guard.succeeded(host, result.username)
            if self.on_authenticated is not None:
                self.on_authenticated(host)
            return result.username
        if result.stale:
            self._challenge(st, ua, stale=True)
            return None
        known = result.username if self._known(result.username) else None
        self.guard.failed(host, known)
        log.warning(
            "auth failed: %s %s from %s user=%s: %s",
            request.method,
            request.call_id,
            st.peer,
            result.username,
            result.reason,
        )
        if self.guard.banned(host, known):
            st.respond_stateless(ua.response(request, 403, "Forbidden", to_tag=_tag_for(st)))
        elif result.bad_request:
            st.respond_stateless(
                ua.response(request, 400, "Bad Request (digest uri)", to_tag=_tag_for(st))
            )
        else:
            self._challenge(st, ua, stale=False)
        return None

    def _known(self, username: str | None) -> bool:
        return username is not None and self.store.extension(username) is not None

    def _challenge(self, st: ServerTransaction, ua: UserAgent, stale: bool) -> None:
        response = ua.response(st.request, 401, "Unauthorized", to_tag=_tag_for(st))
        for value in self.digest.challenges(stale=stale):
            response.headers.add("WWW-Authenticate", value)
        # stateless (Kamailio's sl_send_reply): a flood of unauthenticated requests
        # keeps no transaction and gets no retransmitted 401; the nonce carries the state
        st.respond_stateless(response)


def _tag_for(st: ServerTransaction) -> str | None:
    return None if st.request.to_addr.tag else new_tag()
