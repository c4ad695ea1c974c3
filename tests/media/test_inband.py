import asyncio
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from media import g711
from media.dtmf import COLS, DIGITS, KEYS, ROWS
from media.inband import DBM0, InbandDtmfDetector
from media.pcm import FRAME, RATE
from media.ports import PortAllocator
from media.prompt import load_audio
from media.session import RtpSession
from media.tones import dtmf_tone, ringback

ALL = DIGITS


def tone_pair(
    digit: str, ms: float, dbm0: float = -10.0, *, twist_db: float = 0.0, deviation: float = 0.0
) -> np.ndarray:
    """A DTMF digit as float samples: each tone at `dbm0`, the column tone `twist_db` louder."""
    row = next(i for i, keys in enumerate(KEYS) if digit in keys)
    col = KEYS[row].index(digit)
    t = np.arange(int(RATE * ms / 1000)) / RATE
    amp = np.sqrt(2 * DBM0 * 10 ** (dbm0 / 10))
    f = 1 + deviation
    return amp * np.sin(2 * np.pi * ROWS[row] * f * t) + amp * 10 ** (twist_db / 20) * np.sin(
        2 * np.pi * COLS[col] * f * t + 0.7
    )


def gap(ms: float) -> np.ndarray:
    return np.zeros(int(RATE * ms / 1000))


def dial(digits: str, on_ms: float = 60, off_ms: float = 60, **kw) -> np.ndarray:
    parts = [gap(30)]
    for d in digits:
        parts += [tone_pair(d, on_ms, **kw), gap(off_ms)]
    return np.concatenate(parts)


def pcm(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def noise(n: int, dbm0: float, seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n) * np.sqrt(DBM0 * 10 ** (dbm0 / 10))


def detect(x: np.ndarray, frame: int = FRAME, detector: InbandDtmfDetector | None = None) -> str:
    detector = detector or InbandDtmfDetector()
    samples = x if x.dtype == np.int16 else pcm(x)
    return "".join(
        d for i in range(0, len(samples), frame) for d in detector.feed(samples[i : i + frame])
    )


@pytest.mark.parametrize("level", [-3, -10, -20, -26])
def test_all_digits_at_several_levels(level: int) -> None:
    assert detect(dial(ALL, dbm0=level)) == ALL


@pytest.mark.parametrize("level", [-5, -15, -25])
def test_all_digits_in_noise(level: int) -> None:
    x = dial(ALL, dbm0=level)
    x += noise(len(x), level - 15)  # white noise 15 dB under each tone
    assert detect(x) == ALL


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
@pytest.mark.parametrize("level", [-5, -25])
def test_after_g711_round_trip(codec: str, level: int) -> None:
    x = dial(ALL, dbm0=level)
    x += noise(len(x), level - 20, seed=-level)
    decoded = g711.decode(codec, g711.encode(codec, pcm(x)))
    assert detect(decoded) == ALL


def test_tones_from_media_tones() -> None:
    audio = np.concatenate(
        [np.concatenate([dtmf_tone(d, 80), np.zeros(400, np.int16)]) for d in ALL]
    )
    assert detect(audio) == ALL


@pytest.mark.parametrize("twist", [-6.0, 3.0])
def test_twist_within_limits_accepted(twist: float) -> None:
    assert detect(dial(ALL, twist_db=twist)) == ALL


@pytest.mark.parametrize("twist", [-12.0, 8.0])
def test_twist_beyond_limits_rejected(twist: float) -> None:
    assert detect(dial(ALL, twist_db=twist)) == ""


@pytest.mark.parametrize("deviation", [-0.015, 0.015])
def test_frequency_tolerance_accepted(deviation: float) -> None:
    assert detect(dial(ALL, deviation=deviation)) == ALL


@pytest.mark.parametrize("deviation", [-0.035, 0.035])
def test_frequency_off_by_3_5_percent_rejected(deviation: float) -> None:
    assert detect(dial(ALL, deviation=deviation)) == ""


def test_minimum_duration() -> None:
    assert detect(dial(ALL, on_ms=40, off_ms=40)) == ALL
    assert detect(dial(ALL, on_ms=20, off_ms=60)) == ""


def test_too_weak_rejected() -> None:
    assert detect(dial(ALL, dbm0=-40)) == ""


def test_long_press_is_one_digit_and_repeats_need_a_pause() -> None:
    assert detect(dial("5", on_ms=1500)) == "5"
    assert detect(dial("555", on_ms=60, off_ms=50)) == "555"
    # a 5 ms drop-out inside one key press is not a second press
    dropout = np.concatenate([gap(30), tone_pair("8", 100), gap(5), tone_pair("8", 100), gap(50)])
    assert detect(dropout) == "8"


@pytest.mark.parametrize("level", [-8, -25])
def test_pause_between_presses_of_the_same_key(level: int) -> None:
    assert detect(dial("1111", on_ms=40, off_ms=40, dbm0=level)) == "1111"  # Q.24: 40 ms pause
    assert detect(dial("1111", on_ms=50, off_ms=10, dbm0=level)) == "1"  # 10 ms: one press


def test_digit_change_without_pause() -> None:
    x = np.concatenate([gap(20), tone_pair("1", 80), tone_pair("2", 80), gap(60)])
    assert detect(x) == "12"


@pytest.mark.parametrize("frame", [80, 160, 333, 1000])
def test_any_frame_size(frame: int) -> None:
    assert detect(dial("159#", dbm0=-12), frame=frame) == "159#"


def test_not_dtmf_no_digits() -> None:
    assert detect(np.zeros(8000)) == ""
    assert detect(noise(16000, -10)) == ""
    assert detect(ringback("us", level=0.5)[:16000]) == ""  # 440+480 Hz
    t = np.arange(16000) / RATE
    assert detect(8000 * np.sin(2 * np.pi * 697 * t)) == ""  # a row tone alone
    assert detect(8000 * np.sin(2 * np.pi * 1336 * t)) == ""  # a column tone alone
    # a two-tone chord with harmonics (a musical tone) on DTMF frequencies
    chord = sum(
        a * np.sin(2 * np.pi * k * f * t)
        for f in (697, 1209)
        for k, a in ((1, 6000), (2, 5000), (3, 3000))
    )
    assert detect(chord) == ""


def test_reset_and_held() -> None:
    detector = InbandDtmfDetector()
    x = pcm(tone_pair("7", 200))
    assert detect(x[:800], detector=detector) == "7"
    assert detector.held == "7"
    detector.reset()
    assert detector.held is None
    assert detect(pcm(gap(40)), detector=detector) == ""


# ------------------------------------------------------------------ speech

SPEECH = (
    "Welcome to the customer service line. Your call is important to us. For billing "
    "questions, press one. To report an outage, press two. Your verification code is "
    "three eight one five nine two. Hmm, well, oh really? Yes, absolutely, see you soon."
)


def synthesize(tmp: Path) -> list[tuple[str, np.ndarray]]:
    voices: list[tuple[str, list[str]]] = []
    if shutil.which("flite"):
        voices += [
            (f"flite-{v}", ["flite", "-voice", v, "-t", SPEECH, "-o"])
            for v in ("kal", "awb", "rms", "slt")
        ]
    if shutil.which("espeak-ng"):
        voices += [
            ("espeak-ng", ["espeak-ng", "-w"]),
            ("espeak-ng-f", ["espeak-ng", "-v", "en+f3", "-w"]),
        ]
    out = []
    for name, argv in voices:
        path = tmp / f"{name}.wav"
        args = argv + [str(path)] + ([SPEECH] if argv[0] == "espeak-ng" else [])
        subprocess.run(args, check=True, capture_output=True, timeout=120)
        out.append((name, load_audio(path)))  # resampled to 8 kHz int16
    return out


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, np.ndarray]]:
    voices = synthesize(tmp_path_factory.mktemp("speech"))
    if not voices:
        pytest.skip("neither flite nor espeak-ng is installed")
    return voices


