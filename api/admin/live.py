"""``GET /api/admin/status`` and ``GET /api/admin/calls``: what the switch is doing now,
for its operator (`softswitch status`, `softswitch calls`): trunks, registered phones
and every live channel of every account, with the call (account, request id) each
belongs to when the call service placed or took it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from softswitch.channel import Channel, Direction

if TYPE_CHECKING:
    from softswitch.calls import CallService
    from softswitch.calls.live import LiveCall
    from softswitch.switch import Switch


def channel_body(channel: Channel, call: LiveCall | None, now: float) -> dict[str, Any]:
    return {
        "channel": channel.name,
        "direction": channel.direction.value,
        "endpoint": channel.endpoint.kind.value,
        "endpoint_name": channel.endpoint.name,
        "number": channel.endpoint.number,
        "state": channel.state.value,
        "bridged_channel": channel.bridged.name if channel.bridged else None,
        "codec": channel.media.codec if channel.media else None,
        "started_at": channel.created_at,
        "answered_at": channel.answered_at,
        "duration": round(now - channel.created_at, 1),
        "account": call.account_id if call else None,
        "request_id": call.request_id if call else None,
    }


class LiveView:
    def __init__(self, switch: Switch, calls: CallService) -> None:
        self.switch = switch
        self.calls = calls

    def _owners(self) -> dict[Channel, LiveCall]:
        return {c: call for call in self.calls.calls.values() for c in call.channels}

    async def calls_index(self, request: Request) -> JSONResponse:
        now = time.time()
        owners = self._owners()
        channels = sorted(self.switch.channels, key=lambda c: c.created_at)
        return JSONResponse({"calls": [channel_body(c, owners.get(c), now) for c in channels]})

    async def status(self, request: Request) -> JSONResponse:
        switch = self.switch
        trunks = [
            {
                "name": t.name,
                "state": t.status.state.value,
                "carrier": t.keepalive.state.value,
                "last_error": t.status.last_error or None,
                "host": t.config.host,
            }
            for t in switch.trunks
        ]
        phones = [
            {
                "number": ext.number,
                "name": ext.name or None,
                "transport": r.transport,
                "address": f"{r.source_host}:{r.source_port}",
                "reachable": r.reachable,
                "user_agent": r.user_agent or None,
                "expires_in": r.expires_in,
            }
            for ext in switch.extensions_status()
            for r in ext.registrations
        ]
        channels = list(switch.channels)
        legs = {d.value: sum(c.direction == d for c in channels) for d in Direction}
        bridged = sum(c.bridged is not None for c in channels) // 2
        return JSONResponse(
            {
                "status": "ok" if switch.started else "stopped",
                "trunks": trunks,
                "phones": phones,
                "calls": {"channels": len(channels), "bridged": bridged, "legs": legs},
            }
        )
