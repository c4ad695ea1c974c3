"""The Replaces header (RFC 3891): which dialog a new INVITE takes the place of.

    Replaces: 425928@bobster.example.org;to-tag=7743;from-tag=6472;early-only

The tags are named as the receiver sees them (section 3): ``to-tag`` is the receiving
UA's own tag of that dialog, ``from-tag`` the other party's, so ``dialog_id`` is the
key under which the receiving user agent keeps it (Call-ID, local tag, remote tag).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import SipParseError
from .grammar import TOKEN_RE, parse_params
from .message import Request, parse_call_id

__all__ = ["Replaces"]


@dataclass(frozen=True, slots=True)
class Replaces:
    call_id: str
    to_tag: str
    from_tag: str
    early_only: bool = False

    @property
    def dialog_id(self) -> tuple[str, str, str]:
        """(Call-ID, local tag, remote tag) of the dialog at the UA that received it."""
        return (self.call_id, self.to_tag, self.from_tag)

    @classmethod
    def parse(cls, value: str) -> Replaces:
        call_id, semicolon, rest = value.strip().partition(";")
        call_id = parse_call_id(call_id.strip())
        params = parse_params(semicolon + rest)
        # RFC 3891 6.1 wants both tags; one missing (or the "from_tag" spelling some
        # stacks send) names a dialog that cannot exist, answered 481 as pjsip does
        # rather than 400 (an empty tag is never one of ours).
        tags: list[str] = []
        for name in ("to-tag", "from-tag"):
            tag = params.get(name) or ""
            if tag and not TOKEN_RE.fullmatch(tag):
                raise SipParseError(f"Replaces with a bad {name}")
            tags.append(tag)
        if params.get("early-only") is not None:  # a flag: present without a value
            raise SipParseError("Replaces early-only takes no value")
        return cls(call_id, tags[0], tags[1], "early-only" in params)

    @classmethod
    def of(cls, request: Request) -> Replaces | None:
        """The dialog ``request`` replaces, None when it has no Replaces header; more
        than one (RFC 3891 3) or one that does not parse is a SipParseError (400)."""
        values = request.headers.get_all("Replaces")
        if not values:
            return None
        if len(values) > 1 or "," in values[0]:
            raise SipParseError("more than one Replaces header")
        return cls.parse(values[0])
