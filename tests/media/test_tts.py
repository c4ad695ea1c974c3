"""Tts with the real engines: intelligibility after G.711, prosody, cache, fallback."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import numpy as np
import pytest

from media import g711
from media.asr import PocketsphinxTranscriber
from media.tts import Tts, _trim
from media.tts_engines.espeak_ng import EspeakEngine
from media.tts_engines.flite import FliteEngine
from media.tts_engines.gtts import GttsEngine
from media.voice import TtsError, TtsUnavailable, VoiceParams

DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
OTPS = ("0123456789", "9876543210", "4821", "9035", "7166", "250913")
MATTHEW = VoiceParams.parse(voice="Matthew")
JOANNA = VoiceParams.parse(voice="Joanna")


@pytest.fixture(scope="module")
def asr() -> PocketsphinxTranscriber:
    return PocketsphinxTranscriber()


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # one disk cache for the recognition tests: each prompt is synthesized once per run
    return tmp_path_factory.mktemp("tts-cache")


def spoken(otp: str) -> str:
    return " ".join(DIGIT_WORDS[int(c)] for c in otp)


def word_errors(ref: str, hyp: str) -> int:
    """Levenshtein distance over words (substitutions, insertions, deletions)."""
    r, h = ref.split(), hyp.split()
    row = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, row[0] = row[0], i
        for j in range(1, len(h) + 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
    return row[len(h)]


def phone_line(samples: np.ndarray, codec: str = "PCMU") -> np.ndarray:
    return g711.decode(codec, g711.encode(codec, samples))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


# ---------------------------------------------------------------- intelligibility


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
@pytest.mark.parametrize("otp", OTPS)
async def test_flite_male_otp_is_recognized_exactly_after_g711(
    shared_cache: Path, asr: PocketsphinxTranscriber, otp: str, codec: str
) -> None:
    tts = Tts(shared_cache / "flite", engine="flite")
    as_text = await tts.speech(spoken(otp), MATTHEW)
    one_by_one = await tts.digits(otp, MATTHEW)
    assert asr.transcribe(phone_line(as_text, codec), 8000, words=DIGIT_WORDS) == spoken(otp)
    assert asr.transcribe(phone_line(one_by_one, codec), 8000, words=DIGIT_WORDS) == spoken(otp)


# Word error rates measured here over OTPS (text and digit-by-digit, PCMU):
# flite slt 0.12, espeak-ng male 0.24, espeak-ng female 0.17. The bounds leave a
# little room; a broken pipeline (wrong rate, noise, silence) scores near 1.0.
@pytest.mark.parametrize(
    ("engine", "voice", "max_wer"),
    [
        ("flite", JOANNA, 0.2),
        ("espeak-ng", MATTHEW, 0.3),
        ("espeak-ng", JOANNA, 0.3),
    ],
)
async def test_offline_engines_are_intelligible_after_g711(
    shared_cache: Path,
    asr: PocketsphinxTranscriber,
    engine: str,
    voice: VoiceParams,
    max_wer: float,
) -> None:
    tts = Tts(shared_cache / engine, engine=engine)  # own dir: no fallback entries
    errors = words = 0
    exact: list[str] = []
    for otp in OTPS:
        for audio in (await tts.speech(spoken(otp), voice), await tts.digits(otp, voice)):
            heard = asr.transcribe(phone_line(audio), 8000, words=DIGIT_WORDS)
            errors += word_errors(spoken(otp), heard)
            words += len(otp)
            if heard == spoken(otp):
                exact.append(otp)
    assert errors / words <= max_wer
    assert exact, "at least one OTP must come through word for word"


async def test_engines_really_differ(tmp_path: Path) -> None:
    flite = await Tts(tmp_path / "f", engine="flite").speech("hello", MATTHEW)
    espeak = await Tts(tmp_path / "e", engine="espeak-ng").speech("hello", MATTHEW)
    female = await Tts(tmp_path / "f", engine="flite").speech("hello", JOANNA)
    assert not np.array_equal(flite, espeak)
    assert not np.array_equal(flite, female)


# ---------------------------------------------------------------- output format and prosody


async def test_output_is_readonly_int16_8khz_at_normalized_level(tmp_path: Path) -> None:
    audio = await Tts(tmp_path).speech("Your appointment is tomorrow", JOANNA)
    assert audio.dtype == np.int16 and audio.ndim == 1
    assert 1.0 < len(audio) / 8000 < 4.0  # a 4-word sentence, at 8 kHz
    peak_dbfs = 20 * np.log10(np.abs(audio.astype(np.int32)).max() / 32768)
    assert -10.0 < peak_dbfs < -8.0
    with pytest.raises(ValueError):
        audio[0] = 1  # shared cache entry


@pytest.mark.parametrize("engine", ["flite", "espeak-ng"])
async def test_rate_changes_duration(tmp_path: Path, engine: str) -> None:
    tts = Tts(tmp_path, engine=engine)
    lengths = [
        len(await tts.speech("one two three four five", VoiceParams.parse(voice="Matthew", rate=r)))
        for r in ("x-slow", "slow", "medium", "fast", "x-fast")
    ]
    assert lengths == sorted(lengths, reverse=True)
    assert lengths[0] > 1.8 * lengths[-1]


def fundamental(audio: np.ndarray) -> float:
    """Median f0 (Hz) over voiced 40 ms frames by autocorrelation, 60-400 Hz."""
    x = audio.astype(np.float64)
    f0s = []
    for start in range(0, len(x) - 320, 160):
        frame = x[start : start + 320] - x[start : start + 320].mean()
        if np.sqrt(np.mean(frame**2)) < 0.1 * np.sqrt(np.mean(x**2)) * 3:
            continue
        ac = np.correlate(frame, frame, "full")[319:]
        lo, hi = 8000 // 400, 8000 // 60
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.4 * ac[0]:
            f0s.append(8000 / lag)
    return float(np.median(f0s))


@pytest.mark.parametrize("engine", ["flite", "espeak-ng"])
async def test_pitch_moves_the_fundamental(tmp_path: Path, engine: str) -> None:
    tts = Tts(tmp_path, engine=engine)
    low, mid, high = [
        fundamental(
            await tts.speech("we were away a year ago", VoiceParams.parse(voice="Matthew", pitch=p))
        )
        for p in ("x-low", "medium", "x-high")
    ]
    assert low < mid < high


async def test_volume_levels_and_silence(tmp_path: Path) -> None:
    tts = Tts(tmp_path)
    peaks = {}
    for volume in ("x-soft", "soft", "medium", "loud", "x-loud"):
        audio = await tts.speech("volume check", VoiceParams.parse(volume=volume))
        peaks[volume] = 20 * np.log10(np.abs(audio.astype(np.int32)).max() / 32768)
    assert list(peaks.values()) == sorted(peaks.values())
    assert peaks["x-loud"] - peaks["x-soft"] == pytest.approx(20.0, abs=0.5)
    silent = await tts.speech("volume check", VoiceParams.parse(volume="silent"))
    medium = await tts.speech("volume check", VoiceParams())
    assert len(silent) == len(medium) and not silent.any()


# ---------------------------------------------------------------- languages and engine choice


async def test_language_flite_cannot_speak_falls_to_espeak(tmp_path: Path) -> None:
    tts = Tts(tmp_path / "a", engine="flite", allow_online=False)
    celine = VoiceParams.parse(voice="Celine")  # fr-FR
    french = await tts.speech("bonjour", celine)
    direct = await Tts(tmp_path / "b", engine="espeak-ng").speech("bonjour", celine)
    assert np.array_equal(french, direct)


async def test_language_no_engine_speaks_is_a_400(tmp_path: Path) -> None:
    tts = Tts(tmp_path, allow_online=False)
    with pytest.raises(TtsError, match="language_code xx-YY is not supported"):
        await tts.speech("hello", VoiceParams.parse(language_code="xx-YY"))


async def test_bad_text_is_a_400(tmp_path: Path) -> None:
    tts = Tts(tmp_path)
    with pytest.raises(TtsError, match="empty"):
        await tts.speech("  \n ", JOANNA)
    with pytest.raises(TtsError, match="digits and letters only"):
        await tts.digits("12?4", JOANNA)
    with pytest.raises(TtsError):
        await tts.digits(" - ", JOANNA)


def test_unknown_engine_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown TTS engine"):
        Tts(tmp_path, engine="polly")


async def test_prompt_starting_with_dash_is_spoken_not_parsed(tmp_path: Path) -> None:
    for engine in ("flite", "espeak-ng"):
        audio = await Tts(tmp_path / engine, engine=engine).speech("-v hello", MATTHEW)
        assert np.abs(audio).max() > 1000


# ---------------------------------------------------------------- gtts offline


class CountingGtts(GttsEngine):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.calls = 0

    async def synthesize(self, text: str, voice: VoiceParams) -> bytes:
        self.calls += 1
        return await super().synthesize(text, voice)


async def test_gtts_without_network_says_so() -> None:
    engine = GttsEngine(proxy=f"http://127.0.0.1:{closed_port()}", timeout=5)
    with pytest.raises(TtsUnavailable, match="gtts: no network, cannot reach translate.google.com"):
        await engine.synthesize("hello", JOANNA)


async def test_gtts_offline_falls_back_to_flite_and_backs_off(tmp_path: Path) -> None:
    gtts = CountingGtts(proxy=f"http://127.0.0.1:{closed_port()}", timeout=5)
    tts = Tts(tmp_path / "g", engine="gtts", engines={"gtts": gtts})
    spoken_ = await tts.speech("one two three", JOANNA)
    reference = await Tts(tmp_path / "f", engine="flite").speech("one two three", JOANNA)
    assert np.array_equal(spoken_, reference)
    assert gtts.calls == 1
    # within the back-off window the network is not tried again, not even for new text
    await tts.speech("four five six", JOANNA)
    assert gtts.calls == 1
    assert tts.cached("one two three", JOANNA) is spoken_


async def test_neural_tries_gtts_only_when_online_is_allowed(tmp_path: Path) -> None:
    neural = VoiceParams.parse(voice="Joanna", tts_engine_type="neural")
    gtts = CountingGtts(proxy=f"http://127.0.0.1:{closed_port()}", timeout=5)
    offline = Tts(tmp_path, engine="flite", allow_online=False, engines={"gtts": gtts})
    assert len(await offline.speech("hello", neural)) > 0
    assert gtts.calls == 0
    online = Tts(tmp_path, engine="flite", allow_online=True, engines={"gtts": gtts})
    assert len(await online.speech("hello again", neural)) > 0
    assert gtts.calls == 1


# ---------------------------------------------------------------- cache


async def test_second_request_is_the_cached_array(tmp_path: Path) -> None:
    tts = Tts(tmp_path)
    first = await tts.speech("Welcome to the service", JOANNA)
    again = await tts.speech("  Welcome to   the service ", JOANNA)  # same words, same prompt
    assert again is first
    assert tts.cached("Welcome to the service", JOANNA) is first
    assert tts.syntheses == 1


async def test_key_covers_every_parameter_and_the_engine(tmp_path: Path) -> None:
    tts = Tts(tmp_path)
    base = await tts.speech("key test", JOANNA)
    variants = [
        VoiceParams.parse(voice="Matthew"),
        VoiceParams.parse(rate="slow"),
        VoiceParams.parse(pitch="high"),
        VoiceParams.parse(volume="loud"),
        VoiceParams.parse(language_code="en-GB"),
        VoiceParams.parse(tts_engine_type="neural"),
    ]
    for voice in variants:
        assert tts.cached("key test", voice) is None
        await tts.speech("key test", voice)
    assert tts.syntheses == 1 + len(variants)
    assert tts.cached("key test", VoiceParams.parse(rate="slow")) is not base
    assert Tts(tmp_path / "other", engine="espeak-ng").cached("key test", JOANNA) is None
    # a shared cache dir: espeak-ng's instance reuses flite's rendering (its fallback)
    # rather than switching voices in the middle of a campaign
    assert np.array_equal(Tts(tmp_path, engine="espeak-ng").cached("key test", JOANNA), base)


async def test_disk_cache_survives_a_restart(tmp_path: Path) -> None:
    first = await Tts(tmp_path).speech("persisted prompt", MATTHEW)
    restarted = Tts(tmp_path)
    hit = restarted.cached("persisted prompt", MATTHEW)
    assert hit is not None and np.array_equal(hit, first)
    assert await restarted.speech("persisted prompt", MATTHEW) is hit
    assert restarted.syntheses == 0


async def test_corrupt_disk_entry_is_resynthesized(tmp_path: Path) -> None:
    first = await Tts(tmp_path).speech("fragile", MATTHEW)
    (entry,) = tmp_path.glob("*.wav")
    entry.write_bytes(b"RIFF\x00\x00")
    fresh = Tts(tmp_path)
    assert fresh.cached("fragile", MATTHEW) is None
    assert np.array_equal(await fresh.speech("fragile", MATTHEW), first)
    assert fresh.syntheses == 1


async def test_concurrent_requests_synthesize_once(tmp_path: Path) -> None:
    tts = Tts(tmp_path)
    results = await asyncio.gather(*(tts.speech("everyone at once", JOANNA) for _ in range(20)))
    assert tts.syntheses == 1
    assert all(r is results[0] for r in results)
    assert list(tmp_path.glob("*.wav")) and not list(tmp_path.glob(".*tmp*"))


async def test_a_cancelled_waiter_does_not_cancel_the_others(tmp_path: Path) -> None:
    tts = Tts(tmp_path)
    quitter = asyncio.ensure_future(tts.speech("shared work", JOANNA))
    stayer = asyncio.ensure_future(tts.speech("shared work", JOANNA))
    await asyncio.sleep(0)
    quitter.cancel()
    audio = await stayer
    assert len(audio) > 0 and tts.syntheses == 1


async def test_memory_lru_evicts_to_disk(tmp_path: Path) -> None:
    tts = Tts(tmp_path, memory_bytes=1)  # keeps only the newest entry in memory
    a = await tts.speech("first text", JOANNA)
    await tts.speech("second text", JOANNA)
    again = tts.cached("first text", JOANNA)  # from disk now: equal, not the same object
    assert again is not a and np.array_equal(again, a)
    assert tts.syntheses == 2


# ---------------------------------------------------------------- digits


async def test_digits_are_clips_and_pauses(tmp_path: Path) -> None:
    tts = Tts(tmp_path)
    out = await tts.digits("1-1 2", JOANNA, pause_ms=300)
    one = _trim(await tts.speech("1", JOANNA))
    two = _trim(await tts.speech("2", JOANNA))
    pause = np.zeros(2400, dtype=np.int16)
    assert np.array_equal(out, np.concatenate([one, pause, one, pause, two]))
    assert tts.syntheses == 2  # each distinct digit once
    slow = await tts.digits("11", VoiceParams.parse(voice="Joanna", rate="x-slow"), pause_ms=300)
    slow_one = _trim(await tts.speech("1", VoiceParams.parse(voice="Joanna", rate="x-slow")))
    assert len(slow) == 2 * len(slow_one) + int(2400 * 1.6)


def test_trim_keeps_a_margin_and_leaves_silence_alone() -> None:
    clip = np.zeros(4000, dtype=np.int16)
    clip[1000:2000] = 5000
    trimmed = _trim(clip)
    assert len(trimmed) == 1000 + 2 * 80
    silent = np.zeros(500, dtype=np.int16)
    assert _trim(silent) is silent


# ---------------------------------------------------------------- engines directly


async def test_engines_support_what_they_can_speak() -> None:
    assert await FliteEngine().supports(JOANNA)
    assert not await FliteEngine().supports(VoiceParams.parse(voice="Hans"))
    espeak = EspeakEngine()
    assert await espeak.supports(VoiceParams.parse(voice="Hans"))  # de-DE -> de
    assert await espeak.supports(VoiceParams.parse(voice="Zhiyu"))  # cmn-CN -> cmn
    assert not await espeak.supports(VoiceParams.parse(language_code="xx"))
    assert GttsEngine().language_for(VoiceParams.parse(voice="Zhiyu")) == "zh-CN"
    assert not await FliteEngine(binary="no-such-flite").supports(JOANNA)


async def test_missing_binary_is_unavailable() -> None:
    with pytest.raises(TtsUnavailable, match="not installed"):
        await FliteEngine(binary="no-such-flite").synthesize("hi", JOANNA)


async def test_espeak_language_probe_runs_once_for_concurrent_requests() -> None:
    class Counting(EspeakEngine):
        probes = 0

        async def _list_languages(self) -> set[str]:
            Counting.probes += 1
            return await super()._list_languages()

    engine = Counting()
    answers = await asyncio.gather(*(engine.supports(MATTHEW) for _ in range(10)))
    assert all(answers) and Counting.probes == 1


@pytest.mark.parametrize("engine", ["flite", "espeak-ng"])
def test_engines_work_under_uvloop(tmp_path, engine):
    # uvloop's subprocess pipes are socketpairs: an engine that open()s /dev/stdout fails
    import uvloop

    async def synth():
        return await Tts(tmp_path, engine=engine).speech("hello", VoiceParams.parse())

    assert len(uvloop.run(synth())) > 1600
