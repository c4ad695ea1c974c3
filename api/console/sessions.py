"""Console sessions: a random id in a cookie, everything else kept here, server side.

A session ends when it has been idle for `idle` seconds, when it is `lifetime` seconds
old, or at logout; the browser only ever holds the id (256 random bits), so there is
nothing in the cookie to forge or to decode. Each session has its own CSRF token that
every state-changing request must echo (`api.console.security`). The table is bounded:
past `limit` sessions the oldest is dropped, so logins in a loop cost no memory.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

# the defaults of [console] session_idle_minutes and session_hours (softswitch.config)
IDLE_SECONDS = 30 * 60  # a console left alone this long asks for the credentials again
LIFETIME_SECONDS = 12 * 3600  # and every working day at least once
MAX_SESSIONS = 10_000


@dataclass(slots=True)
class Session:
    account_id: str
    csrf_token: str
    created_at: float
    seen_at: float
    # one message for the next page (the result of a form posted without JavaScript)
    flash: list[str] = field(default_factory=list)


class Sessions:
    """The console's logged-in browsers; ``clock`` is monotonic (tests drive their own)."""

    def __init__(
        self,
        *,
        idle: float = IDLE_SECONDS,
        lifetime: float = LIFETIME_SECONDS,
        limit: int = MAX_SESSIONS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle = idle
        self.lifetime = lifetime
        self.limit = limit
        self.clock = clock
        # keyed by a digest of the id: the table never holds what the cookie says
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def open(self, account_id: str) -> tuple[str, Session]:
        """A new session for ``account_id``: (the cookie's id, the session)."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        session = Session(account_id, secrets.token_urlsafe(32), now, now)
        # oldest first: the sessions past their lifetime go, then any over the limit
        while self._sessions and self._oldest().created_at < now - self.lifetime:
            self._sessions.popitem(last=False)
        self._sessions[_key(session_id)] = session
        while len(self._sessions) > self.limit:
            self._sessions.popitem(last=False)
        return session_id, session

    def get(self, session_id: str, *, touch: bool = True) -> Session | None:
        """The live session with this id, or None; ``touch`` restarts its idle clock (a
        person did something; the live page's event stream does not)."""
        if not session_id or len(session_id) > 128:
            return None
        key = _key(session_id)
        session = self._sessions.get(key)
        if session is None:
            return None
        now = self.clock()
        if now - session.seen_at > self.idle or now - session.created_at > self.lifetime:
            del self._sessions[key]
            return None
        if touch:
            session.seen_at = now
        return session

    def _oldest(self) -> Session:
        return next(iter(self._sessions.values()))

    def touch(self, session: Session) -> None:
        """Restart ``session``'s idle clock (a person did something)."""
        session.seen_at = self.clock()

    def close(self, session_id: str) -> None:
        self._sessions.pop(_key(session_id), None)

    def __len__(self) -> int:
        return len(self._sessions)


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()
