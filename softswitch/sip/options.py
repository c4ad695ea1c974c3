"""What this SIP stack implements, said once: the methods it answers and the option tags
of the extensions it supports (RFC 3261 8.2.2.3, 19.2, 20.5, 20.37).

``Allow`` (OPTIONS answers, 405s, INVITEs and their 2xx) and ``Supported`` are built from
these sets, and a request whose ``Require`` names a tag outside ``SUPPORTED`` is refused
with 420 Bad Extension and an ``Unsupported`` header. An extension that becomes real
(``100rel``, ``timer``, ...) adds its tag to ``SUPPORTED`` here and nowhere else.
"""

from __future__ import annotations

from .message import Request
from .reliable import OPTION_100REL
from .session_timer import TIMER

__all__ = [
    "ALLOWED",
    "EVENTS",
    "SUPPORTED",
    "allow_events_header",
    "allow_header",
    "supported_header",
    "unsupported",
]

# Methods the user agent answers: INVITE dialogs (with re-INVITE, BYE, INFO digits and
# UPDATE refreshes), CANCEL, OPTIONS, REFER in a call's dialog (RFC 3515 transfers, whose
# NOTIFYs we send), SUBSCRIBE (sip.subscription: to the packages in EVENTS) and,
# through the switch's registrar, REGISTER. NOTIFY is only sent, never taken.
ALLOWED: tuple[str, ...] = (
    "INVITE",
    "ACK",
    "CANCEL",
    "BYE",
    "OPTIONS",
    "INFO",
    "UPDATE",
    "PRACK",
    "REFER",
    "REGISTER",
    "SUBSCRIBE",
)

# Event packages a SUBSCRIBE may name (RFC 6665 7.2.2: Allow-Events in OPTIONS answers
# and in a 489): the voicemail lamp (RFC 3842) and busy lamps (RFC 4235 dialog state,
# RFC 3856 presence). The switch serves exactly these (softswitch.switch checks).
EVENTS: tuple[str, ...] = ("dialog", "message-summary", "presence")

# Option tags of the extensions implemented (RFC 3261 19.2): replaces (RFC 3891),
# 100rel (RFC 3262, reliable provisional responses and PRACK), timer (RFC 4028).
SUPPORTED: frozenset[str] = frozenset({OPTION_100REL, "replaces", TIMER})


def allow_header(methods: tuple[str, ...] = ALLOWED) -> str:
    return ", ".join(methods)


def allow_events_header(events: tuple[str, ...] = EVENTS) -> str:
    return ", ".join(events)


def supported_header(tags: frozenset[str] = SUPPORTED) -> str:
    """The Supported value, sorted so that answers do not change from run to run."""
    return ", ".join(sorted(tags))


def unsupported(request: Request, supported: frozenset[str] = SUPPORTED) -> list[str]:
    """The option tags ``request`` requires that are not in ``supported``, each once,
    as the peer spelled them (compared without regard to case, like most stacks).

    Only ``Require`` counts: ``Proxy-Require`` is addressed to proxies (RFC 3261 20.29,
    16.3 step 4) and a UAS, which a B2BUA is towards its caller, ignores it (8.2.2.3
    names Require alone). Both are ignored in ACK and CANCEL (8.2.2.3), which are never
    answered 420.
    """
    if request.method in ("ACK", "CANCEL"):
        return []
    required = request.headers.get_all("Require")  # a list header: already split
    if not required:
        return []
    lowered = {tag.lower() for tag in supported}
    missing: list[str] = []
    seen: set[str] = set()
    for tag in required:
        key = tag.lower()
        if key not in lowered and key not in seen:
            seen.add(key)
            missing.append(tag)
    return missing
