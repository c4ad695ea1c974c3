"""Where a dialed number goes: a local extension, a conference room, else the best-matching
trunk, else nowhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .channel import EndpointKind
from .store import Store
from .trunk import Trunk


@dataclass(slots=True)
class Route:
    kind: EndpointKind
    number: str
    trunk: Trunk | None = None


class Router:
    def __init__(
        self, store: Store, trunks: list[Trunk], rooms: Callable[[str], object] | None = None
    ) -> None:
        self.store = store
        self.trunks = trunks
        # a conference room's settings by number, None for no room (softswitch.conferences)
        self.rooms = rooms

    def route(self, number: str, *, allow_trunk: bool = True) -> Route | None:
        """``allow_trunk`` is False for calls that came in from a trunk: no relaying out."""
        if not number:
            return None
        if self.store.extension(number) is not None:
            return Route(EndpointKind.EXTENSION, number)
        if self.rooms is not None and self.rooms(number) is not None:
            return Route(EndpointKind.CONFERENCE, number)
        if not allow_trunk:
            return None
        best: Trunk | None = None
        best_len = -1
        for trunk in self.trunks:
            length = trunk.prefix_match(number)
            if length > best_len:
                best, best_len = trunk, length
        if best is None:
            return None
        return Route(EndpointKind.TRUNK, number, best)

    def trunk_for_source(self, host: str, port: int, transport: str = "UDP") -> Trunk | None:
        for trunk in self.trunks:
            if trunk.accepts_from(host, port, transport):
                return trunk
        return None


def normalize(number: str) -> str:
    """Dialed digits without visual separators ("+1 (516) 814-8111" -> "+15168148111")."""
    kept = "".join(ch for ch in number if ch.isdigit() or ch in "+*#")
    return kept[:1] + kept[1:].replace("+", "")
