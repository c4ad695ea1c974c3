"""50 calls listening at once on one core: late media ticks and recognition latency.

The process is pinned to one core and runs the switch's `MediaClock` under uvloop. Each
call is what a listen step sets up: a `SpeechListener` on the pocketsphinx recognizer
(the survey question: three choices with synonyms and up to four spoken digits), fed by
a tick callback that hands it the caller's next 20 ms frame, as `ChannelAudio.tick` does
after reading the leg's RTP (no sockets here: this measures the listening, not RTP). The
callers are flite voices answering 2-5 s into the step (while its prompt would play);
when a call's answer is recognized the next question starts at once, so all 50 keep
listening for the whole run (about a quarter of them speaking at any moment).

Decoding runs where the switch runs it: in ``--workers`` processes (``[media]
recognizer_workers``, pinned to the same core as the clock: the whole load on one core)
or, with 0, on a thread of the clock's process. ``--workers 0,1`` (the default) runs
both in turn, for the comparison.

Printed per run: answers recognized and right, recognition latency after the end of speech
(the VAD's decision to the answer, p50/p99/max), the media tick's lateness against its
deadline (p50/p99/max), the ticks later than 5 ms and the ticks the clock skipped, the CPU
of the clock's process and of the workers. Exit status 1 when, in the last run, a tick
was skipped or p99 latency is over 300 ms.

    .venv/bin/python tools/bench/listen_load.py                  # 50 calls, 20 s
    .venv/bin/python tools/bench/listen_load.py --calls 50 --seconds 30 --workers 2
    .venv/bin/python tools/bench/listen_load.py --workers 1 --no-confidence
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import time

import numpy as np

from media import g711
from media.clock import MediaClock
from media.expectations import Expectations
from media.listener import Heard, ListenStatus, SpeechListener
from media.pcm import FRAME, FRAME_SECONDS, SILENCE
from media.recognizer import Recognizer, recognizer

SURVEY = Expectations.of(
    {
        "yes": ["yes", "yeah", "sure"],
        "no": ["no", "no thanks", "nope"],
        "agent": ["talk to an agent", "agent"],
    },
    digits=4,
)
ANSWERS = [
    ("yes", "yes"),
    ("no thanks", "no"),
    ("talk to an agent", "agent"),
    ("four two seven", "427"),
    ("sure", "yes"),
]
VOICES = ["kal", "slt", "awb", "rms"]


def answers() -> list[tuple[np.ndarray, str]]:
    from listen_corpus import synthesize  # run as a script: tools/bench is on sys.path

    made = []
    for voice in VOICES:
        for text, truth in ANSWERS:
            audio = synthesize(text, "flite", voice, None)
            made.append((g711.decode("PCMU", g711.encode("PCMU", audio)), truth))
    return made


class Caller:
    """One call: the caller's audio, frame by frame, into the listener of the moment."""

    def __init__(self, clips: list[tuple[np.ndarray, str]], rng: np.random.Generator) -> None:
        self.clips = clips
        self.rng = rng
        self.frames: list[np.ndarray] = []
        self.position = 0
        self.listener: SpeechListener | None = None
        self.truth = ""

    def ask(self, engine: Recognizer, confidence: bool) -> SpeechListener:
        audio, self.truth = self.clips[int(self.rng.integers(len(self.clips)))]
        # the question's prompt plays first: the caller answers 2-5 s into listening
        pause = np.zeros(int(8000 * self.rng.uniform(2.0, 5.0)), np.int16)
        padded = np.concatenate([pause, audio, np.zeros(8000 * 2, np.int16)])
        self.frames = list(padded[: len(padded) // FRAME * FRAME].reshape(-1, FRAME))
        self.position = 0
        self.listener = SpeechListener(
            engine.stream(SURVEY, confidence),
            no_input=10,
            executor=engine.executor,
            confidence=confidence,
        )
        self.listener.start()
        self.listener.start_timer()
        return self.listener

    def frame(self) -> np.ndarray:
        if self.position < len(self.frames):
            self.position += 1
            return self.frames[self.position - 1]
        return SILENCE


LATE_MS = 5.0  # a tick this much behind its grid is counted late


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def run(args: argparse.Namespace, workers: int, clips: list[tuple[np.ndarray, str]]) -> bool:
    engine = recognizer("pocketsphinx", workers)
    children0 = children_cpu()
    await asyncio.get_running_loop().run_in_executor(engine.executor, engine.prepare, SURVEY)
    rng = np.random.default_rng(50)
    callers = [Caller(clips, rng) for _ in range(args.calls)]
    clock = MediaClock()
    loop = asyncio.get_running_loop()
    # when each tick ran, less its place on the clock's grid: the smallest is on time
    offsets: list[float] = []

    def tick(tick_no: int) -> None:
        offsets.append(loop.time() - tick_no * FRAME_SECONDS)
        for caller in callers:  # what ChannelAudio.tick does with the leg's frame
            if caller.listener is not None:
                caller.listener.feed(caller.frame())

    heard: list[tuple[Heard, str]] = []
    deadline = loop.time() + args.seconds

    async def converse(caller: Caller) -> None:
        while loop.time() < deadline:
            result = await caller.ask(engine, not args.no_confidence).result()
            heard.append((result, caller.truth))

    clock.add(tick)
    clock.start()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    tasks = [asyncio.ensure_future(converse(c)) for c in callers]
    await asyncio.sleep(args.seconds)
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    clock.stop()
    close = getattr(engine, "close", None)
    if close is not None:  # the workers exit and are reaped: their CPU is then known
        close()
    worker_cpu = children_cpu() - children0

    spoken = [(h, t) for h, t in heard if h.status is ListenStatus.HEARD]
    right = 0
    for h, truth in spoken:
        meaning = SURVEY.interpret(h.text)
        right += meaning is not None and meaning.value == truth
    latency = np.array([h.latency for h, _ in spoken if h.latency is not None]) * 1000
    late = (np.array(offsets) - min(offsets)) * 1000
    where = f"in {workers} worker process(es)" if workers else "on a thread of the clock's process"
    print(f"{args.calls} calls listening for {args.seconds:.0f} s on one core, decoding {where}")
    if args.no_confidence:
        print("steps without a confidence threshold: no second pass for the confidence")
    print(
        f"answers: {len(spoken)} heard ({len(heard) - len(spoken)} no input),"
        f" {right} right ({right / max(1, len(spoken)):.1%})"
    )
    if len(latency):
        print(
            "latency after end of speech: p50 {:.0f} ms, p99 {:.0f} ms, max {:.0f} ms".format(
                *np.percentile(latency, [50, 99, 100])
            )
        )
    print(
        "tick lateness: p50 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms;".format(
            *np.percentile(late, [50, 99, 100])
        ),
        f"late (> {LATE_MS:.0f} ms) {int((late > LATE_MS).sum())} of {len(late)};",
        f"skipped {clock.skipped}",
    )
    decoded = sum(h.audio_seconds for h, _ in spoken)
    total = cpu + worker_cpu
    print(
        f"CPU: clock's process {100 * cpu / wall:.0f} %, workers {100 * worker_cpu / wall:.0f} %"
        f" of the core; {decoded:.0f} s of caller audio decoded,"
        f" {1000 * total / max(decoded, 1e-9):.0f} ms CPU per second of it"
        " (everything included: clock, VAD, hand-over, decoding)"
    )
    print()
    return clock.skipped == 0 and len(latency) > 0 and bool(np.percentile(latency, 99) <= 300)


async def run_all(args: argparse.Namespace) -> int:
    clips = answers()
    ok = False
    for workers in args.workers:
        ok = await run(args, workers, clips)
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--core", type=int, default=0, help="the core to pin to")
    parser.add_argument(
        "--workers",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[0, 1],
        help="decoding processes, comma-separated runs (0: a thread of the clock's process)",
    )
    parser.add_argument(
        "--no-confidence",
        action="store_true",
        help="listen steps without a confidence threshold (no second decode per answer)",
    )
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.core})  # inherited by the worker processes
    import uvloop

    return uvloop.run(run_all(args))


if __name__ == "__main__":
    sys.exit(main())
