"""Session timers (RFC 4028): how long a dialog lives without a refresh, and who refreshes.

A call whose far end vanished without a BYE (a crashed phone, a proxy that lost state)
would otherwise last for ever. Both ends agree on a session interval in the INVITE and its
2xx (``Session-Expires: 1800;refresher=uac``); the refresher sends a re-INVITE or an UPDATE
at half the interval, and the other end sends BYE when none arrived by the end of it
(minus a margin). ``Min-SE`` is the smallest interval a party accepts; an INVITE asking
for less is answered ``422 Session Interval Too Small`` naming ours.

This module holds the negotiation (pure functions over messages) and ``SessionTimer``, the
per-dialog clock; ``invite`` wires them into the INVITE dialog usages. Roles are named
per transaction, as the RFC does: ``refresher=uac`` in a re-INVITE's 2xx means whoever
sent that re-INVITE.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from .errors import SipParseError
from .grammar import digits, parse_params, split_list
from .message import Request, Response

__all__ = [
    "EXPIRED_CAUSE",
    "REFRESH_FAILED_CAUSE",
    "RFC_MIN_SE",
    "TIMER",
    "UPDATE",
    "Agreement",
    "IntervalTooSmall",
    "Refresher",
    "SessionExpires",
    "SessionTimer",
    "TimerPolicy",
    "agree_as_uac",
    "agree_as_uas",
    "allows_update",
    "expiry_delay",
    "supports_timer",
]

log = logging.getLogger("softswitch.sip.session_timer")

# The option tag (RFC 4028 3) and the method (RFC 3311) this module needs; the lead's
# softswitch/sip/options.py is to hold every option tag and method in one place.
TIMER = "timer"
UPDATE = "UPDATE"
RFC_MIN_SE = 90  # RFC 4028 4: the smallest Min-SE on the wire, and the default one
MAX_INTERVAL = 86400  # no sane refresh interval is longer than a day

EXPIRED_CAUSE = "session timer expired"  # the hang-up cause channels and CDRs show
REFRESH_FAILED_CAUSE = "session refresh failed"


class Refresher(StrEnum):
    """Who refreshes, relative to the transaction that set the interval (RFC 4028 4)."""

    UAC = "uac"
    UAS = "uas"


@dataclass(frozen=True, slots=True)
class TimerPolicy:
    """What we ask for and what we accept.

    ``session_expires``: the interval we put in our INVITEs and grant a caller that
    asks for none (0: we ask for none; a caller's own request is still honoured).
    ``min_se``: below this a request gets 422. RFC 4028 puts the floor at 90 s; smaller
    values exist so that tests need not wait minutes (the config says so).
    """

    session_expires: int = 1800
    min_se: int = RFC_MIN_SE


@dataclass(frozen=True, slots=True)
class SessionExpires:
    """A ``Session-Expires`` value: ``delta-seconds *(;se-params)``."""

    interval: int
    refresher: Refresher | None = None

    @classmethod
    def parse(cls, value: str) -> SessionExpires:
        head, _, rest = value.partition(";")
        interval = digits(head.strip())
        if interval is None or interval < 1:
            raise SipParseError(f"bad Session-Expires {value!r}")
        params = parse_params(";" + rest) if rest else {}
        refresher = (params.get("refresher") or "").lower()
        if refresher not in ("", Refresher.UAC, Refresher.UAS):
            raise SipParseError(f"bad refresher in Session-Expires {value!r}")
        return cls(interval, Refresher(refresher) if refresher else None)

    def __str__(self) -> str:
        suffix = f";refresher={self.refresher}" if self.refresher else ""
        return f"{self.interval}{suffix}"


@dataclass(frozen=True, slots=True)
class Agreement:
    """The interval a transaction settled and who refreshes (``refresher``, per that
    transaction); ``require``: the answer says ``Require: timer`` (the UAC supports it)."""

    interval: int
    refresher: Refresher
    require: bool = False

    def we_refresh(self, we_are: Refresher) -> bool:
        return self.refresher == we_are

    def response_headers(self) -> list[tuple[str, str]]:
        headers = [("Session-Expires", str(SessionExpires(self.interval, self.refresher)))]
        if self.require:
            headers.append(("Require", TIMER))
        return headers


class IntervalTooSmall(Exception):
    """The request's Session-Expires is below our Min-SE: answer 422 with ``min_se``."""

    def __init__(self, min_se: int) -> None:
        super().__init__(f"session interval below {min_se} s")
        self.min_se = min_se


def _tags(message: Request | Response, name: str) -> set[str]:
    return {tag.lower() for value in message.headers.get_all(name) for tag in split_list(value)}


def supports_timer(message: Request | Response) -> bool:
    return TIMER in _tags(message, "Supported") or TIMER in _tags(message, "Require")


def allows_update(message: Request | Response) -> bool:
    return UPDATE.lower() in _tags(message, "Allow")


def session_expires_of(message: Request | Response) -> SessionExpires | None:
    value = message.headers.get("Session-Expires")
    return SessionExpires.parse(value) if value is not None else None


def min_se_of(message: Request | Response) -> int | None:
    value = message.headers.get("Min-SE")
    if value is None:
        return None
    number = digits(value.partition(";")[0].strip())
    if number is None:
        raise SipParseError(f"bad Min-SE {value!r}")
    return number


def agree_as_uas(request: Request, policy: TimerPolicy) -> Agreement | None:
    """Our answer to a (re-)INVITE or UPDATE (RFC 4028 9); None: no session timer.

    Raises IntervalTooSmall (answer 422) for an interval below our Min-SE from a UAC
    that supports timers; one that does not (a proxy added the header) cannot retry,
    so its interval is raised to our minimum instead. SipParseError for a malformed
    header (answer 400).
    """
    asked = session_expires_of(request)
    their_min = min_se_of(request) or 0
    supported = supports_timer(request)
    if asked is None:
        if policy.session_expires <= 0:
            return None
        # the UAC asked for nothing: we may still time the session, refreshing it ourselves
        interval = max(policy.session_expires, their_min, policy.min_se)
        refresher = Refresher.UAC if supported else Refresher.UAS
        return Agreement(min(interval, MAX_INTERVAL), refresher, require=supported)
    interval = asked.interval
    if interval < policy.min_se:
        if supported:
            raise IntervalTooSmall(policy.min_se)
        interval = policy.min_se
    if asked.refresher is not None and supported:
        refresher = asked.refresher
    else:
        # RFC 4028 9: a UAC without timer support cannot refresh; one with it, that left
        # the choice to us, does (it asked for the timer, it keeps the session alive)
        refresher = Refresher.UAC if supported else Refresher.UAS
    return Agreement(min(interval, MAX_INTERVAL), refresher, require=supported)


def request_headers(policy: TimerPolicy, interval: int | None = None) -> list[tuple[str, str]]:
    """What an INVITE of ours carries (RFC 4028 7.1); [] when we ask for no timer."""
    interval = interval or policy.session_expires
    if interval <= 0:
        return []
    return [
        ("Supported", TIMER),
        ("Session-Expires", str(interval)),
        ("Min-SE", str(policy.min_se)),
    ]


def agree_as_uac(response: Response) -> Agreement | None:
    """What a 2xx to our INVITE settled (RFC 4028 7.2); None: no session timer.

    A 2xx without Session-Expires means the peer does not time the session; we do not
    either (the RTP timeout still catches a dead peer). A refresher the UAS left unset
    is ours: we asked.
    """
    try:
        answered = session_expires_of(response)
    except SipParseError as exc:
        log.info("ignoring session timer in %d: %s", response.status, exc.reason)
        return None
    if answered is None:
        return None
    return Agreement(
        min(answered.interval, MAX_INTERVAL), answered.refresher or Refresher.UAC, require=False
    )


def retry_interval(response: Response, policy: TimerPolicy, asked: int) -> int | None:
    """The interval to retry with after a 422 (RFC 4028 7.4); None: give up."""
    try:
        their_min = min_se_of(response)
    except SipParseError:
        return None
    if their_min is None or their_min <= asked or their_min > MAX_INTERVAL:
        return None
    return their_min


def expiry_delay(interval: float) -> float:
    """When the side that does not refresh gives up (RFC 4028 10): the BYE goes out
    before the session expires, by the smaller of 32 s and a third of the interval."""
    return interval - min(32.0, interval / 3)


class SessionTimer:
    """One dialog's clock: ``refresh()`` at half the interval when we refresh,
    ``expire()`` near its end when the other side does. Re-armed by every refresh."""

    def __init__(self, refresh: Callable[[], None], expire: Callable[[], None]) -> None:
        self._refresh = refresh
        self._expire = expire
        self._handle: asyncio.TimerHandle | None = None
        self.interval = 0
        self.we_refresh = False

    @property
    def running(self) -> bool:
        return self._handle is not None

    def arm(self, interval: int, we_refresh: bool) -> None:
        self.cancel()
        self.interval = interval
        self.we_refresh = we_refresh
        delay = interval / 2 if we_refresh else expiry_delay(interval)
        self._handle = asyncio.get_running_loop().call_later(delay, self._fire)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        if self.we_refresh:
            self._refresh()
        else:
            self._expire()

    def release(self) -> None:
        """Stop for good and let go of the callbacks (bound methods of the session that
        owns this timer: a reference cycle the collector would otherwise have to find)."""
        self.cancel()
        self._refresh = self._expire = _nothing


def _nothing() -> None:
    pass
