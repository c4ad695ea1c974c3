"""Choice accuracy of the listen step's recognizer on a generated corpus, with the
confusion table (BENCHMARKS.md, tests/media/test_listen_accuracy.py).

Each utterance is a survey answer (a choice's phrase, or spoken digits) said by a flite
or espeak-ng voice at one of several rates, sent through G.711 (PCMU or PCMA, encoded
and decoded as on a call), some with line noise (hiss at 20 dB SNR and mains hum), then
fed 20 ms frame by frame, in the media clock's 100 ms batches, through the same path a
call's listen step takes: media.listener's VAD and streaming pocketsphinx stream, and
media.expectations' reading of the words. The truth is the choice the phrase belongs to.

    .venv/bin/python tools/bench/listen_corpus.py            # 80 utterances, the table
    .venv/bin/python tools/bench/listen_corpus.py --quick    # a third of them
    .venv/bin/python tools/bench/listen_corpus.py --confidence 0.5   # with a threshold

With ``--confidence`` the steps have that threshold, as a flow's ``confidence`` sets it:
the free second pass runs and an answer under the threshold is no match. The run then
also prints how many right answers the threshold turned away (its cost) and how many
wrong ones it stopped (its use).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from media import g711
from media.expectations import Expectations, Kind
from media.listener import SpeechListener
from media.pcm import FRAME
from media.prompt import load_wav
from media.recognizer import PocketsphinxRecognizer

CHOICES = {
    "yes": ["yes", "yeah", "sure"],
    "no": ["no", "no thanks", "nope"],
    "agent": ["talk to an agent", "agent"],
}
# the choices are asked by one question and the digits by another ("Say your code"),
# as a survey would; a question taking both is harder (noise reads as digits)
SURVEY = Expectations.of(CHOICES)
CODE = Expectations.of(digits=4)
# what is said, and the answer it is (digit strings are their own class)
SAID = [
    ("yes", "yes"),
    ("yeah", "yes"),
    ("sure", "yes"),
    ("no", "no"),
    ("no thanks", "no"),
    ("nope", "no"),
    ("talk to an agent", "agent"),
    ("agent", "agent"),
    ("four two seven", "427"),
    ("nine one one", "911"),
]
# (engine, voice, words per minute or None for the voice's own pace)
VOICES = [
    ("flite", "kal", None),
    ("flite", "slt", None),
    ("flite", "awb", 150),
    ("flite", "rms", 200),
    ("espeak-ng", "en-us", 150),
    ("espeak-ng", "en+f3", 175),
    ("espeak-ng", "en-gb-x-rp", 140),
    ("espeak-ng", "en+m3", 160),
]
NO_MATCH = "(none)"


@dataclass(frozen=True, slots=True)
class Utterance:
    text: str
    truth: str
    voice: str
    codec: str  # PCMU or PCMA
    noisy: bool
    audio: np.ndarray  # 8 kHz, after the codec


def synthesize(text: str, engine: str, voice: str, rate: int | None) -> np.ndarray:
    with tempfile.NamedTemporaryFile(suffix=".wav") as out:
        if engine == "flite":
            command = ["flite", "-voice", voice, "-t", text, "-o", out.name]
            if rate is not None:  # flite speaks ~175 wpm: stretch the durations
                command[1:1] = ["--setf", f"duration_stretch={175 / rate:.2f}"]
        else:
            command = ["espeak-ng", "-v", voice, "-w", out.name, text]
            if rate is not None:
                command[1:1] = ["-s", str(rate)]
        subprocess.run(command, check=True, capture_output=True)
        return load_wav(Path(out.name).read_bytes())


def line_noise(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Hiss 20 dB under the speech and 50 Hz hum: an old analogue line."""
    x = audio.astype(np.float64)
    power = float(np.mean(x[np.abs(x) > 300] ** 2)) if np.any(np.abs(x) > 300) else 1e6
    hiss = rng.normal(0, np.sqrt(power / 100), len(x))
    hum = 300 * np.sin(2 * np.pi * 50 * np.arange(len(x)) / 8000)
    return np.clip(x + hiss + hum, -32768, 32767).astype(np.int16)


def g711_round_trip(audio: np.ndarray, codec: str) -> np.ndarray:
    return g711.decode(codec, g711.encode(codec, audio))


def corpus(quick: bool = False) -> list[Utterance]:
    """Every phrase by every voice (80: 64 choices, 16 digit strings), every third one
    with line noise, PCMU and PCMA in turn; ``quick``: every third utterance."""
    rng = np.random.default_rng(16)
    made: list[Utterance] = []
    n = 0
    for engine, voice, rate in VOICES:
        for text, truth in SAID:
            n += 1
            if quick and n % 3 != 1:
                continue
            audio = synthesize(text, engine, voice, rate)
            noisy = n % 3 == 0
            if noisy:
                audio = line_noise(audio, rng)
            codec = "PCMU" if n % 2 else "PCMA"
            label = f"{engine}:{voice}" + (f"@{rate}" if rate else "")
            made.append(Utterance(text, truth, label, codec, noisy, g711_round_trip(audio, codec)))
    return made


