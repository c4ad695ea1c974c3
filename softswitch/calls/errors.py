"""Why a live-call operation (modify_call) cannot be done.

Domain errors only: the API decides what each one means to its clients.
"""

from __future__ import annotations


class CallControlError(Exception):
    """A live-call operation that cannot be done."""


class ChannelNotFound(CallControlError):
    """No live channel of the account has this name."""

    def __init__(self, channel: str) -> None:
        super().__init__(f"channel {channel!r} not found")
        self.channel = channel


class NotBridged(CallControlError):
    """The channel is not talking to another party (still ringing, on hold, in a flow)."""

    def __init__(self, channel: str) -> None:
        super().__init__(f"channel {channel} is not bridged")
        self.channel = channel


class AlreadyRecording(CallControlError):
    """A recording that was asked for is already running."""

    def __init__(self) -> None:
        super().__init__("call is already being recorded")


class BadTransferTarget(CallControlError):
    """A transfer without a number (``number`` is None) or to one no route leads to."""

    def __init__(self, number: str | None, reason: str) -> None:
        super().__init__(reason)
        self.number = number
        self.reason = reason
