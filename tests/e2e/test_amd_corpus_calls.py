"""The whole greeting corpus (tests/peers/greetings: 48 answers, 24 people and 24
machines, 12 of them ending in a beep) through real calls: baresip phones behind
kamailio answer OTP calls the switch places over its trunk with ``amd: leave_message``
and play their greeting, half over PCMU and half over PCMA, a batch of phones at a time.

Issue 15's targets, on what the call service returns (the CDR's answered_by and the
detector's result kept on the outcome): at least 95 % right human vs machine (unknown
counts wrong), and every beep found within 300 ms of its start. The start is measured on
the audio the detector was fed, not guessed from the file: a phone starved of CPU sends
late, the switch conceals each underrun, and the greeting stretches on the call's time
line (by 0.7 s once on CI). The test keeps every frame the switch's detector heard and
finds the beep in it by matching the file's own samples (through the same G.711 law)
around the tone's start. ``-s`` prints the confusion table and the beep timings
(BENCHMARKS.md quotes them).
"""

from __future__ import annotations

import asyncio
import statistics

import numpy as np
import pytest

from api.cpaas.calls import otp_flow
from media.amd import AmdResult, AmdSettings, AnsweredBy, AnsweringMachineDetector, detect
from media.pcm import Samples
from softswitch import answering
from softswitch.answering import AmdMode
from softswitch.outcome import CallOutcome
from tests.peers import greetings
from tests.peers.baresip import BaresipAccount
from tests.peers.kamailio import Kamailio, KamailioConfig, customer_trunk

pytestmark = [pytest.mark.peers, pytest.mark.slow]

FIRST_NUMBER = 5552000  # the carrier's prefix 555 routes these to the phones
BATCH = 8  # phones (and calls) at a time: 12 starved them of CPU on CI
TAIL = 15.0  # silence after each answer: baresip hangs up when its file ends
CALL_TIMEOUT = 60.0
TARGET_ACCURACY = 0.95
TARGET_BEEP = 0.3  # seconds after the tone's start
MATCHED = 0.9  # the least correlation that places a beep in what the detector heard


class HearingDetector(AnsweringMachineDetector):
    """The switch's own detector, keeping every frame it was fed: the audio exactly as
    it heard it, one frame per 20 ms of its time line (``AmdResult.at`` and ``beep_at``)."""

    def __init__(self, settings: AmdSettings | None = None, *, until_end: bool = False) -> None:
        super().__init__(settings, until_end=until_end)
        self.heard: list[Samples] = []

    def feed(self, frame: Samples) -> AmdResult | None:
        if self.result is None:
            self.heard.append(frame.copy())
        return super().feed(frame)


@pytest.fixture
def detectors(monkeypatch) -> list[HearingDetector]:
    """Every detector the switch's calls make in this test, in order."""
    made: list[HearingDetector] = []

    def make(settings: AmdSettings | None = None, *, until_end: bool = False) -> HearingDetector:
        detector = HearingDetector(settings, until_end=until_end)
        made.append(detector)
        return detector

    monkeypatch.setattr(answering, "AnsweringMachineDetector", make)
    return made


@pytest.fixture(scope="module")
def corpus() -> dict[str, greetings.Greeting]:
    reason = greetings.available()
    if reason is not None:
        pytest.skip(reason)
    return {str(FIRST_NUMBER + i): g for i, g in enumerate(greetings.corpus(tail=TAIL))}


@pytest.fixture
def carrier(tmp_path, ports, corpus):
    users = {"trunkuser": "trunkpass", **{number: f"pw{number}" for number in corpus}}
    kam = Kamailio(tmp_path / "kamailio", KamailioConfig(port=ports.port(), users=users))
    kam.start()
    yield kam
    kam.stop()


@pytest.fixture
def server(carrier, server_factory):
    harness = server_factory(trunks=[customer_trunk(carrier)])
    carrier.wait_registered("trunkuser")
    return harness


def law_of(index: int) -> str:
    return "PCMA" if index % 2 else "PCMU"


async def place(server, numbers: list[str]) -> list[CallOutcome]:
    """OTP calls to ``numbers`` at once, as outbound_call places them, with detection."""
    return await asyncio.gather(
        *(
            server.calls.dial_flow(
                account_id="account_1",
                number=number,
                caller_id="15168148111",
                flow=otp_flow("Your code is {otp}", 1, {}),
                variables={"otp": "4719"},
                request_id=f"amd-corpus-{number}",
                context="local_call",
                direction="outbound-api",
                amd=AmdMode.LEAVE_MESSAGE,
            )
            for number in numbers
        )
    )


