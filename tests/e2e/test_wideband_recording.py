"""Recording a wideband call through the call service: two G.722 phones (baresip
offering only G.722) bridged by click2call with stereo recordings; the files are 16 kHz
and hold the agent's 6 kHz tone (above what an 8 kHz file can carry) on the left, the
customer's 1 kHz tone on the right. A G.711 call on the same switch still records at
8 kHz (what API consumers of G.711 calls have always been given)."""

from __future__ import annotations

import time
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.phones import registered
from tests.peers.audio import band_energy_ratio, dominant_frequency, make_tone_wav
from tests.peers.baresip import BaresipAccount
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers

ACCOUNT = "account_1"
HIGH = 6000.0  # above G.711's 4 kHz band edge
LOW = 1000.0


def g722_phone(phone_factory, harness, tmp_path: Path, number: str, hz: float):
    port = harness.config.sip_host_port[1]
    account = BaresipAccount(
        number, f"pw{number}", registrar=f"127.0.0.1:{port}", audio_codecs="G722/16000/1"
    )
    # baresip's aufile source must be at the codec's audio rate
    phone = phone_factory(
        account, wav=make_tone_wav(tmp_path / f"mic-{number}.wav", hz, 30.0, rate=16000)
    )
    phone.wait_registered()
    return phone


def record_a_call(harness, agent, customer, seconds: float = 2.5) -> tuple[np.ndarray, int]:
    """Click2call agent -> customer recorded (both: stereo mix and legs); the stereo
    mix's samples (n, 2) and rate, after checking the legs' files share that rate."""
    request_id = harness.run(
        harness.calls.click2call(
            account_id=ACCOUNT,
            agent_number=agent.account.user,
            destination_number=customer.account.user,
            caller_id="555",
            recording_option="both",
        )
    )
    customer.wait_call_established()
    time.sleep(seconds)  # the audio being recorded
    customer.hangup()
    agent.wait_call_closed()

    def cdr():
        rows = harness.call(harness.runtime.cdrs.by_request_id, ACCOUNT, request_id)
        return rows[0] if rows else None

    wait_until(cdr, 15, what="CDR written")
    path = Path(harness.config.media.recordings_dir) / ACCOUNT / cdr().recording_name
    with wave.open(str(path)) as wav:
        rate = wav.getframerate()
        assert wav.getnchannels() == 2
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).reshape(-1, 2)
    for leg in ("agent", "customer"):
        with wave.open(str(path.with_name(f"{path.stem}-{leg}.wav"))) as wav:
            assert (wav.getframerate(), wav.getnchannels()) == (rate, 1)
    assert abs(len(frames) / rate - seconds) < 1.0
    return frames, rate


def test_a_g722_call_records_at_16khz_and_a_g711_call_at_8khz(
    server_factory, phone_factory, tmp_path
):
    harness = server_factory(
        extensions={n: f"pw{n}" for n in ("101", "102", "103", "104")},
        media={"codecs": ["g722", "pcmu", "pcma"], "stereo_recordings": True},
    )
    agent = g722_phone(phone_factory, harness, tmp_path, "101", HIGH)
    customer = g722_phone(phone_factory, harness, tmp_path, "102", LOW)
    frames, rate = record_a_call(harness, agent, customer)
    assert rate == 16000
    left, right = frames[:, 0].copy(), frames[:, 1].copy()
    assert abs(dominant_frequency(left, rate) - HIGH) < 30
    assert band_energy_ratio(left, HIGH, rate, width=50) > 0.5
    assert abs(dominant_frequency(right, rate) - LOW) < 30

    # G.711-only phones on the same switch: 8 kHz, as always
    narrow_agent = registered(phone_factory, harness, "103", 440.0)
    narrow_customer = registered(phone_factory, harness, "104", LOW)
    frames, rate = record_a_call(harness, narrow_agent, narrow_customer, seconds=1.5)
    assert rate == 8000
    assert abs(dominant_frequency(frames[:, 0].copy(), rate) - 440) < 15
