"""`/api/admin/drain` (in a cluster only): take this node out of the front door's
rotation and back. Draining, the node answers the front door's OPTIONS probes and new
requests 503, so new calls go to the other nodes while its own calls finish; GET shows
how many channels are still live (stop the process when none are)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

if TYPE_CHECKING:
    from softswitch.switch import Switch


class DrainView:
    def __init__(self, switch: Switch) -> None:
        self.switch = switch

    async def dispatch(self, request: Request) -> Response:
        if request.method == "POST":
            self.switch.ua.draining = True
        elif request.method == "DELETE":
            self.switch.ua.draining = False
        return JSONResponse(
            {
                "node_id": self.switch.config.node_id,
                "draining": self.switch.ua.draining,
                "live_channels": len(self.switch.channels),
            }
        )
