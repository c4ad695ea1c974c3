"""The message-summary body (RFC 3842): what lights a phone's message lamp."""

from __future__ import annotations

from ..store.voicemail import MessageCounts

CONTENT_TYPE = "application/simple-message-summary"
EVENT = "message-summary"


def message_summary(account: str, counts: MessageCounts) -> bytes:
    """`account` is the box's SIP URI; Voice-Message is new/old (RFC 3842 section 5.2),
    urgent counts left out (this switch has no urgent messages)."""
    waiting = "yes" if counts.new else "no"
    return (
        f"Messages-Waiting: {waiting}\r\n"
        f"Message-Account: {account}\r\n"
        f"Voice-Message: {counts.new}/{counts.old}\r\n"
    ).encode()
