"""Calls the APIs and the dialer place: click2call, flow calls (OTP, campaigns), live
control, and their CDRs.

- `service`: CallService, which builds the parts below and is what callers use
- `click2call`: ring the agent, then the destination, bridge them (Click2Call)
- `flowcalls`: dial a number and run a flow on it: OTP and campaign calls (FlowCalls)
- `control`: modify_call's actions (CallAction): transfers, hang-up, recording
- `legs`: the ring-and-hold step and the linked, recorded bridge every call uses
- `live`: LiveCall, the registry of calls in progress, LiveChannel and LiveStatistics
- `cdrs`: the CDR of a finished call (CdrBuilder), its call status
- `recording`: recording options, recorders, transcripts
- `errors`: why a live-call operation cannot be done (CallControlError and kin)
- `tasks`: the background tasks calls run in
"""

from .control import CallAction
from .errors import (
    AlreadyRecording,
    BadTransferTarget,
    CallControlError,
    ChannelNotFound,
    NotBridged,
)
from .live import CallKind, LiveCall, LiveChannel, LiveStatistics, new_request_id
from .service import CallService

__all__ = [
    "AlreadyRecording",
    "BadTransferTarget",
    "CallAction",
    "CallControlError",
    "CallKind",
    "CallService",
    "ChannelNotFound",
    "LiveCall",
    "LiveChannel",
    "LiveStatistics",
    "NotBridged",
    "new_request_id",
]
