"""Where a call to an extension goes when the extension forwards it or is not there.

Decisions over an extension's ``CallFeatures``: ``before_ringing`` (DND, forward
always), ``ring_seconds``, and on failure ``after_failure`` (busy, no answer);
``Forwarder`` applies them to the switch's routes. Forwarding configured for a case wins
over voicemail; where none is, the switch sends the caller to the extension's voicemail
box (if it has one) instead of a busy signal or a failure (softswitch.switch).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from .channel import EndpointKind
from .routing import Route, normalize
from .store.call_features import CallFeatures, CallFeatureStore

log = logging.getLogger("softswitch.forwarding")

# a forwarded call may be forwarded again by its new target, this many times at most
MAX_HOPS = 3

BUSY_STATUSES = frozenset({486, 600})  # every device busy (softswitch.forking ranks 486 first)
# nobody answered within the time, or the extension is not registered / not reachable
NO_ANSWER_STATUSES = frozenset({408, 480})


class Reason(StrEnum):
    ALWAYS = "always"
    DND = "dnd"
    BUSY = "busy"
    NO_ANSWER = "no answer"


@dataclass(frozen=True, slots=True)
class Divert:
    """The call does not (or no longer) ring the extension: it goes to ``target``, or,
    with no target, the caller is told ``status``."""

    reason: Reason
    target: str = ""
    status: int = 486


def before_ringing(extension: str, features: CallFeatures) -> Divert | None:
    """Diverted before the extension rings: forwarded always, or DND (486, or the
    extension's voicemail: the switch decides)."""
    if features.forward_always:
        return Divert(Reason.ALWAYS, features.forward_always)
    if features.dnd:
        return Divert(Reason.DND)
    return None


def ring_seconds(
    extension: str, features: CallFeatures, default: float, *, voicemail: bool = False
) -> float:
    """How long the extension rings: its no-answer time when something takes the call
    after it (forwarding on no answer, its ``voicemail``), never longer than the switch's
    ring timeout, which is also how long it rings otherwise."""
    if features.forward_no_answer or voicemail:
        return min(float(features.no_answer_seconds), default)
    return default


def after_failure(extension: str, features: CallFeatures, status: int) -> Divert | None:
    """Where the call goes after ringing the extension ended with ``status``; None =
    nowhere, the caller gets the failure."""
    if status in BUSY_STATUSES:
        reason, target = Reason.BUSY, features.forward_busy
    elif status in NO_ANSWER_STATUSES:
        reason, target = Reason.NO_ANSWER, features.forward_no_answer
    else:
        return None
    return Divert(reason, target, status) if target else None


class Forwarder:
    """The decisions above applied to routes: where a call to an extension rings, for
    how long, and what rings after it failed. ``route`` finds a forwarding target's
    route: an extension or, through a trunk, an outside number (the extension's owner
    chose it, so even a call that came in from a trunk may leave through one)."""

    def __init__(
        self,
        store: CallFeatureStore,
        route: Callable[[str], Route | None],
        ring_timeout: float,
        has_voicemail: Callable[[str], bool] = lambda extension: False,
    ) -> None:
        self.store = store
        self.route = route
        self.ring_timeout = ring_timeout
        self.has_voicemail = has_voicemail

    def forwarded(self, route: Route) -> Route | Divert:
        """Where a call to ``route`` rings: the extension, what it forwards to always
        (forwarded again by that extension, up to MAX_HOPS), or a Divert without target
        to refuse it (DND)."""
        seen: set[str] = set()
        while route.kind == EndpointKind.EXTENSION and route.number not in seen:
            if len(seen) > MAX_HOPS:
                break
            seen.add(route.number)
            divert = before_ringing(route.number, self.store.get(route.number))
            if divert is None:
                break
            if not divert.target:
                return divert
            target = self._target(route.number, divert.target)
            if target is None:
                break  # an unroutable target: the extension itself rings
            route = target
        return route

    def ring_seconds(self, route: Route) -> float | None:
        """How long the leg of ``route`` rings (None: the switch's default)."""
        if route.kind != EndpointKind.EXTENSION:
            return None
        number = route.number
        return ring_seconds(
            number,
            self.store.get(number),
            self.ring_timeout,
            voicemail=self.has_voicemail(number),
        )

    def after_failure(self, route: Route, status: int, caller: str) -> Route | None:
        """What rings for the caller (extension or number ``caller``) once ringing
        ``route`` ended with ``status``; None: nothing, the caller gets the failure."""
        if route.kind != EndpointKind.EXTENSION:
            return None
        divert = after_failure(route.number, self.store.get(route.number), status)
        if divert is None:
            return None
        target = self._target(route.number, divert.target)
        if target is None:
            return None
        forwarded = self.forwarded(target)
        if isinstance(forwarded, Divert) or forwarded.number == caller:
            return None  # DND there too, or back to the caller: the caller hears busy
        log.info("extension %s %s: forwarded to %s", route.number, divert.reason, target.number)
        return forwarded

    def _target(self, extension: str, number: str) -> Route | None:
        route = self.route(normalize(number))
        if route is None or route.kind == EndpointKind.CONFERENCE:
            log.info("extension %s forwards to %s: no route", extension, number)
            return None
        return route