@dataclass(frozen=True, slots=True)
class Outcome:
    utterance: Utterance
    heard: str  # the recognizer's words
    answer: str  # the choice or digits taken, NO_MATCH
    confidence: float
    cpu_seconds: float  # decoding and VAD for the utterance


def recognize(
    utterance: Utterance, engine: PocketsphinxRecognizer, confidence: float = 0.0
) -> Outcome:
    """``confidence``: the listen step's threshold (its default, 0, takes the grammar's
    answer whatever the free decode heard)."""
    """The utterance, between silences, through the listen step's path in 100 ms batches."""
    quiet = np.zeros(4000, np.int16)
    audio = np.concatenate([quiet, utterance.audio, quiet, quiet, quiet])
    frames = list(audio[: len(audio) // FRAME * FRAME].reshape(-1, FRAME))
    question = CODE if utterance.truth.isdigit() else SURVEY
    listener = SpeechListener(
        engine.stream(question, confidence > 0), max_speech=10, confidence=confidence > 0
    )
    started = time.process_time()
    result = None
    for i in range(0, len(frames), 5):
        result = listener.process(frames[i : i + 5])
        if result is not None:
            break
    cpu = time.process_time() - started
    if result is None:
        return Outcome(utterance, "", NO_MATCH, 0.0, cpu)
    hypothesis = result[0]
    meaning = question.interpret(hypothesis.text) if hypothesis.confidence >= confidence else None
    answer = NO_MATCH if meaning is None else meaning.value
    if meaning is not None and meaning.kind is not Kind.CHOICE:
        answer = meaning.value  # the digits
    return Outcome(utterance, hypothesis.text, answer, hypothesis.confidence, cpu)


def confusion(outcomes: list[Outcome]) -> str:
    """A markdown table: rows the truth, columns what was taken."""
    labels = list(dict.fromkeys(t for _, t in SAID))
    columns = [*labels, NO_MATCH]
    counts = Counter((o.utterance.truth, o.answer) for o in outcomes)
    others = sorted({o.answer for o in outcomes} - set(columns))
    columns += others
    lines = [
        "| said \\ taken | " + " | ".join(columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for truth in labels:
        row = [str(counts.get((truth, c), 0) or ".") for c in columns]
        lines.append(f"| {truth} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def choices(outcomes: list[Outcome]) -> list[Outcome]:
    """The answers to the choice question (yes / no / agent)."""
    return [o for o in outcomes if o.utterance.truth in CHOICES]


def question_of(outcome: Outcome) -> Expectations:
    return CODE if outcome.utterance.truth.isdigit() else SURVEY


def accuracy(outcomes: list[Outcome]) -> float:
    return sum(o.answer == o.utterance.truth for o in outcomes) / max(1, len(outcomes))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a third of the corpus")
    parser.add_argument(
        "--confidence", type=float, default=0.0, help="the steps' threshold (0: none)"
    )
    args = parser.parse_args()
    utterances = corpus(args.quick)
    engine = PocketsphinxRecognizer()
    engine.prepare(SURVEY)
    engine.prepare(CODE)
    outcomes = [recognize(u, engine, args.confidence) for u in utterances]
    noisy = [o for o in outcomes if o.utterance.noisy]
    print(f"{len(outcomes)} utterances ({len(noisy)} with line noise), voices:")
    print("  " + ", ".join(dict.fromkeys(u.voice for u in utterances)))
    print(confusion(outcomes))
    asked = choices(outcomes)
    digits = [o for o in outcomes if o not in asked]
    print(
        f"choice accuracy {accuracy(asked):.1%} of {len(asked)}"
        f" (line noise {accuracy([o for o in asked if o.utterance.noisy]):.1%});"
        f" spoken digits {accuracy(digits):.1%} of {len(digits)}"
    )
    if args.confidence:
        # what the grammar's words alone would have given: the threshold's cost and use
        plain = [(o, question_of(o).interpret(o.heard)) for o in asked]
        turned = sum(
            o.answer == NO_MATCH and m is not None and m.value == o.utterance.truth
            for o, m in plain
        )
        stopped = sum(
            o.answer == NO_MATCH and m is not None and m.value != o.utterance.truth
            for o, m in plain
        )
        print(
            f"threshold {args.confidence}: {turned} right answers turned away,"
            f" {stopped} wrong ones stopped (of {len(asked)} choice answers)"
        )
    cpu = sorted(o.cpu_seconds / (len(o.utterance.audio) / 8000) for o in outcomes)
    print(f"decoding CPU per second of speech: median {np.median(cpu) * 1000:.0f} ms")
    for o in outcomes:
        if o.answer != o.utterance.truth:
            u = o.utterance
            print(
                f"  miss: {u.voice} {u.codec}{' noisy' if u.noisy else ''} "
                f"{u.text!r} -> {o.heard!r} ({o.confidence:.2f}) = {o.answer}"
            )
    return 0 if accuracy(asked) >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
