import os
import signal
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media.pcm import RATE
from media.recorder import (
    CallRecorder,
    RecordingFiles,
    WavWriter,
    repair_directory,
    repair_wav,
)
from media.wav import HEADER_SIZE, wav_header

ROOT = Path(__file__).resolve().parents[2]


def read_wav(path: Path, rate: int = RATE) -> tuple[np.ndarray, int]:
    """Samples (n,) or (n, channels) via the stdlib parser: what 'valid WAV' means here."""
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2 and w.getframerate() == rate
        channels = w.getnchannels()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return (data if channels == 1 else data.reshape(-1, channels)), channels


def tone(freq: float, n: int, start: int = 0, amp: float = 8000) -> np.ndarray:
    t = np.arange(start, start + n) / RATE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def dominant(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64)))
    return float(np.argmax(spectrum) * RATE / len(x))


def level(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


# ------------------------------------------------------------------ WavWriter


def test_writer_flushes_every_second_and_closes_exactly(tmp_path: Path) -> None:
    path = tmp_path / "w.wav"
    writer = WavWriter(path)
    signal_ = tone(300, 8000 * 3 + 4000)
    for i in range(0, len(signal_), 160):
        writer.write(signal_[i : i + 160])
    # Before close: what is on disk is a valid WAV missing less than the last second.
    on_disk, _ = read_wav(path)
    assert len(signal_) - 8000 < len(on_disk) <= len(signal_)
    assert np.array_equal(on_disk, signal_[: len(on_disk)])
    assert writer.frames == len(signal_)
    writer.close()
    writer.close()  # idempotent
    data, channels = read_wav(path)
    assert channels == 1 and np.array_equal(data, signal_)
    writer.write(signal_[:160])  # after close: ignored
    assert len(read_wav(path)[0]) == len(signal_)


def test_writers_opened_together_flush_at_different_ticks(tmp_path: Path) -> None:
    writers = [WavWriter(tmp_path / f"conf{i}.wav") for i in range(40)]
    flushed_at: dict[int, int] = {}
    for tick in range(50):
        for i, writer in enumerate(writers):
            writer.write(np.ones(160, np.int16))
            if i not in flushed_at and (tmp_path / f"conf{i}.wav").stat().st_size > HEADER_SIZE:
                flushed_at[i] = tick
    assert len(flushed_at) == 40  # everyone flushed within the first second
    assert len(set(flushed_at.values())) > 10  # spread over many ticks
    for writer in writers:
        writer.close()


def test_writer_header_only_file_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    writer = WavWriter(path)
    assert path.stat().st_size == HEADER_SIZE
    assert len(read_wav(path)[0]) == 0
    writer.close()


def test_writer_stereo_and_validation(tmp_path: Path) -> None:
    path = tmp_path / "st.wav"
    with WavWriter(path, channels=2) as writer:
        frame = np.stack([np.full(160, 5, np.int16), np.full(160, -5, np.int16)], axis=1)
        writer.write(frame)
        with pytest.raises(ValueError):
            writer.write(np.zeros(160, np.int16))  # mono into stereo
        with pytest.raises(ValueError):
            writer.write(np.zeros((160, 3), np.int16))
        with pytest.raises(ValueError):
            writer.write(np.zeros((160, 2), np.float32))
        writer.write(np.full((2, 2), 100_000, dtype=np.int32))  # saturated, not wrapped
    data, channels = read_wav(path)
    assert channels == 2 and data.shape == (162, 2)
    assert (data[:160, 0] == 5).all() and (data[:160, 1] == -5).all()
    assert (data[160:] == 32767).all()


# ------------------------------------------------------------------ repair


def test_repair_after_kill_between_data_and_header(tmp_path: Path) -> None:
    path = tmp_path / "r.wav"
    writer = WavWriter(path)
    first = tone(500, 8000)
    writer.write(first)  # a flush: header says 1 s
    os.close(writer._fd)  # the process dies...
    writer._fd = None
    extra = tone(500, 4000, start=8000)
    with open(path, "ab") as f:  # ...after appending data, before the header write
        f.write(extra.tobytes() + b"\x01")  # and a torn half sample
    assert repair_wav(path) is True
    data, _ = read_wav(path)
    assert np.array_equal(data, np.concatenate([first, extra]))
    assert path.stat().st_size == HEADER_SIZE + 2 * 12000
    assert repair_wav(path) is False  # consistent now


@pytest.mark.parametrize("sizes", [(0, 0), (0xFFFFFFFF, 0xFFFFFFFF), (36, 0)])
def test_repair_zero_or_streaming_sizes(tmp_path: Path, sizes: tuple[int, int]) -> None:
    path = tmp_path / "z.wav"
    samples = tone(700, 1600)
    header = bytearray(wav_header(0))
    header[4:8] = sizes[0].to_bytes(4, "little")
    header[40:44] = sizes[1].to_bytes(4, "little")
    path.write_bytes(bytes(header) + samples.tobytes())
    assert repair_wav(path) is True
    assert np.array_equal(read_wav(path)[0], samples)


def test_repair_leaves_other_files_alone(tmp_path: Path) -> None:
    good = tmp_path / "good.wav"
    with WavWriter(good) as w:
        w.write(tone(400, 800))
    before = good.read_bytes()
    assert repair_wav(good) is False and good.read_bytes() == before
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not a wav file at all")
    assert repair_wav(junk) is False
    short = tmp_path / "short.wav"
    short.write_bytes(b"RIFF")
    assert repair_wav(short) is False


def test_repair_directory_recursive(tmp_path: Path) -> None:
    (tmp_path / "acct" / "sub").mkdir(parents=True)
    broken = tmp_path / "acct" / "sub" / "b.wav"
    broken.write_bytes(wav_header(0) + tone(600, 800).tobytes())
    fine = tmp_path / "acct" / "f.wav"
    fine.write_bytes(wav_header(1600) + tone(600, 800).tobytes())
    (tmp_path / "acct" / "notes.txt").write_text("x")
    assert repair_directory(tmp_path) == [broken]
    assert repair_directory(tmp_path) == []
    assert repair_directory(tmp_path / "missing") == []
    assert len(read_wav(broken)[0]) == 800


# ------------------------------------------------------------------ CallRecorder


def feed_call(recorder: CallRecorder, ticks: int, start: int = 0) -> None:
    for k in range(start, start + ticks):
        recorder.feed(tone(440, 160, 160 * k), tone(1000, 160, 160 * k))


def test_both_writes_mixed_and_legs_with_exact_duration(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path, "abc123", "both")
    feed_call(recorder, 173)  # 3.46 s: not a multiple of the flush period
    assert recorder.duration == pytest.approx(3.46)
    files = recorder.close()
    assert files == RecordingFiles(
        tmp_path / "abc123.wav", tmp_path / "abc123-agent.wav", tmp_path / "abc123-customer.wav"
    )
    for path in (files.mixed, files.agent, files.customer):
        data, channels = read_wav(path)
        assert channels == 1
        assert abs(len(data) / RATE - 3.46) < 0.1
        assert len(data) == 173 * 160  # exact to the frame
    agent, _ = read_wav(files.agent)
    customer, _ = read_wav(files.customer)
    mixed, _ = read_wav(files.mixed)
    assert dominant(agent) == pytest.approx(440, abs=5)
    assert dominant(customer) == pytest.approx(1000, abs=5)
    assert np.array_equal(mixed, agent.astype(np.int32) + customer)


def test_stereo_agent_left_customer_right(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path, "st", "both", stereo=True)
    for k in range(100):
        # the agent speaks the first second, the customer the second
        agent = tone(440, 160, 160 * k) if k < 50 else None
        customer = tone(1000, 160, 160 * k) if k >= 50 else None
        recorder.feed(agent, customer)
    files = recorder.close()
    data, channels = read_wav(files.mixed)
    assert channels == 2 and data.shape == (16000, 2)
    left, right = data[:, 0], data[:, 1]
    assert dominant(left[:8000]) == pytest.approx(440, abs=5)
    assert level(left[8000:]) == 0
    assert dominant(right[8000:]) == pytest.approx(1000, abs=5)
    assert level(right[:8000]) == 0


@pytest.mark.parametrize("option", ["agent", "customer"])
def test_one_side_only(tmp_path: Path, option: str) -> None:
    recorder = CallRecorder(tmp_path, "one", option, stereo=True)
    feed_call(recorder, 60)
    files = recorder.close()
    assert files.mixed is None
    written = files.agent if option == "agent" else files.customer
    assert (files.customer if option == "agent" else files.agent) is None
    assert sorted(tmp_path.iterdir()) == [written]
    data, _ = read_wav(written)
    assert len(data) == 60 * 160
    assert dominant(data) == pytest.approx(440 if option == "agent" else 1000, abs=5)


def test_off_writes_nothing(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path, "none", "off")
    feed_call(recorder, 10)
    assert recorder.close() == RecordingFiles(None, None, None)
    assert list(tmp_path.iterdir()) == []


def test_bad_option(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        CallRecorder(tmp_path, "x", "on")


def test_missing_frames_are_silence_and_clipping_in_mix(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path, "gaps", legs=False)
    recorder.feed(None, None)
    recorder.feed(np.full(160, 30000, np.int16), np.full(160, 30000, np.int16))
    recorder.feed(None, np.full(160, 7, np.int16))
    files = recorder.close()
    assert files.agent is None and files.customer is None
    mixed, _ = read_wav(files.mixed)
    assert len(mixed) == 480
    assert (mixed[:160] == 0).all() and (mixed[160:320] == 32767).all() and (mixed[320:] == 7).all()


def test_start_and_stop_mid_call_and_no_overwrite(tmp_path: Path) -> None:
    first = CallRecorder(tmp_path, "call", "both")
    feed_call(first, 25)  # recorded 0.5 s, then stopped
    first.close()
    first.feed(tone(440, 160), None)  # a tick after close: ignored
    second = CallRecorder(tmp_path, "call", "both")  # started again later in the call
    feed_call(second, 75, start=300)
    files = second.close()
    assert files.mixed == tmp_path / "call-2.wav"
    assert len(read_wav(tmp_path / "call.wav")[0]) == 25 * 160
    agent, _ = read_wav(files.agent)
    assert np.array_equal(agent, tone(440, 75 * 160, 300 * 160))


# ------------------------------------------------------------------ killed mid-call

CHILD = r"""
import sys, numpy as np
from pathlib import Path
from media.recorder import CallRecorder, WavWriter
directory = Path(sys.argv[1])
rec = CallRecorder(directory, "killed", "both", stereo=True)
plain = WavWriter(directory / "plain.wav")
k = 0
while True:
    t = np.arange(160 * k, 160 * (k + 1)) / 8000
    agent = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    customer = (8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    rec.feed(agent, customer)
    plain.write(agent)
    k += 1
    print(k, flush=True)
"""


def test_killed_process_leaves_valid_wav_losing_at_most_one_second(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if int(line) >= 260:  # 5.2 s of call fed
                break
        os.kill(child.pid, signal.SIGKILL)
        rest = child.stdout.read().split()
    finally:
        child.kill()
        child.wait()
    fed = int(rest[-1]) + 1 if rest else 261  # it may have fed one more tick than it printed
    repair_directory(tmp_path)
    expected_agent = tone(440, fed * 160)
    expected_customer = tone(1000, fed * 160)
    for name in ("killed-agent.wav", "plain.wav"):
        data, _ = read_wav(tmp_path / name)
        assert (fed - 50) * 160 <= len(data) <= fed * 160
        assert np.array_equal(data, expected_agent[: len(data)])
    customer, _ = read_wav(tmp_path / "killed-customer.wav")
    assert (fed - 50) * 160 <= len(customer) <= fed * 160
    assert np.array_equal(customer, expected_customer[: len(customer)])
    stereo, channels = read_wav(tmp_path / "killed.wav")
    assert channels == 2 and (fed - 50) * 160 <= len(stereo) <= fed * 160
    assert np.array_equal(stereo[:, 0], expected_agent[: len(stereo)])
    assert np.array_equal(stereo[:, 1], expected_customer[: len(stereo)])


@settings(max_examples=40, deadline=None)
@given(
    cut=st.integers(HEADER_SIZE, HEADER_SIZE + 2 * 2 * 3000),
    stale=st.integers(0, 6000),
    channels=st.sampled_from([1, 2]),
)
def test_repair_any_torn_file(
    tmp_path_factory: pytest.TempPathFactory, cut: int, stale: int, channels: int
) -> None:
    """Whatever point the file was torn at and whatever sizes the header holds, the
    repaired file is a valid WAV whose samples are a prefix of what was written."""
    path = tmp_path_factory.mktemp("torn") / "t.wav"
    samples = tone(350, 3000 * channels).reshape(-1, channels) if channels == 2 else tone(350, 3000)
    data = (
        wav_header(min(stale * 2 * channels, 2 * samples.size), channels=channels)
        + samples.tobytes()
    )
    path.write_bytes(data[:cut])
    repair_wav(path)
    got, got_channels = read_wav(path)
    assert got_channels == channels
    frames = min(cut - HEADER_SIZE, 2 * samples.size) // (2 * channels)
    assert len(got) == frames
    assert np.array_equal(got, samples[:frames])


# -- wideband: one rate per recording, the other rate's frames resampled -----------


def _tone(freq: float, rate: int, ticks: int) -> list[np.ndarray]:
    n = rate // 50
    t = np.arange(ticks * n) / rate
    wave_ = (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    return [wave_[i * n : (i + 1) * n] for i in range(ticks)]


def _power_at(samples: np.ndarray, rate: int, freq: float) -> float:
    """Share of the signal's energy within 100 Hz of ``freq``."""
    x = samples.astype(np.float64)[rate // 10 :]  # past the filters' start
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    near = np.abs(freqs - freq) < 100
    return float(spectrum[near].sum() / spectrum.sum())


def test_wideband_recording_is_16k_and_upsamples_a_narrowband_leg(tmp_path: Path) -> None:
    agent = _tone(6000, 16000, 50)  # a G.722 phone: above what 8 kHz can hold
    customer = _tone(1000, 8000, 50)  # a G.711 leg
    rec = CallRecorder(tmp_path, "wide", "both", stereo=True, rate=16000)
    assert rec.frame == 320
    for a, c in zip(agent, customer, strict=True):
        rec.feed(a, c)
    files = rec.close()
    assert rec.duration == pytest.approx(1.0)
    for path in (files.mixed, files.agent, files.customer):
        assert path is not None
        with wave.open(str(path), "rb") as w:
            assert w.getframerate() == 16000
            assert w.getnframes() == 16000
    assert files.mixed is not None and files.agent is not None
    stereo, channels = read_wav(files.mixed, 16000)
    assert channels == 2
    left, right = stereo[:, 0], stereo[:, 1]
    assert _power_at(left, 16000, 6000) > 0.9
    assert _power_at(right, 16000, 1000) > 0.9
    # the upsampled leg carries no image of its tone at 8000 - 1000 Hz
    assert _power_at(right, 16000, 7000) < 1e-4
    agent_only, _ = read_wav(files.agent, 16000)
    assert np.array_equal(agent_only, left)


def test_narrowband_recording_downsamples_a_wideband_leg(tmp_path: Path) -> None:
    """A leg re-INVITEd from G.711 to G.722 mid-recording: the file stays 8 kHz."""
    rec = CallRecorder(tmp_path, "narrow", "customer")
    assert (rec.rate, rec.frame) == (8000, 160)
    for frame in _tone(1000, 8000, 25) + _tone(1000, 16000, 25):
        rec.feed(None, frame)
    files = rec.close()
    assert files.customer is not None
    with wave.open(str(files.customer), "rb") as w:
        assert (w.getframerate(), w.getnframes()) == (8000, 8000)
    data, _ = read_wav(files.customer)
    assert _power_at(data[4000:], 8000, 1000) > 0.9  # the wideband half, narrowed


def test_wideband_mono_mix_and_missing_frames(tmp_path: Path) -> None:
    rec = CallRecorder(tmp_path, "mono", "both", legs=False, rate=16000)
    for a in _tone(6000, 16000, 10):
        rec.feed(a, None)
    rec.feed(None, None)
    files = rec.close()
    assert files.mixed is not None and files.agent is None
    data, channels = read_wav(files.mixed, 16000)
    assert channels == 1 and len(data) == 11 * 320
    assert not data[-320:].any()


def test_recording_rate_must_be_8_or_16_khz(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="8000 or 16000"):
        CallRecorder(tmp_path, "bad", "both", rate=48000)


def test_writer_rate_changes_only_while_empty(tmp_path: Path) -> None:
    path = tmp_path / "later.wav"
    with WavWriter(path) as w:
        w.set_rate(16000)
        w.write(np.zeros(320, dtype=np.int16))
        with pytest.raises(ValueError, match="fixed"):
            w.set_rate(8000)
    data, _ = read_wav(path, 16000)
    assert len(data) == 320
