"""Answering-machine detection over the generated greeting corpus: the confusion table,
the beep timing and the detector's CPU per frame, in one run.

The corpus is tests/peers/greetings.py's (48 answers: flite and espeak-ng voices at
several rates; people saying "Hello?", "Yes, speaking."; machines' long greetings, every
other one ending in a beep; line noise on every third), each through G.711 both laws,
as a call delivers it (the e2e test tests/e2e/test_amd_calls.py plays a few of them
through baresip, kamailio and the switch).

- Confusion table: truth (human / machine) against the first decision (human,
  machine_start, unknown), with the app_amd defaults (media.amd.AmdSettings).
- Beeps (leave_message: waiting for the end of the greeting): how long after the tone
  began the detector knew it was a beep (beep_at + beep_length), the error of beep_at,
  and when it said the greeting was over against the tone's end.
- Noise: the first decision again with more line noise on every answer (with app_amd's
  fixed threshold alone, 75 % at 300 RMS; the detector's noise floor carries on), as it
  comes and after 100 ms of digital silence (what a phone or gateway may send before
  the line's own sound: it must not make the noise after it read as talk).
- CPU: process time per fed 20 ms frame (silence and speech mixed as in the corpus).

Exit status 1 when the accuracy is under 95 % or a beep is found later than 300 ms.

    PYTHONPATH=. .venv/bin/python tools/bench/amd_corpus.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

# run as a script from the repository: the corpus lives with the test peers
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

from media.amd import AmdSettings, AnsweredBy, AnsweringMachineDetector  # noqa: E402
from media.pcm import FRAME, FRAME_SECONDS, RATE  # noqa: E402
from tests.peers import greetings  # noqa: E402

TARGET_ACCURACY = 0.95
TARGET_BEEP = 0.3  # seconds after the tone's start
DIGITAL_LEAD = 0.1  # seconds of digital silence before the noisy line, in the noise runs


def run(samples, until_end: bool) -> tuple[object, int, float]:
    """(result, frames fed, CPU seconds) of one detector over ``samples``."""
    detector = AnsweringMachineDetector(AmdSettings(), until_end=until_end)
    frames = [samples[i : i + FRAME] for i in range(0, len(samples) - FRAME + 1, FRAME)]
    start = time.process_time()
    fed = 0
    result = None
    for frame in frames:
        fed += 1
        result = detector.feed(frame)
        if result is not None:
            break
    cpu = time.process_time() - start
    return result or detector.timed_out(), fed, cpu


def main() -> int:
    reason = greetings.available()
    if reason is not None:
        print(f"cannot build the corpus: {reason}")
        return 2
    made = time.process_time()
    corpus = greetings.corpus()
    print(f"corpus: {len(corpus)} answers built in {time.process_time() - made:.1f} s CPU")
    columns = [AnsweredBy.HUMAN, AnsweredBy.MACHINE_START, AnsweredBy.UNKNOWN]
    table = {truth: dict.fromkeys(columns, 0) for truth in ("human", "machine")}
    correct = total = 0
    frames = 0
    cpu = 0.0
    decided_at: dict[str, list[float]] = {"human": [], "machine": []}
    wrong: list[str] = []
    found, start_error, end_error = [], [], []
    for law in ("ulaw", "alaw"):
        for g in corpus:
            line = greetings.through_g711(g.samples, law)
            result, fed, used = run(line, until_end=False)
            frames += fed
            cpu += used
            truth = "machine" if g.machine else "human"
            table[truth][result.answered_by] += 1
            total += 1
            if result.answered_by.machine == g.machine and result.answered_by is not (
                AnsweredBy.UNKNOWN
            ):
                correct += 1
                decided_at[truth].append(result.at)
            else:
                wrong.append(f"{g.name} ({law}): {result.answered_by} {result.cause}")
            if g.beep_at is None or g.beep_end is None:
                continue
            end, fed, used = run(line, until_end=True)
            frames += fed
            cpu += used
            if end.answered_by is not AnsweredBy.MACHINE_END_BEEP or end.beep_at is None:
                wrong.append(f"{g.name} ({law}): beep missed, {end.answered_by}")
                found.append(float("inf"))
                continue
            found.append(end.beep_at + AmdSettings().beep_length - g.beep_at)
            start_error.append(abs(end.beep_at - g.beep_at))
            end_error.append(end.at - g.beep_end)

    accuracy = correct / total
    print(f"\nfirst decision, G.711 u-law and A-law ({total} calls):")
    print(f"{'truth':<10}" + "".join(f"{c.value:>15}" for c in columns))
    for truth, row in table.items():
        print(f"{truth:<10}" + "".join(f"{row[c]:>15}" for c in columns))
    print(f"accuracy (human vs machine; unknown counts as wrong): {accuracy:.1%}")
    for truth, times in decided_at.items():
        if times:
            print(
                f"decision time, {truth}: median {statistics.median(times):.2f} s,"
                f" max {max(times):.2f} s after the answer"
            )
    for line in wrong:
        print(f"  wrong: {line}")
    print(f"\nbeeps ({len(found)}, leave_message):")
    print(
        f"  found after the tone began: median {statistics.median(found) * 1000:.0f} ms,"
        f" max {max(found) * 1000:.0f} ms (target {TARGET_BEEP * 1000:.0f} ms)"
    )
    if start_error:
        print(f"  beep_at error: max {max(start_error) * 1000:.0f} ms")
        print(
            f"  greeting over (machine_end_beep) after the tone ended: median"
            f" {statistics.median(end_error) * 1000:.0f} ms, max {max(end_error) * 1000:.0f} ms"
        )
    print("\nevery answer with more line noise added (u-law), accuracy:")
    lead = np.zeros(round(DIGITAL_LEAD * RATE), dtype=np.int16)
    for rms in (300.0, 450.0, 600.0):
        right = [0, 0]  # as it comes; after DIGITAL_LEAD of digital silence
        for i, g in enumerate(corpus):
            noisy = g.samples + greetings.line_noise(len(g.samples), 1000 + i, rms=rms)
            clipped = np.clip(np.round(noisy), -32768, 32767).astype(np.int16)
            for column, audio in enumerate((clipped, np.concatenate([lead, clipped]))):
                result, _, _ = run(greetings.through_g711(audio), until_end=False)
                right[column] += result.answered_by.machine == g.machine and (
                    result.answered_by is not AnsweredBy.UNKNOWN
                )
        dbfs = 20 * np.log10(rms / 32768)
        print(
            f"  noise {rms:.0f} RMS ({dbfs:.0f} dBFS): {right[0] / len(corpus):.1%}; after"
            f" {DIGITAL_LEAD * 1000:.0f} ms of digital silence: {right[1] / len(corpus):.1%}"
        )
    per_frame = cpu / frames
    print(
        f"\nCPU: {per_frame * 1e6:.1f} us per 20 ms frame over {frames} frames"
        f" ({per_frame / FRAME_SECONDS:.3%} of one core per call while detecting)"
    )
    ok = accuracy >= TARGET_ACCURACY and max(found) <= TARGET_BEEP
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
