"""A corpus of answers to an outbound call: people saying "Hello?" and answering machines'
greetings, with and without the end beep, for the answering-machine detector.

Voices are flite's (kal, slt, awb, rms) and espeak-ng's (en-us, en-gb) at several rates;
each answer starts after a short delay, as a phone picked up does; some have line noise
(white noise and 50 Hz hum, at three levels). What a call adds (G.711 both ways) is the
caller's to add: `through_g711` offline, baresip and the switch on a real call.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from media.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from media.pcm import RATE
from media.prompt import load_wav

from .audio import write_wav

HUMAN_TEXTS = (
    "Hello?",
    "Yes, speaking.",
    "Hello, who is this?",
    "Hi.",
    "Yeah?",
    "Hello.",
)
MACHINE_TEXTS = (
    "Hi, you have reached John Smith. I can't take your call right now, "
    "please leave a message after the tone.",
    "You have reached the voicemail of five five five, one two three four. "
    "Please leave your message.",
    "Thank you for calling Acme Corporation. Our office is currently closed. "
    "Please leave a message.",
    "Hello, this is Mary. Sorry I missed your call. Leave your name and number "
    "and I will call you back.",
    "The person you are calling is not available. Please record your message at the tone.",
)
# (engine, voice, rate): flite's duration_stretch (>1 slower), espeak-ng's words a minute
VOICES = (
    ("flite", "kal", 1.0),
    ("flite", "slt", 0.85),
    ("flite", "awb", 1.15),
    ("flite", "rms", 1.0),
    ("espeak-ng", "en-us", 150),
    ("espeak-ng", "en-us", 210),
    ("espeak-ng", "en-gb", 175),
    ("flite", "slt", 1.3),
)
BEEP_TONES = (1000.0, 440.0, 1400.0, 850.0, 1800.0)


@dataclass(frozen=True, slots=True)
class Greeting:
    name: str
    machine: bool
    samples: np.ndarray  # int16 at 8 kHz, the answer and the silence after it
    beep_at: float | None = None  # seconds from the answer: the beep's start
    beep_end: float | None = None  # and its end
    noisy: bool = False


def available() -> str | None:
    """Why the corpus cannot be made here, or None."""
    missing = [p for p in ("flite", "espeak-ng") if shutil.which(p) is None]
    return f"not installed: {', '.join(missing)}" if missing else None


def speak(text: str, engine: str, voice: str, rate: float) -> np.ndarray:
    with tempfile.TemporaryDirectory(prefix="greeting-") as tmp:
        out = Path(tmp) / "speech.wav"
        if engine == "flite":
            argv = ["flite", "-voice", voice, "--setf", f"duration_stretch={rate:g}"]
            argv += ["-t", text, "-o", str(out)]
        else:
            argv = ["espeak-ng", "-v", voice, "-s", str(int(rate)), "-w", str(out), text]
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
        speech = load_wav(out.read_bytes())
    # the synthesizers pad with near-silence: trim it, then speak at a telephone level
    loud = np.flatnonzero(np.abs(speech.astype(np.int32)) > 300)
    speech = speech[loud[0] : loud[-1] + 1] if len(loud) else speech
    peak = float(np.abs(speech.astype(np.float64)).max()) or 1.0
    return np.round(speech * (12000.0 / peak)).astype(np.int16)


def tone(freq: float, seconds: float, amplitude: float = 8000.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return np.round(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def line_noise(n: int, seed: int, rms: float = 90.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hum = 0.6 * rms * np.sin(2 * np.pi * 50.0 * np.arange(n) / RATE)
    return rng.normal(0.0, rms, n) + hum


def _pad(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def corpus(tail: float = 8.0) -> list[Greeting]:
    """Every human answer and machine greeting: 48 in all, 24 of each; machines with
    a beep on every other one; noise on every third. ``tail``: seconds of silence after
    the answer (baresip hangs up when its file ends)."""
    items: list[Greeting] = []
    for i in range(24):
        engine, voice, rate = VOICES[i % len(VOICES)]
        text = HUMAN_TEXTS[i % len(HUMAN_TEXTS)]
        lead = 0.2 + 0.1 * (i % 5)
        speech = speak(text, engine, voice, rate)
        samples = np.concatenate([_pad(lead), speech, _pad(tail)])
        items.append(_noisy(Greeting(f"human-{i:02d}-{voice}", False, samples), i))
    for i in range(24):
        engine, voice, rate = VOICES[(i + 3) % len(VOICES)]
        text = MACHINE_TEXTS[i % len(MACHINE_TEXTS)]
        lead = 0.3 + 0.1 * (i % 6)
        parts = [_pad(lead), speak(text, engine, voice, rate)]
        beep_at = beep_end = None
        if i % 2 == 0:
            parts.append(_pad(0.3 + 0.1 * (i % 4)))
            beep_at = sum(len(p) for p in parts) / RATE
            parts.append(tone(BEEP_TONES[i % len(BEEP_TONES)], 0.4 + 0.1 * (i % 5)))
            beep_end = sum(len(p) for p in parts) / RATE
        parts.append(_pad(tail))
        samples = np.concatenate(parts)
        greeting = Greeting(f"machine-{i:02d}-{voice}", True, samples, beep_at, beep_end)
        items.append(_noisy(greeting, 100 + i))
    return items


NOISE_LEVELS = (90.0, 180.0, 300.0)  # RMS of the line noise (-51, -45, -41 dBFS)


def _noisy(greeting: Greeting, seed: int) -> Greeting:
    if seed % 3:
        return greeting
    level = NOISE_LEVELS[(seed // 3) % len(NOISE_LEVELS)]
    mixed = greeting.samples + line_noise(len(greeting.samples), seed, level)
    samples = np.clip(np.round(mixed), -32768, 32767).astype(np.int16)
    return Greeting(
        greeting.name + "-noisy",
        greeting.machine,
        samples,
        greeting.beep_at,
        greeting.beep_end,
        noisy=True,
    )


def through_g711(samples: np.ndarray, law: str = "ulaw") -> np.ndarray:
    """The samples after a G.711 encoder and decoder (what a call does to them)."""
    if law == "ulaw":
        return ulaw_decode(ulaw_encode(samples))
    return alaw_decode(alaw_encode(samples))


def write(greeting: Greeting, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return write_wav(directory / f"{greeting.name}.wav", greeting.samples)


# the stretches of a greeting matched to place its beep, widest first: (seconds before
# the tone's start, seconds into it)
BEEP_WINDOWS = ((0.2, 0.1), (0.1, 0.05), (0.04, 0.04))


def find_beep(
    heard: np.ndarray, greeting: Greeting, law: str = "ulaw", least: float = 0.9
) -> tuple[float, float]:
    """Where ``greeting``'s beep starts in ``heard`` (8 kHz audio that crossed a call),
    in seconds from its first sample, and how well it matched (normalized correlation:
    1.0 is the same samples). The greeting's own samples around the tone's start,
    through the same law, slide along ``heard``: the match holds wherever the call
    stretched or squeezed the audio outside them (a late sender, a concealed underrun),
    which the file's time line cannot. The widest of BEEP_WINDOWS matching at least
    ``least`` places it (a narrower one when the call concealed a frame inside a wider
    one); if none does, the best of them."""
    if greeting.beep_at is None:
        raise ValueError(f"{greeting.name} has no beep")
    sent = through_g711(greeting.samples, law).astype(np.float64)
    audio = heard.astype(np.float64)
    energy = np.concatenate(([0.0], np.cumsum(audio * audio)))
    at = round(greeting.beep_at * RATE)
    best = (0.0, -1.0)
    for before_s, into_s in BEEP_WINDOWS:
        before, into = round(before_s * RATE), round(into_s * RATE)
        template = sent[at - before : at + into]
        if len(audio) < len(template):
            raise ValueError(f"{len(audio)} samples heard, fewer than {len(template)} matched")
        dots = np.correlate(audio, template, "valid")
        window = energy[len(template) :] - energy[: -len(template)]
        score = dots / (np.linalg.norm(template) * np.sqrt(np.maximum(window, 1e-9)))
        offset = int(score.argmax())
        found = ((offset + before) / RATE, float(score[offset]))
        if found[1] >= least:
            return found
        best = max(best, found, key=lambda placed: placed[1])
    return best