def test_the_whole_corpus_through_real_calls(
    tmp_path, server, carrier, phone_factory, corpus, detectors
) -> None:
    numbers = list(corpus)
    assert len(numbers) >= 40
    outcomes: dict[str, CallOutcome] = {}
    for start in range(0, len(numbers), BATCH):
        batch = numbers[start : start + BATCH]
        phones = []
        for number in batch:
            index = numbers.index(number)
            wav = greetings.write(corpus[number], tmp_path / "greetings")
            account = BaresipAccount(
                number, f"pw{number}", registrar=carrier.address, audio_codecs=law_of(index)
            )
            phones.append(phone_factory(account, wav=wav))
        for phone in phones:
            phone.wait_registered()
        placed = server.run(place(server, batch), timeout=CALL_TIMEOUT)
        outcomes.update(zip(batch, placed, strict=True))
        for phone in phones:  # the calls are over: free the cores for the next batch
            phone.kill()

    columns = list(AnsweredBy)
    table = {truth: dict.fromkeys(columns, 0) for truth in ("human", "machine")}
    wrong = []
    # name, found after its start, beep_at's error, the call's stretch before the beep,
    # the playout lag, the match's score
    beeps: list[tuple[str, float, float, float, float, float]] = []
    missed = []
    unplaced = []
    found_after = AmdSettings().beep_length
    for index, number in enumerate(numbers):
        g, outcome = corpus[number], outcomes[number]
        assert outcome.dial_status == "ANSWER", (g.name, outcome)
        said = AnsweredBy(outcome.answered_by)
        assert outcome.amd is not None and outcome.amd.answered_by is said
        table["machine" if g.machine else "human"][said] += 1
        if said is AnsweredBy.UNKNOWN or said.machine != g.machine:
            wrong.append((g.name, law_of(index), outcome.amd))
        if g.beep_at is None:
            continue
        if said is not AnsweredBy.MACHINE_END_BEEP:
            missed.append((g.name, law_of(index), outcome.amd))
            continue
        call = outcome.amd
        assert call.beep_at is not None and call.heard_at is not None
        (detector,) = [d for d in detectors if d.result is call]
        law = "alaw" if law_of(index) == "PCMA" else "ulaw"
        # where the beep began in what the detector heard: its own time line
        start, score = greetings.find_beep(np.concatenate(detector.heard), g, law, MATCHED)
        if score < MATCHED:
            unplaced.append((g.name, law_of(index), score))
            continue
        # the phone's playout lag: where its voice began on the call against offline
        offline = detect(greetings.through_g711(g.samples, law), until_end=True)
        assert offline.heard_at is not None
        lag = call.heard_at - offline.heard_at
        error = call.beep_at - start
        stretch = start - (g.beep_at + lag)
        beeps.append((g.name, error + found_after, error, stretch, lag, score))

    humans = sum(not g.machine for g in corpus.values())
    accuracy = 1 - len(wrong) / len(numbers)
    print(
        f"\n{len(numbers)} calls ({humans} people, {len(numbers) - humans} machines), "
        f"{BATCH} at a time, PCMU and PCMA alternating, amd leave_message"
    )
    print("| truth \\ answered_by | " + " | ".join(c.value for c in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for truth, row in table.items():
        count = sum(row.values())
        print(f"| {truth} ({count}) | " + " | ".join(str(row[c]) for c in columns) + " |")
    print(f"accuracy human vs machine: {accuracy:.1%}; wrong: {wrong}")
    if beeps:
        after = [b[1] * 1000 for b in beeps]
        error = [abs(b[2]) * 1000 for b in beeps]
        stretch = [b[3] * 1000 for b in beeps]
        lags = [b[4] * 1000 for b in beeps]
        print(
            f"beeps: {len(beeps)} of {len(beeps) + len(missed) + len(unplaced)} found and "
            f"placed; after the tone began: median {statistics.median(after):.0f} ms, "
            f"max {max(after):.0f} ms; beep_at error median {statistics.median(error):.0f} ms, "
            f"max {max(error):.0f} ms; the call stretched the greeting before its beep by "
            f"{min(stretch):+.0f} to {max(stretch):+.0f} ms; playout lag median "
            f"{statistics.median(lags):.0f} ms, {min(lags):.0f}-{max(lags):.0f} ms"
        )
    for name, after_s, error_s, stretch_s, lag_s, score in beeps:
        print(
            f"  {name}: found {after_s * 1000:.0f} ms after its start (beep_at error "
            f"{error_s * 1000:+.0f} ms; stretched {stretch_s * 1000:+.0f} ms, "
            f"lag {lag_s * 1000:.0f} ms; match {score:.3f})"
        )

    assert accuracy >= TARGET_ACCURACY, wrong
    assert not missed, missed
    assert not unplaced, unplaced
    late = [b for b in beeps if abs(b[1]) > TARGET_BEEP]
    assert not late, late