def test_speech_produces_no_digits(speech: list[tuple[str, np.ndarray]]) -> None:
    seconds = 0.0
    for name, audio in speech:
        seconds += len(audio) / RATE
        for gain in (1.0, 2.0):
            loud = pcm(audio.astype(np.float64) * gain)
            assert detect(loud) == "", f"{name} x{gain}"
            assert detect(g711.ulaw_decode(g711.ulaw_encode(loud))) == "", (
                f"{name} x{gain} via PCMU"
            )
    assert seconds > 60  # a minute of speech or more was checked


def test_digits_between_speech(speech: list[tuple[str, np.ndarray]]) -> None:
    _, audio = speech[0]
    talk = audio[: RATE * 3].astype(np.float64)
    x = np.concatenate([talk, dial("42", dbm0=-15), talk, dial("#", dbm0=-15)])
    assert detect(x) == "42#"


# ------------------------------------------------------------------ through RTP


async def test_tones_through_an_rtp_session_pair() -> None:
    ports = PortAllocator(28000, 28999)
    for codec, pt in (("PCMU", 0), ("PCMA", 8)):
        a = await RtpSession.open("127.0.0.1", ports)
        b = await RtpSession.open("127.0.0.1", ports)
        a.set_remote("127.0.0.1", b.local_port, codec, pt, None)
        b.set_remote("127.0.0.1", a.local_port, codec, pt, None)
        audio = pcm(dial("*739#", on_ms=60, off_ms=60, dbm0=-12))
        audio = np.concatenate([audio, np.zeros(FRAME * 4 - len(audio) % FRAME, np.int16)])
        detector = InbandDtmfDetector()
        digits = []
        try:
            for i in range(0, len(audio), FRAME):
                before = b.packets_received
                a.write_frame(audio[i : i + FRAME])
                async with asyncio.timeout(3):
                    while b.packets_received == before:
                        await asyncio.sleep(0.001)
                frame = b.read_frame()
                if frame is not None:
                    digits += detector.feed(frame)
        finally:
            a.close()
            b.close()
        assert "".join(digits) == "*739#", codec
