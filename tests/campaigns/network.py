"""A scripted phone network for the dialer's scheduling tests: each number behaves as told
(answers after a ring, is busy, does not exist...) in ManualClock time. It stands in for
CallService.dial_flow, which the end-to-end tests exercise with real phones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from softswitch.campaigns.clock import ManualClock
from softswitch.campaigns.dialer import DialRequest
from softswitch.outcome import CallOutcome


@dataclass(slots=True)
class Behaviour:
    kind: str = "answer"  # answer | busy | noanswer | 404 | 486 | error
    ring: float = 2.0
    talk: float = 10.0
    result: str | None = None
    report: list[tuple[str, str, int]] = field(default_factory=list)
    redial: tuple[int, int | None] | None = None
    answered_by: str = ""  # what answering-machine detection said of an answered call


@dataclass(slots=True)
class Dial:
    at: float
    number: str
    job_id: int
    attempt: int
    request_id: str
    variables: dict[str, str]


class FakeNetwork:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.script: dict[str, list[Behaviour]] = {}
        self.dials: list[Dial] = []
        self.live = 0
        self.max_live = 0

    def set(self, number: str, *behaviours: Behaviour) -> None:
        """Successive attempts follow the list; the last one repeats."""
        self.script[number] = list(behaviours)

    def numbers(self) -> list[str]:
        return [d.number for d in self.dials]

    def dials_of(self, number: str) -> list[Dial]:
        return [d for d in self.dials if d.number == number]

    def _next(self, number: str) -> Behaviour:
        script: Sequence[Behaviour] = self.script.get(number) or [Behaviour()]
        done = len(self.dials_of(number)) - 1
        return script[min(done, len(script) - 1)]

    async def place_call(self, request: DialRequest) -> CallOutcome:
        start = self.clock.now()
        self.dials.append(
            Dial(
                start,
                request.number,
                request.job.id,
                request.attempt.number,
                request.request_id,
                dict(request.variables),
            )
        )
        b = self._next(request.number)
        self.live += 1
        self.max_live = max(self.max_live, self.live)
        try:
            if b.kind == "error":
                raise RuntimeError("prompt could not be prepared")
            if b.kind == "404":
                return CallOutcome(False, 404, "CHANUNAVAIL", start, start)
            await self.clock.sleep(b.ring)
            now = self.clock.now()
            if b.kind == "busy":
                return CallOutcome(False, 486, "BUSY", start, now)
            if b.kind == "noanswer":
                return CallOutcome(False, 408, "NOANSWER", start, now)
            answered = now
            await self.clock.sleep(b.talk)
            return CallOutcome(
                True,
                200,
                "ANSWER",
                start,
                self.clock.now(),
                answered_at=answered,
                result=b.result,
                report_data=list(b.report),
                redial=b.redial,
                answered_by=b.answered_by,
            )
        finally:
            self.live -= 1
